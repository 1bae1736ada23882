"""The configuration reference, and a config's effective settings, generated from the model.

The README's key table is :func:`reference_markdown` pasted between markers, and a test
compares the two, so the documented keys, types, defaults and limits can never drift from
the pydantic models that actually validate ``config.yaml``: a new field without a
``description`` fails that test, a changed default changes the table.  The helpers at the
end render the settings in effect for ``scanner config check``.
"""

from __future__ import annotations

import json
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from scanner.config import Config

START = "<!-- config-reference:start -->"
END = "<!-- config-reference:end -->"

_HEADER = ["| key | type | default | meaning |", "|---|---|---|---|"]
_NAMES: dict[Any, tuple[str, str]] = {
    str: ("string", "strings"),
    int: ("integer", "integers"),
    float: ("number", "numbers"),
    bool: ("boolean", "booleans"),
    date: ("date (YYYY-MM-DD)", "dates"),
}

_BOUNDS: tuple[tuple[type, str], ...] = (
    (Ge, "ge"),
    (Gt, "gt"),
    (Le, "le"),
    (Lt, "lt"),
    (MinLen, "min_length"),
    (MaxLen, "max_length"),
)


@dataclass(frozen=True)
class Row:
    """One key of the reference: its name, type (with limits), default and meaning."""

    key: str
    type: str
    default: str
    meaning: str

    def markdown(self) -> str:
        cells = (f"`{self.key}`", self.type, self.default, self.meaning)
        return "| " + " | ".join(_cell(c) for c in cells) + " |"


@dataclass(frozen=True)
class ItemTable:
    """The keys of one entry of a list of mappings (``waivers``, ``notify.targets``).

    A discriminated list (``notify.targets``) has one table per ``kind``, each led by its
    discriminator, since a webhook and an SMTP target share only a few keys.
    """

    list_key: str
    discriminator: str | None
    tag: str | None
    rows: tuple[Row, ...]

    def markdown(self) -> str:
        which = f" with `{self.discriminator}: {self.tag}`" if self.discriminator else ""
        lines = [f"Each entry of `{self.list_key}`{which}:", "", *_HEADER]
        return "\n".join([*lines, *(row.markdown() for row in self.rows)])


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _strip(annotation: Any) -> tuple[Any, list[Any]]:
    """``(type, annotated metadata)`` without ``Annotated`` wrappers and ``| None``."""
    metadata: list[Any] = []
    while get_origin(annotation) is Annotated:
        annotation, *extra = get_args(annotation)
        metadata += extra
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return _strip(members[0])[0], metadata
    return annotation, metadata


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _item_models(annotation: Any) -> tuple[list[type[BaseModel]], str | None]:
    """For ``list[Model]`` or a list of a discriminated union of models: the models and the
    discriminator; anything else: ``([], None)``."""
    if get_origin(annotation) is not list:
        return [], None
    item, metadata = _strip(get_args(annotation)[0])
    discriminator = next(
        (m.discriminator for m in metadata if isinstance(m, FieldInfo) and m.discriminator),
        None,
    )
    members = get_args(item) if get_origin(item) in (Union, types.UnionType) else (item,)
    models = [m for m in members if _is_model(m)]
    if len(models) != len(members):
        return [], None
    return models, discriminator if isinstance(discriminator, str) else None


def _choices(annotation: Any) -> list[str] | None:
    if get_origin(annotation) is Literal:
        return [str(a) for a in get_args(annotation)]
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [str(member.value) for member in annotation]
    return None


def _limits(metadata: list[Any], text: bool) -> str:
    """ge/le/gt/lt and lengths, the limits an author runs into."""
    bounds: dict[str, Any] = {}
    for m in metadata:
        for kind, attr in _BOUNDS:
            if isinstance(m, kind):
                bounds[kind.__name__] = getattr(m, attr)
    out = []
    if "Ge" in bounds and "Le" in bounds:
        out.append(f"{_number(bounds['Ge'])} to {_number(bounds['Le'])}")
    else:
        for name, sign in (("Ge", "≥"), ("Gt", ">"), ("Le", "≤"), ("Lt", "<")):
            if name in bounds:
                out.append(f"{sign} {_number(bounds[name])}")
    if "MinLen" in bounds:
        least = bounds["MinLen"]
        out.append("non-empty" if least == 1 else f"at least {least}" + (" chars" * text))
    if "MaxLen" in bounds:
        out.append(f"at most {bounds['MaxLen']}")
    return ", ".join(out)


def _type(annotation: Any, metadata: list[Any]) -> str:
    """``integer, 1 to 20``, ``one of `text`, `json` ``, ``list of strings``..."""
    bare, extra = _strip(annotation)
    metadata = [*metadata, *extra]
    choices = _choices(bare)
    if choices is not None:
        name = f"`{choices[0]}`" if len(choices) == 1 else _one_of(choices)
    elif get_origin(bare) is list:
        item, _ = _strip(get_args(bare)[0])
        item_choices = _choices(item)
        if item_choices is not None:
            name = "list of " + ", ".join(f"`{c}`" for c in item_choices)
        else:
            name = f"list of {_NAMES.get(item, (str(item), str(item)))[1]}"
    else:
        name = _NAMES.get(bare, (getattr(bare, "__name__", str(bare)), ""))[0]
    limits = _limits(metadata, text=bare is str)
    return f"{name}, {limits}" if limits else name


