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
    """(kind, notes + source): the scan hands `result.source` to the writer, which never
    opens the input again with a reader."""
    kind = sniff(path)
    if kind == "pdf":
        from notesplugin.readers.pdf_reader import read_pdf
        result, result.source = read_pdf(path, config)
        return kind, result
    if kind == "docx":
        from notesplugin.readers.docx_reader import read_docx
        return kind, read_docx(path, config)
    if kind == "xlsx":
        from notesplugin.readers.xlsx_reader import read_xlsx
        return kind, read_xlsx(path, config)
    from notesplugin.readers.csv_reader import read_csv
    return kind, read_csv(path, config)
