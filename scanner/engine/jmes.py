"""jmespath for rule packs: compiled once at load, with a tiny set of extra functions.

Standard jmespath cannot compare strings case-insensitively, yet AWS spells states both
``available`` and ``Available`` depending on the API, so packs get ``lower()`` and
``upper()``.  Unknown function names are rejected at load time (jmespath itself would only
notice when the expression first runs, turning a typo into an ERROR finding on every
resource instead of a clear message with the file and line).
"""

from __future__ import annotations

from typing import Any

import jmespath
from jmespath import functions
from jmespath.exceptions import JMESPathError


class _PackFunctions(functions.Functions):  # type: ignore[misc]
    @functions.signature({"types": ["string"]})  # type: ignore[untyped-decorator]
    def _func_lower(self, value: str) -> str:
        return value.lower()

    @functions.signature({"types": ["string"]})  # type: ignore[untyped-decorator]
    def _func_upper(self, value: str) -> str:
        return value.upper()


_OPTIONS = jmespath.Options(custom_functions=_PackFunctions())
_KNOWN_FUNCTIONS = frozenset(_PackFunctions.FUNCTION_TABLE)


class Expression:
    """A compiled jmespath expression that remembers its source text."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._compiled = jmespath.compile(source)
        unknown = sorted(_function_names(self._compiled.parsed) - _KNOWN_FUNCTIONS)
        if unknown:
            raise JMESPathError(f"unknown function(s): {', '.join(unknown)}")

    def search(self, document: Any) -> Any:
        """Evaluate; jmespath's own errors (type errors included) propagate to the caller."""
        return self._compiled.search(document, options=_OPTIONS)

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


def _function_names(node: Any) -> set[str]:
    names: set[str] = set()
    if isinstance(node, dict):
        if node.get("type") == "function_expression":
            names.add(str(node.get("value")))
        for child in node.get("children", []):
            names |= _function_names(child)
    return names


def compile_expression(source: str) -> Expression:
    """Compile or raise :class:`jmespath.exceptions.JMESPathError` (ParseError and friends)."""
    return Expression(source)