def _one_of(choices: list[str]) -> str:
    return "one of " + ", ".join(f"`{c}`" for c in choices)


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _scalar(value: Any, quoted: bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, int | float):
        return _number(value)
    return json.dumps(value) if quoted else str(value)


def _default(info: FieldInfo) -> str:
    """The default as a reader would write it: ``[]``, none, ``"0 2 * * *"``, ``adaptive``."""
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True, validated_data={})
    if value is None:
        return "none"
    bare, _ = _strip(info.annotation)
    if isinstance(value, list):
        return "`[" + ", ".join(_scalar(v, quoted=False) for v in value) + "]`"
    return f"`{_scalar(value, quoted=_choices(bare) is None)}`"


def _walk(
    model: type[BaseModel], prefix: str, tables: list[ItemTable], lead: str | None = None
) -> list[Row]:
    """The rows of ``model`` (nested models as dotted keys); list-of-model fields add their
    item tables to ``tables``.  ``lead`` (a discriminator) is put first."""
    fields = list(model.model_fields.items())
    fields.sort(key=lambda kv: kv[0] != lead)
    rows: list[Row] = []
    for name, info in fields:
        if info.exclude:
            continue
        key = f"{prefix}{name}"
        if _is_model(info.annotation):
            rows += _walk(info.annotation, f"{key}.", tables)  # type: ignore[arg-type]
            continue
        models, discriminator = _item_models(info.annotation)
        if models:
            kinds = ", ".join(f"`{_tag(m, discriminator)}`" for m in models if discriminator)
            type_ = f"list of entries by `{discriminator}` ({kinds})" if discriminator else ""
            rows.append(Row(key, type_ or "list of entries", _default(info), _meaning(info)))
            for item in models:
                sub: list[ItemTable] = []
                item_rows = _walk(item, "", sub, lead=discriminator)
                tag = _tag(item, discriminator) if discriminator else None
                tables.append(ItemTable(key, discriminator, tag, tuple(item_rows)))
                tables += [
                    ItemTable(f"{key}[].{t.list_key}", t.discriminator, t.tag, t.rows) for t in sub
                ]
            continue
        rows.append(Row(key, _type(info.annotation, info.metadata), _default(info), _meaning(info)))
    return rows


def _tag(model: type[BaseModel], discriminator: str | None) -> str:
    choices = _choices(model.model_fields[discriminator or ""].annotation) or ["?"]
    return choices[0]


def _meaning(info: FieldInfo) -> str:
    return info.description or ""


def reference_rows(model: type[BaseModel] = Config) -> tuple[list[Row], list[ItemTable]]:
    """The keys of ``model`` (dotted) and the item tables of its lists of mappings."""
    tables: list[ItemTable] = []
    rows = _walk(model, "", tables)
    return rows, tables


def reference_markdown() -> str:
    """The Markdown reference the README embeds (``scanner config reference`` prints it)."""
    rows, tables = reference_rows()
    parts = ["\n".join([*_HEADER, *(row.markdown() for row in rows)])]
    parts += [table.markdown() for table in tables]
    return "\n\n".join(parts)


# -- effective settings ---------------------------------------------------------------------


def effective_settings(
    config: Config, store_url: str, shown: Mapping[tuple[str | int, ...], str] | None = None
) -> dict[str, Any]:
    """Every key with the value in effect, defaults included, as plain JSON values.

    ``store.url`` is the URL a command would open (masked by the caller, which knows the
    store layer), and ``shown`` replaces values by path: a secret reference reads
    ``SLACK_HOOK (set)`` rather than the bare variable name.
    """
    settings: dict[str, Any] = config.model_dump(mode="json")
    settings["store"]["url"] = store_url
    for path, text in (shown or {}).items():
        *parents, last = path
        node: Any = settings
        for part in parents:
            node = node[part]
        node[last] = text
    return settings


def explicit_keys(model: BaseModel, prefix: str = "") -> set[str]:
    """Dotted keys the config file set (the rest are defaults)."""
    out: set[str] = set()
    for name in model.model_fields_set:
        key = f"{prefix}{name}"
        out.add(key)
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            out |= explicit_keys(value, f"{key}.")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                out.add(f"{key}.{index}")
                if isinstance(item, BaseModel):
                    out |= explicit_keys(item, f"{key}.{index}.")
    return out


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted key, scalar or list of scalars)`` for every leaf of the settings."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from flatten(item, f"{prefix}{key}.")
    elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        for index, item in enumerate(value):
            yield from flatten(item, f"{prefix}{index}.")
    else:
        yield prefix.rstrip("."), value


def settings_text(
    settings: dict[str, Any], explicit: set[str], notes: Mapping[str, str] | None = None
) -> str:
    """One ``key value`` line per leaf, keys aligned, ``(default)`` where the file is
    silent: the quickest way to see what a config really changes.  ``notes`` name another
    source for a key (``store.url`` from ``--store``)."""
    leaves = list(flatten(settings))
    width = max(len(key) for key, _ in leaves)
    lines = []
    for key, value in leaves:
        source = (notes or {}).get(key) or ("" if key in explicit else "default")
        note = f"  ({source})" if source else ""
        lines.append(f"{key:<{width}}  {json.dumps(value)}{note}")
    return "\n".join(lines)
