"""YAML loading that remembers where every value came from.

Config files and rule packs are written by people, so every complaint about them must
name the file and the line.  PyYAML's composed node tree carries positions; we build
plain Python values from it and keep a side table ``path -> line`` so validation errors
(from pydantic or our own checks) can point at the exact line.  Duplicate mapping keys,
which PyYAML silently accepts, are rejected here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from scanner.errors import InputError

PathKey = tuple[str | int, ...]
MAX_VALUES = 200_000
"""More values than any config or rule pack has (the shipped packs: a few thousand)."""


@dataclass
class YamlDoc:
    """A parsed YAML document plus the line of each value, keyed by its path."""

    source: str
    value: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, path: PathKey) -> int | None:
        """Line of the value at ``path`` or of its nearest recorded ancestor."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), None)

    def error(self, problem: str, path: PathKey = ()) -> InputError:
        """An :class:`InputError` located at ``path``."""
        return InputError(problem, path=self.source, line=self.line_of(path))


class _Builder:
    """Plain Python values from a composed node tree, noting each value's line by its path.

    Scalars are constructed straight from their nodes (the tags are already resolved by
    ``compose``) rather than serialised and parsed again.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: dict[PathKey, int] = {}
        self._constructor = SafeConstructor()
        self._open: set[int] = set()
        self._built = 0

    def build(self, node: yaml.Node, path: PathKey = ()) -> Any:
        """Aliases are expanded, so a recursive one (``&a [*a]``) and an alias bomb (each
        level doubling the one below) are refused here, at their line, instead of ending in
        a RecursionError or exhausting memory."""
        self.lines[path] = node.start_mark.line + 1
        self._built += 1
        if self._built > MAX_VALUES:
            raise self._error(f"more than {MAX_VALUES} values (aliases expanded)", node)
        if not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            return self._construct(node)
        if id(node) in self._open:
            raise self._error("an alias refers to a value that contains it", node)
        self._open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        finally:
            self._open.discard(id(node))

    def _error(self, problem: str, node: yaml.Node) -> InputError:
        return InputError(
            f"invalid YAML: {problem}", path=self.source, line=node.start_mark.line + 1
        )

    def _construct(self, node: yaml.Node) -> Any:
        """A scalar's value; a tag it cannot honour (``!custom``, ``!!int five``) only shows
        here, after ``compose`` succeeded, and is the author's error at that line."""
        try:
            return self._constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError) as exc:
            problem = getattr(exc, "problem", None) or str(exc)
            raise InputError(
                f"invalid YAML: {problem}",
                path=self.source,
                line=node.start_mark.line + 1,
                column=node.start_mark.column + 1,
            ) from None

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self._construct(key_node)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise InputError("mapping keys must be plain scalars", path=self.source, line=line)
            skey = str(key)
            if skey in out:
                raise InputError(f"duplicate key {skey!r}", path=self.source, line=line)
            out[skey] = self.build(value_node, (*path, skey))
            self.lines[(*path, skey)] = line
        return out


# PyYAML parses and composes recursively: a few thousand ``[`` exhaust Python's stack.
_TOO_DEEP = "invalid YAML: nested too deeply (no config or rule pack nests this far)"


def _char(character: int | bytes) -> str:
    return f"U+{character:04X}" if isinstance(character, int) else repr(character)


def parse_yaml(text: str, source: str) -> YamlDoc:
    """Parse one YAML document; syntax errors become :class:`InputError` with line/column."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise InputError(
            f"invalid YAML: {exc.problem or exc.context}",
            path=source,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.reader.ReaderError as exc:
        # A character YAML does not allow (a control character): located by its offset, as
        # the reader gives no mark.
        before = text[: exc.position]
        raise InputError(
            f"invalid YAML: character {_char(exc.character)} is not allowed in YAML",
            path=source,
            line=before.count("\n") + 1,
            column=exc.position - (before.rfind("\n") + 1) + 1,
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", path=source) from None
    except RecursionError:
        raise InputError(_TOO_DEEP, path=source) from None
    if node is None:
        return YamlDoc(source=source, value=None)
    builder = _Builder(source)
    try:
        value = builder.build(node)
    except RecursionError:
        raise InputError(_TOO_DEEP, path=source) from None
    return YamlDoc(source=source, value=value, lines=builder.lines)


def load_yaml(path: str | Path) -> YamlDoc:
    """Read and parse a YAML file, turning I/O and decoding problems into InputError."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", path=str(p)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read file: {exc}", path=str(p)) from None
    return parse_yaml(text, str(p))


def _document_loc(value: Any, loc: PathKey, missing: bool) -> PathKey:
    """``loc`` without the parts that are not keys of the document.

    Pydantic puts a discriminated union's tag in the location (``notify.targets.0.smtp``,
    ``...0.smtp.host``); it is no key in the YAML, so the message would name a path the user
    cannot find and the line lookup would stop short.  A part is kept when it is a key (or an
    index) of the value at that point, or when it is the last part of a ``missing`` error
    (the key the user has to add).
    """
    out: list[str | int] = []
    for i, part in enumerate(loc):
        if isinstance(value, dict) and str(part) in value:
            value = value[str(part)]
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            value = value[part]
        elif missing and i == len(loc) - 1:
            value = None
        else:
            continue
        out.append(part)
    return tuple(out)


def pydantic_error(doc: YamlDoc, exc: Any, prefix: PathKey = ()) -> InputError:
    """Turn the first pydantic ValidationError entry into a located InputError."""
    errors = exc.errors()
    first = errors[0]
    loc = _document_loc(doc.value, (*prefix, *first["loc"]), first["type"] == "missing")
    dotted = ".".join(str(p) for p in loc) or "<document>"
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return doc.error(f"{dotted}: {msg}{more}", loc)
