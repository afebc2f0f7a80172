"""Making outside values safe where they land: terminal lines, spreadsheet
cells, Markdown letters and file names.

A file name or a clinician name comes from an export and may hold anything: a
newline (a forged second line on stderr), ESC (terminal-title injection; also
refused by openpyxl and python-docx), Markdown or HTML, or 300 characters.
"""
from __future__ import annotations

import os
import re
import unicodedata

# C0/C1 controls and the bidi overrides that reorder what a reader sees.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}<>#|~!&])")
_MD_LINE_START = re.compile(r"^(\s*)([-+=>]|\d+(?=[.)]))")  # would start a list or quote


def _visible(m: re.Match) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """One line, no control characters: each shown as a visible \\xNN / \\uNNNN escape."""
    return _CONTROLS.sub(_visible, str(text))


def path_text(path) -> str:
    """A file path as text that can be written anywhere (JSON, SQLite, a workbook): bytes of a
    name that are not UTF-8 (kept by Python as surrogate escapes) are shown as \\xNN instead."""
    return os.fsencode(str(path)).decode("utf-8", "backslashreplace")


def without_controls(text: str) -> str:
    """Control characters dropped (line breaks become spaces): for names inside a letter."""
    return " ".join(_CONTROLS.sub(lambda m: " " if m.group() in "\t\n\r\x0b\x0c" else "", str(text)).split())


def xml_text(text: str) -> str:
    """Control characters (other than tab and line breaks) dropped: python-docx and XML refuse them."""
    return _CONTROLS.sub(lambda m: m.group() if m.group() in "\t\n\r" else "", text)


def markdown_text(text: str) -> str:
    """A value as literal Markdown text: no emphasis, links, HTML or headings from it."""
    text = _MD_SPECIAL.sub(r"\\\1", without_controls(text))
    m = _MD_LINE_START.match(text)
    if m and m.group(2)[0].isdigit():  # "1. x" -> "1\. x"
        return text[:m.end()] + "\\" + text[m.end():]
    return text[:m.start(2)] + "\\" + text[m.start(2):] if m else text


def file_part(text: str, max_bytes: int = 80) -> str:
    """A readable, safe piece of a file name: letters and digits of any script kept
    (CJK names stay readable), everything else a hyphen, at most max_bytes of UTF-8."""
    text = unicodedata.normalize("NFKC", without_controls(text)).casefold()
    slug = re.sub(r"[\W_]+", "-", text).strip("-")
    while len(slug.encode("utf-8")) > max_bytes:
        slug = slug[:-1]
    return slug.strip("-") or "unknown"
