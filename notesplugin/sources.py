"""What a reader hands the writer besides the notes: where the notes came from
in the input, so the writer can copy the input without parsing it again.

Writers import these types, never a reader module (data flows one way)."""
from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class CsvSource:
    """A CSV as read: its dialect and encoding, and where each record's bytes end.

    Record n (1-based, as in a note's location "row") is the input's bytes
    [ends[n-2] or start, ends[n-1]); `fields[n-1]` is its number of cells."""

    path: Path
    size: int  # input size when read; the writer refuses if it changed
    encoding: str  # codec for the text after the BOM, e.g. "utf-8", "utf-16-le", "cp1252"
    errors: str  # decode error handler used ("strict", or the fallback's)
    bom: bytes
    delimiter: str
    header_row: int  # 1-based record number of the header
    ends: array = field(default_factory=lambda: array("Q"))
    fields: array = field(default_factory=lambda: array("I"))


@dataclass
class XlsxSource:
    """A workbook as read: the header row above the notes on each sheet that holds notes."""

    path: Path
    header_rows: dict[str, int] = field(default_factory=dict)  # sheet title -> 1-based row
    stamp: tuple[int, int] | None = None  # (size, mtime_ns) when read; the writer refuses if it changed


@dataclass
class DocxSource:
    """A Word file as read: the notesplugin.word_package.WordPackage the notes came from (the
    file's bytes and its parsed parts). The writer annotates this very object (once) and copies
    the members it does not change raw, so the file is read and parsed a single time."""

    path: Path
    package: Any = None
