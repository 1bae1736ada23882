"""Policy variables (``${aws:username}``, ``${aws:PrincipalTag/team}``, ``${*}``…).

AWS substitutes variables only in documents whose ``Version`` is ``2012-10-17``; in a
``2008-10-17`` document (or one with no Version) the text ``${aws:username}`` is literal.
A variable's value is literal text: a ``*`` inside a user name is not a wildcard, and the
special forms ``${*}``, ``${?}`` and ``${$}`` exist precisely to write a literal ``*``, ``?``
or ``$``.  A variable whose key is absent from the request (and that has no default, as in
``${aws:username, 'nobody'}``) makes the policy value it appears in match nothing.
See https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scanner.iam.glob import Glob, compile_glob, from_tokens, tokenize

SPECIAL = {"*": "*", "?": "?", "$": "$"}


@dataclass(frozen=True, slots=True)
class Variable:
    """One ``${key}`` or ``${key, 'default'}`` reference."""

    key: str  # lower-cased: context keys are case-insensitive
    default: str | None = None


@dataclass(frozen=True, slots=True)
class Template:
    """A policy string with variables: raw text parts (wildcards live) and variables."""

    parts: tuple[str | Variable, ...]

    def variable_keys(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.parts if isinstance(p, Variable))

    def _values(self, context: Mapping[str, Sequence[str]]) -> list[tuple[bool, str]] | None:
        """Parts as (is_literal, text); None when a variable cannot be resolved."""
        out: list[tuple[bool, str]] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append((False, part))
                continue
            vals = context.get(part.key)
            if vals is not None and len(vals) == 1:
                out.append((True, vals[0]))
            elif part.default is not None:
                out.append((True, part.default))
            else:
                return None
        return out

    def text(self, context: Mapping[str, Sequence[str]]) -> str | None:
        """The substituted string (for equality operators), or None if unresolvable."""
        vals = self._values(context)
        return None if vals is None else "".join(t for _, t in vals)

    def glob(self, context: Mapping[str, Sequence[str]], ignore_case: bool = False) -> Glob | None:
        """The substituted pattern, variable values literal; None if unresolvable."""
        vals = self._values(context)
        if vals is None:
            return None
        tokens: list[str | object] = []
        for literal, text in vals:
            tokens.extend([text] if literal else tokenize(text))
        return from_tokens(tokens, ignore_case)


def parse_template(text: str) -> Template | None:
    """Split ``text`` into a :class:`Template`; None when it has no variable at all."""
    if "${" not in text:
        return None
    parts: list[str | Variable] = []
    pos = 0
    while True:
        start = text.find("${", pos)
        end = text.find("}", start + 2) if start >= 0 else -1
        if start < 0 or end < 0:
            parts.append(text[pos:])
            break
        parts.append(text[pos:start])
        body = text[start + 2 : end]
        if body in SPECIAL:
            parts.append(Variable(key="", default=SPECIAL[body]))
        else:
            key, _, default = body.partition(",")
            dflt = default.strip()
            parsed_default = dflt[1:-1] if len(dflt) >= 2 and dflt[0] == dflt[-1] == "'" else None
            parts.append(Variable(key=key.strip().lower(), default=parsed_default))
        pos = end + 1
    return Template(tuple(p for p in parts if p != ""))


@dataclass(frozen=True, slots=True)
class Value:
    """A policy string (resource, condition value) resolved lazily against a request.

    ``template`` is set only when the document is 2012-10-17 and the string has variables.
    """

    raw: str
    template: Template | None = None

    def text(self, context: Mapping[str, Sequence[str]]) -> str | None:
        return self.raw if self.template is None else self.template.text(context)

    def glob(self, context: Mapping[str, Sequence[str]], ignore_case: bool = False) -> Glob | None:
        if self.template is None:
            return compile_glob(self.raw, ignore_case)
        return self.template.glob(context, ignore_case)


def make_value(raw: str, variables_enabled: bool) -> Value:
    """Wrap a policy string, parsing variables only when the document's Version allows them."""
    return Value(raw, parse_template(raw) if variables_enabled else None)
