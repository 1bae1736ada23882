"""What a ticket says, written once and rendered for each target's markup.

A ticket body is a short document (:class:`Doc`: headings, paragraphs, bullet lists, code
blocks); each target renders it in its own syntax: Atlassian Document Format for Jira
Cloud (REST v3 takes only ADF), wiki markup for Jira Server / Data Center (REST v2),
Markdown for GitHub and plain text for ServiceNow and the CSV file.  Values that come from
AWS (resource ids, messages) are text in every syntax: in ADF they are text nodes, in
Markdown and wiki markup they are escaped, or set as code, where markup does not apply.
Before any of that, text is made inert for every tracker alike (:mod:`scanner.inert`):
inline text (headings, bullets, paragraphs, the summary) becomes one line, so a newline in
a tag cannot start a wiki ``h1.`` heading or a Markdown table row; code blocks keep their
lines; escape sequences and control characters go, which trackers would store and show
raw (Jira's ADF validator rejects some of them outright).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from scanner.inert import block_text, one_line
from scanner.tickets.problems import Problem

Kind = Literal["heading", "para", "bullets", "code"]
SUMMARY_MAX = 250  # Jira's limit is 255; GitHub's title 256; ServiceNow short_description 160
SHORT_MAX = 160
MEMBERS_SHOWN = 50


@dataclass(frozen=True)
class Block:
    kind: Kind
    lines: tuple[str, ...]


@dataclass
class Doc:
    blocks: list[Block] = field(default_factory=list)

    def add(self, kind: Kind, *lines: str) -> Doc:
        if lines:
            self.blocks.append(Block(kind, tuple(lines)))
        return self


def _clip(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", one_line(text)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summary(problem: Problem, limit: int = SUMMARY_MAX) -> str:
    """One line naming the rule and the resource (or the account and resource count)."""
    if problem.grouping == "rule-account":
        n = len(problem.failing)
        text = f"{problem.rule_id}: {n} resource(s) in account {problem.account_id}"
    else:
        text = f"{problem.rule_id}: {problem.resource_id} ({problem.account_id} {problem.region})"
    return _clip(text, limit)


def body(problem: Problem, run_id: str, *, label: str) -> Doc:
    """The ticket's description: what fails, where, why it matters, how to fix it."""
    doc = Doc()
    doc.add("para", f"Failed check ({problem.severity}): {problem.title}.")
    if problem.grouping == "finding":
        doc.add(
            "bullets",
            f"Rule: {problem.rule_id}",
            f"Account: {problem.account_id}",
            f"Region: {problem.region}",
            f"Resource: {problem.resource_type} {problem.resource_id}",
            *([f"ARN: {problem.resource_arn}"] if problem.resource_arn else []),
        )
        if problem.message:
            doc.add("heading", "Finding").add("code", problem.message)
    else:
        failing = problem.failing
        doc.add("bullets", f"Rule: {problem.rule_id}", f"Account: {problem.account_id}")
        doc.add("heading", f"Failing resources ({len(failing)})")
        shown = [f"{m.resource_id} ({m.region}): {m.message}" for m in failing[:MEMBERS_SHOWN]]
        if len(failing) > MEMBERS_SHOWN:
            shown.append(f"... and {len(failing) - MEMBERS_SHOWN} more")
        doc.add("code", *shown)
    if problem.frameworks:
        doc.add("heading", "Compliance requirements")
        doc.add(
            "bullets",
            *(f"{fw}: {', '.join(reqs)}" for fw, reqs in sorted(problem.frameworks.items())),
        )
    remediation = problem.remediation
    if remediation.get("text"):
        doc.add("heading", "Remediation").add("para", _clip(str(remediation["text"]), 2000))
    if remediation.get("cli"):
        doc.add("code", str(remediation["cli"]).strip())
    if remediation.get("references"):
        doc.add("bullets", *map(str, remediation["references"]))
    doc.add(
        "para",
        f"Opened by privatelink-scanner from run {run_id}. Label {label} identifies this "
        "problem: the scanner closes this ticket when the problem is resolved and reopens it "
        "if it comes back. Accept a risk with a waiver, not by closing the ticket.",
    )
    return doc


