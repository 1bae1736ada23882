"""Keep text from AWS inert where it is shown: one sanitizer per kind of sink.

Tag values, descriptions, resource names and policy condition values are chosen by anyone
who can write to a scanned account, and the scanner shows them to people: in a terminal,
in log lines a pipeline parses, in ticket trackers.  Each sink has its own way of turning
text into action, so each gets one function here, used by every writer of that sink:

- :func:`terminal_text`: a terminal obeys escape sequences (colours, cursor movement,
  OSC 8 hyperlinks, OSC 52 clipboard writes, window titles) and C1 controls (``\\x9b`` is
  CSI on many terminals), and a carriage return or backspace lets text overwrite what the
  scanner printed.  Escape sequences are removed whole (their parameters would only be
  noise); every other control character, bidi override and lone surrogate is shown as a
  Python-style escape (``\\x07``, ``\\u202e``), so the reader sees that it was there.
- :func:`one_line`: the same, for a log line or a ticket's summary: a newline in data
  must not start a forged line, so newlines are escaped too.
- :func:`block_text`: the same but keeping newlines, for multi-line text (a ticket's code
  block, an error message listing several problems).

HTML (Jinja2 autoescape and a JSON block with no ``<``), CSV/XLSX (the formula guard of
:mod:`scanner.reporting.csvout`) and the ticket markups (:mod:`scanner.tickets.render`)
escape for their syntax on top of these.
"""

from __future__ import annotations

import re

# ESC-introduced sequences: CSI (ESC [ ... final byte), OSC/DCS/SOS/PM/APC strings (ESC ] P X
# ^ _ ... up to BEL or ST), and two-byte escapes (ESC + one character); then their 8-bit C1
# forms (\x9b CSI, \x9d OSC, \x90 DCS, \x98 SOS, \x9e PM, \x9f APC, ended by \x9c or BEL).
# A string's body stops at any control character, so an unterminated one cannot swallow
# the text after it (a newline and what follows stay).
_ESCAPES = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]?
  | \x1b[\]PX^_][^\x00-\x1f\x7f-\x9f]*(?:\x07|\x1b\\|\x9c)?
  | \x1b[ -~]?
  | \x9b[0-?]*[ -/]*[@-~]?
  | [\x90\x98\x9d\x9e\x9f][^\x00-\x1f\x7f-\x9f]*(?:\x07|\x1b\\|\x9c)?
    """,
    re.VERBOSE,
)
# C0 and C1 controls, DEL, bidi embeddings/overrides/isolates, and lone surrogates.
_CONTROLS = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_BLOCK_CONTROLS = re.compile(
    r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def strip_escapes(text: str) -> str:
    """``text`` without terminal escape sequences (7-bit and 8-bit forms)."""
    return _ESCAPES.sub("", text)


def one_line(text: str) -> str:
    """``text`` as one inert line: escape sequences removed, every other control
    character (newlines included), bidi control and lone surrogate made visible."""
    return _CONTROLS.sub(_visible, strip_escapes(text))


def terminal_text(text: str) -> str:
    """Data for a terminal line (see module docstring): :func:`one_line`."""
    return one_line(text)


def block_text(text: str) -> str:
    """Like :func:`one_line`, but newlines stay (carriage returns do not: they would let a
    line overwrite itself on a terminal and split lines in a log)."""
    return _BLOCK_CONTROLS.sub(_visible, strip_escapes(text))
