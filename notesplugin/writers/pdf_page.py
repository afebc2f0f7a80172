"""The findings list appended as the annotated PDF's last page(s): plain Helvetica text,
drawn with the PDF's standard-14 font so no font file is embedded."""
from __future__ import annotations

import textwrap

from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

SIZE, LEADING, MARGIN = 9.0, 12.0, 54.0
CHAR_W = 0.56 * SIZE  # Helvetica's widest common letters: wrapping by count never overruns


def _escape(text: str) -> str:
    raw = text.encode("cp1252", errors="replace").decode("latin-1")  # WinAnsiEncoding
    return raw.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def wrap(lines: list[str], width: float) -> list[str]:
    cols = max(20, int((width - 2 * MARGIN) / CHAR_W))
    out: list[str] = []
    for line in lines:
        out.extend(textwrap.wrap(line, cols, subsequent_indent="    ") or [""])
    return out


def add_pages(writer, lines: list[str], width: float, height: float) -> int:
    """Append pages showing `lines`; returns how many were added."""
    rows = wrap(lines, width)
    per_page = max(1, int((height - 2 * MARGIN) / LEADING))
    font = DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"), NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
    })
    font_ref = writer._add_object(font)
    added = 0
    for first in range(0, len(rows), per_page):
        chunk = rows[first:first + per_page]
        ops = [f"BT /F1 {SIZE} Tf {LEADING} TL {MARGIN} {height - MARGIN} Td"]
        ops += [f"({_escape(row)}) '" for row in chunk]
        ops.append("ET")
        stream = DecodedStreamObject()
        stream.set_data("\n".join(ops).encode("latin-1"))
        page = writer.add_blank_page(width, height)
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject({
            NameObject("/Font"): DictionaryObject({NameObject("/F1"): font_ref})})
        added += 1
    return added
