"""Readers: one module per format, each turning a file into Note objects.

`read(path, config)` sniffs the file first (never trusting the extension
alone) and dispatches. Every reader raises InputError with a one-line
message naming the fix for a file it cannot use.
"""
from __future__ import annotations

from pathlib import Path

from notesplugin.config import Config
from notesplugin.model import ReadResult
from notesplugin.readers.sniff import sniff

SUFFIXES = (".docx", ".xlsx", ".xlsm", ".csv", ".pdf")


def read(path: Path, config: Config) -> tuple[str, ReadResult]:
    kind, result, _ = read_keep(path, config)
    return kind, result


def read_keep(path: Path, config: Config) -> tuple[str, ReadResult, object | None]:
    """As read(), also handing back what the writer needs from the reading: the opened Word
    document, or for a PDF where each note character sits (PdfSource); None for other kinds.
    The scan passes it to the writer instead of opening the file a second time."""
    kind = sniff(path)
    if kind == "pdf":
        from notesplugin.readers.pdf_reader import read_pdf
        result, source = read_pdf(path, config)
        return kind, result, source
    if kind == "docx":
        from notesplugin.readers.docx_reader import open_docx, read_docx
        doc = open_docx(path)
        return kind, read_docx(path, config, doc), doc
    if kind == "xlsx":
        from notesplugin.readers.xlsx_reader import read_xlsx
        return kind, read_xlsx(path, config), None
    from notesplugin.readers.csv_reader import read_csv
    return kind, read_csv(path, config), None