def change_note(problem: Problem, run_id: str, event: str, before: list[str] | None) -> Doc:
    """The comment on an update, a close or a reopen."""
    doc = Doc()
    if event == "resolved":
        why = problem.reason or "it passes"
        doc.add("para", f"Resolved in run {run_id} ({why}): closing.")
    elif event == "reopened":
        doc.add("para", f"The problem is back in run {run_id}: reopening.")
    else:
        doc.add("para", f"The problem changed in run {run_id}.")
    now = sorted(m.resource_id for m in problem.failing)
    if before is not None and problem.grouping == "rule-account":
        added, gone = sorted(set(now) - set(before)), sorted(set(before) - set(now))
        if added:
            doc.add("para", "Now failing:").add("code", *added)
        if gone:
            doc.add("para", "No longer failing:").add("code", *gone)
    elif problem.message and event != "resolved":
        doc.add("code", problem.message)
    return doc


# -- renderers ----------------------------------------------------------------------


@dataclass(frozen=True)
class Markup:
    """A text syntax: how it writes a heading, a bullet and a code block, and how it keeps
    text from being read as markup."""

    heading: Callable[[str], str]
    bullet: str
    code: Callable[[str], str]
    escape: Callable[[str], str]

    def render(self, doc: Doc) -> str:
        out = []
        for b in doc.blocks:
            if b.kind == "heading":
                out.append(self.heading(self.escape(one_line(b.lines[0]))))
            elif b.kind == "bullets":
                out.append("\n".join(f"{self.bullet} {self.escape(one_line(x))}" for x in b.lines))
            elif b.kind == "code":
                out.append(self.code(block_text("\n".join(b.lines))))
            else:
                out.append(self.escape(one_line(" ".join(b.lines))))
        return "\n\n".join(out)


# Jira closes a {noformat} block at any spelling of the macro (names are case-insensitive).
_NOFORMAT = re.compile(r"\{noformat", re.IGNORECASE)


def _fence(text: str) -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}text\n{text}\n{ticks}"


def _escaper(special: str) -> Callable[[str], str]:
    pattern = re.compile(f"([{special}])")
    return lambda text: pattern.sub(r"\\\1", text)


PLAIN = Markup(str.upper, "-", lambda text: text, lambda text: text)
MARKDOWN = Markup(
    lambda text: f"### {text}",
    "-",
    _fence,
    # Escaped, so an AWS tag cannot turn into a link, an image or a mention.
    _escaper(r"\\`*_{}\[\]()#+\-.!<>|~@&$"),
)
WIKI = Markup(
    lambda text: f"h3. {text}",
    "*",
    lambda text: f"{{noformat}}\n{_NOFORMAT.sub('{ noformat', text)}\n{{noformat}}",
    _escaper(r"\\*_{}\[\]|!#^+?~-"),
)


def plain(doc: Doc) -> str:
    """Plain text (ServiceNow, the CSV file)."""
    return PLAIN.render(doc)


def markdown(doc: Doc) -> str:
    """GitHub-flavoured Markdown."""
    return MARKDOWN.render(doc)


def wiki(doc: Doc) -> str:
    """Jira wiki markup (Server / Data Center, REST v2)."""
    return WIKI.render(doc)


def _adf_text(text: str, *, block: bool = False) -> dict[str, Any]:
    """A text node (ADF has no markup in text, so only controls need removing; a text node
    may not be empty)."""
    return {"type": "text", "text": (block_text(text) if block else one_line(text)) or " "}


def adf(doc: Doc) -> dict[str, Any]:
    """Atlassian Document Format (Jira Cloud, REST v3)."""
    content: list[dict[str, Any]] = []
    for b in doc.blocks:
        if b.kind == "heading":
            content.append(
                {"type": "heading", "attrs": {"level": 3}, "content": [_adf_text(b.lines[0])]}
            )
        elif b.kind == "bullets":
            items = [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [_adf_text(x)]}]}
                for x in b.lines
            ]
            content.append({"type": "bulletList", "content": items})
        elif b.kind == "code":
            code = _adf_text("\n".join(b.lines), block=True)
            content.append({"type": "codeBlock", "content": [code]})
        else:
            content.append({"type": "paragraph", "content": [_adf_text(" ".join(b.lines))]})
    return {"type": "doc", "version": 1, "content": content}
