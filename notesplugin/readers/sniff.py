"""What a file really is, from its first bytes and (for zips) its part names.

The file libraries report every bad file as the same generic zip error, so
we look first and give the user the one fix that applies."""
from __future__ import annotations

import zipfile
from pathlib import Path

from notesplugin.model import InputError

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP = b"PK\x03\x04"
EXPECT = {".docx": "docx", ".xlsx": "xlsx", ".xlsm": "xlsx", ".csv": "csv"}
SAVE_AS = {"docx": ".docx", "xlsx": ".xlsx", "csv": ".csv"}


def _ole_kind(head: bytes) -> str:
    # OLE directory entries hold UTF-16LE stream names; the first sectors are enough.
    def has(name: str) -> bool:
        return name.encode("utf-16-le") in head
    if has("EncryptionInfo") or has("EncryptedPackage"):
        return "encrypted"
    if has("WordDocument"):
        return "doc"
    if has("Workbook") or has("Book"):
        return "xls"
    return "ole"


def sniff(path: Path) -> str:
    """'docx', 'xlsx', 'csv' — or InputError naming the file and the fix."""
    path = Path(path)
    name, ext = path.name, path.suffix.lower()
    want = EXPECT.get(ext)
    if want is None:
        raise InputError(f"{name}: unsupported file type '{ext}'; export the notes as .docx, .xlsx or .csv")
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(256 * 1024)
    except OSError as exc:
        raise InputError(f"{name}: cannot read the file ({exc.strerror}); check the path and permissions") from None
    if size == 0:
        raise InputError(f"{name}: the file is empty; export the notes again")
    if head.startswith(OLE):
        kind = _ole_kind(head)
        if kind == "encrypted":
            raise InputError(f"{name}: the file is password-protected; remove the password and export again")
        if kind == "doc":
            raise InputError(f"{name}: legacy Word .doc format; open it in Word and save as .docx")
        if kind == "xls":
            raise InputError(f"{name}: legacy Excel .xls format; open it in Excel and save as .xlsx")
        raise InputError(f"{name}: an old Office (OLE) file, not {SAVE_AS.get(want, ext)}; save it as .docx or .xlsx")
    if head.startswith(ZIP):
        try:
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
        except (zipfile.BadZipFile, OSError):
            raise InputError(f"{name}: damaged or truncated file (broken zip); export the notes again") from None
        if "word/document.xml" in names:
            got = "docx"
        elif "xl/workbook.xml" in names:
            got = "xlsx"
        else:
            raise InputError(f"{name}: a zip archive without Word or Excel content; export the notes as .docx or .xlsx")
        if got != want:
            raise InputError(f"{name}: this is really a {SAVE_AS[got]} file named {ext}; rename it to {path.stem}{SAVE_AS[got]}")
        return got
    if want == "csv":
        if b"\x00" in head[:4096] and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise InputError(f"{name}: binary data, not a CSV text file; export the notes again as .csv")
        return "csv"
    if b"\x00" not in head[:4096] and (b"," in head[:4096] or b"\t" in head[:4096] or b";" in head[:4096]):
        raise InputError(f"{name}: plain text (CSV?) named {ext}; rename it to {path.stem}.csv or export as {ext}")
    raise InputError(f"{name}: not a {ext} file (unknown or damaged content); export the notes again as {ext}")
