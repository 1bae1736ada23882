"""The sanitizers of :mod:`scanner.inert` and the ticket markups, for any text (hypothesis):
what they return carries no control character, and ordinary text passes unchanged."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from scanner.inert import block_text, one_line
from scanner.tickets.render import Doc, markdown, wiki
from tests.hostilekit import CATALOGUE, unescaped

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
texts = st.text() | st.sampled_from([h.text for h in CATALOGUE])


@given(texts)
def test_one_line_leaves_no_control_character(text: str) -> None:
    assert CONTROL.search(one_line(text)) is None


@given(texts)
def test_block_text_keeps_only_newlines(text: str) -> None:
    out = block_text(text)
    assert CONTROL.search(out.replace("\n", "")) is None
    assert out.count("\n") == text.count("\n"), "no line is lost or added"


@given(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
def test_printable_text_passes_unchanged(text: str) -> None:
    assert one_line(text) == text == block_text(text)


def test_escape_sequences_go_whole_and_other_controls_show() -> None:
    assert one_line("a\x1b[31mred\x1b[0m\x1b]8;;http://x\x1b\\y\x1b]8;;\x1b\\") == "aredy"
    assert one_line("\x9b2Jz\x1b]0;title\x07!") == "z!"
    assert one_line("a\r\nb\x00\u202e") == "a\\x0d\\x0ab\\x00\\u202e"
    assert block_text("\x1b]0;no end\nnext line") == "\nnext line"


@given(texts)
def test_markdown_prose_escapes_every_special_character(text: str) -> None:
    out = markdown(Doc().add("para", text).add("bullets", text).add("heading", text))
    assert unescaped(out.replace("### ", "", 1), "[]()<>!|@$&`*_#~") == []
    assert CONTROL.search(out.replace("\n", "")) is None


@given(texts)
def test_wiki_prose_escapes_and_code_cannot_close_its_block(text: str) -> None:
    out = wiki(Doc().add("para", text).add("code", text))
    prose, _, code = out.partition("{noformat}")
    assert unescaped(prose, "[]{}|!*_") == []
    assert code.lower().count("{noformat}") == 1, "only the block's own end"
    assert CONTROL.search(out.replace("\n", "")) is None
