"""The README's generated sections: the text between a start and an end marker.

The rule catalog and the configuration reference are pasted into README.md from commands
(`scanner rules list --format markdown`, `scanner config reference`); the tests rebuild the
README with freshly generated text between the markers and compare.
"""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def replace_marked(readme: str, start: str, end: str, body: str) -> str:
    """``readme`` with the text between ``start`` and ``end`` replaced by ``body``."""
    head, _, rest = readme.partition(start)
    _, _, tail = rest.partition(end)
    return f"{head}{start}\n{body}\n{end}{tail}"
