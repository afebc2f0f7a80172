"""What a file really is, from its first bytes and (for zips) its part names.

The one place that decides whether a file can be handed to a file library:
the libraries report every bad file as the same generic zip error, so we look
first and give the user the one fix that applies. `sniff` picks the reader;
`require` (called by the readers and writers when they open a package) adds
the resource caps of notesplugin.safety.
"""
from __future__ import annotations

import errno
import io
import os
import stat
import struct
import zipfile
import zlib
from pathlib import Path

from lxml import etree

from notesplugin import safety
from notesplugin.model import InputError
from notesplugin.package_names import PKG_REL, resolve

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP = b"PK\x03\x04"
PDF = b"%PDF-"  # may follow a little junk; readers accept it within the first 1 KB
EXPECT = {".docx": "docx", ".docm": "docx", ".xlsx": "xlsx", ".xlsm": "xlsx", ".csv": "csv", ".pdf": "pdf"}
SAVE_AS = {"docx": ".docx", "xlsx": ".xlsx", "csv": ".csv", "pdf": ".pdf"}
LEGACY = {".doc": "docx", ".xls": "xlsx"}  # never read, but walked so the user hears how to convert them
# Document types notes are sometimes saved as but that are not read: walked so each is named with its fix.
UNREAD = {
    ".ods": "an OpenDocument spreadsheet, not read; open it in LibreOffice or Excel and save it as .xlsx",
    ".odt": "an OpenDocument text document, not read; open it in LibreOffice or Word and save it as .docx",
    ".rtf": "a Rich Text document, not read; open it in Word and save it as .docx",
    ".txt": "a plain-text file, not read; if it holds the notes as comma-separated columns save it as .csv, "
            "otherwise save it as .docx",
    ".tsv": "tab-separated text, not read; export the notes as .csv",
    ".xlsb": "an Excel binary workbook, not read; open it in Excel and save it as .xlsx",
    ".dotx": "a Word template, not read; if it holds notes, open it in Word and save it as .docx",
    ".dotm": "a Word template, not read; if it holds notes, open it in Word and save it as .docx",
    ".xltx": "an Excel template, not read; if it holds notes, open it in Excel and save it as .xlsx",
    ".pages": "an Apple Pages document, not read; export it from Pages to Word and save it as .docx",
    ".numbers": "an Apple Numbers spreadsheet, not read; export it from Numbers to Excel and save it as .xlsx",
    ".wpd": "a WordPerfect document, not read; open it in Word or LibreOffice and save it as .docx",
}
HEAD = 256 * 1024
_ENDOFCHAIN = 0xFFFFFFFE


def _ole_names(fh) -> set[str]:
    """Stream names from an OLE (compound file) directory; empty if it cannot be parsed."""
    try:
        fh.seek(0)
        header = fh.read(512)
        shift = struct.unpack_from("<H", header, 0x1E)[0]
        size = 1 << shift
        if size not in (512, 4096):
            return set()
        dir_start = struct.unpack_from("<I", header, 0x30)[0]
        fat_sectors = [s for s in struct.unpack_from("<109I", header, 0x4C) if s < _ENDOFCHAIN]
        per = size // 4

        def sector(n: int) -> bytes:
            fh.seek((n + 1) * size)
            return fh.read(size)

        def next_of(n: int) -> int:
            k = n // per
            if k >= len(fat_sectors):
                return _ENDOFCHAIN
            return struct.unpack_from("<I", sector(fat_sectors[k]), (n % per) * 4)[0]

        names: set[str] = set()
        n, seen = dir_start, set()
        while n < _ENDOFCHAIN and n not in seen and len(seen) < 4096:
            seen.add(n)
            data = sector(n)
            for off in range(0, len(data) - 127, 128):
                length = struct.unpack_from("<H", data, off + 64)[0]
                if 2 <= length <= 64:
                    names.add(data[off:off + length - 2].decode("utf-16-le", errors="ignore"))
            n = next_of(n)
        return names
    except (OSError, struct.error):
        return set()


def _ole_kind(fh, head: bytes) -> str:
    names = _ole_names(fh)

    def has(name: str) -> bool:
        # the parsed directory, else the head: names are UTF-16LE in directory sectors
        return name in names or name.encode("utf-16-le") in head
    if has("EncryptionInfo") or has("EncryptedPackage"):
        return "encrypted"
    if has("WordDocument"):
        return "doc"
    if has("Workbook") or has("Book"):
        return "xls"
    return "ole"


def sniff(path: Path, want: str | None = None) -> str:
    """'docx', 'xlsx', 'csv' or 'pdf' — or InputError naming the file and the fix.

    `want` is the kind the caller needs; by default it follows the extension."""
    path = Path(path)
    name, ext = path.name, path.suffix.lower()
    want = want or EXPECT.get(ext) or LEGACY.get(ext)
    if want is None:
        if ext in UNREAD:
            raise InputError(f"{name}: {UNREAD[ext]}")
        raise InputError(f"{name}: unsupported file type '{ext}'; export the notes as .docx, .xlsx, .csv or .pdf")
    shown = ext if EXPECT.get(ext) == want else SAVE_AS[want]
    try:
        # O_NONBLOCK: opening a FIFO waits for a writer otherwise; it is refused below, unread.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise InputError(f"{name}: not a regular file ({_file_type(st.st_mode)}); only regular files are "
                                 "read: save the export as a file and scan that")
            size = st.st_size
            head = fh.read(HEAD)
            kind = _ole_kind(fh, head) if head.startswith(OLE) else ""
    except OSError as exc:
        raise InputError(_open_error(path, exc)) from None
    if size == 0:
        raise InputError(f"{name}: the file is empty (not a {want.upper()} file); export the notes again as {shown}")
    if kind == "encrypted":
        raise InputError(f"{name}: the file is password-protected; remove the password and export again")
    if kind == "doc":
        raise InputError(f"{name}: legacy Word .doc format; open it in Word and save as .docx")
    if kind == "xls":
        raise InputError(f"{name}: legacy Excel .xls format; open it in Excel and save as .xlsx")
    if kind:
        raise InputError(f"{name}: password-protected or legacy Office file, not {shown}; "
                         f"remove any password and save it as {shown}")
    if ext in LEGACY and not head.startswith(ZIP):
        raise InputError(f"{name}: not a usable {ext} file; open it in Office and save it as {SAVE_AS[want]}")
    if PDF in head[:1024] and want != "pdf":
        raise InputError(f"{name}: this is really a .pdf file named {ext}; rename it to {path.stem}.pdf")
    if want == "pdf":
        if PDF in head[:1024]:
            return "pdf"
        if head.startswith(ZIP):
            got = _zip_kind(path)
            raise InputError(f"{name}: this is really a {SAVE_AS[got]} file named .pdf; rename it to {path.stem}{SAVE_AS[got]}")
        raise InputError(f"{name}: not a PDF file (unknown or damaged content); export the note again as a text PDF")
    if head.startswith(ZIP):
        got = _zip_kind(path)
        if got != want or ext in LEGACY:
            raise InputError(f"{name}: this is really a {SAVE_AS[got]} file named {ext if ext in LEGACY else shown}; "
                             f"rename it to {path.stem}{SAVE_AS[got]}")
        return got
    if want == "csv":
        # NUL padding an exporter left at the end of the file is not judged (the reader skips it)
        sample = (head.rstrip(b"\x00") if size <= len(head) else head)[:4096]
        if b"\x00" in head[:4096] and not head.startswith((b"\xff\xfe", b"\xfe\xff")) \
                and not (sample and text_nuls(sample)):
            raise InputError(f"{name}: binary data, not a CSV text file; export the notes again as .csv")
        return "csv"
    if b"\x00" not in head[:4096] and (b"," in head[:4096] or b"\t" in head[:4096] or b";" in head[:4096]):
        raise InputError(f"{name}: plain text (CSV?) named {shown}; rename it to {path.stem}.csv "
                         f"or export as {shown}")
    raise InputError(f"{name}: not a {shown} file (unknown or damaged content); export the notes again as {shown}")


def _file_type(mode: int) -> str:
    for test, what in ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISDIR, "a folder"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device")):
        if test(mode):
            return what
    return "a special file"


def _open_error(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return f"{path.name}: a symbolic link that loops back on itself; remove the link or point it at the export"
    if exc.errno == errno.ENOENT and path.is_symlink():
        return f"{path.name}: a symbolic link to a missing file; remove the link or point it at the export"
    return f"{path.name}: cannot read the file ({exc.strerror}); check the path and permissions"


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            main = _main_part(zf) if "word/document.xml" not in names and "xl/workbook.xml" not in names else ""
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, zlib.error):
        raise InputError(f"{path.name}: damaged or truncated file (broken zip); export the notes again") from None
    if "word/document.xml" in names or main.startswith("word/"):
        return "docx"
    if "xl/workbook.xml" in names or main.startswith("xl/"):
        return "xlsx"
    raise InputError(f"{path.name}: a zip archive without Word or Excel content; export the notes as .docx or .xlsx")


_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"


def _main_part(zf: zipfile.ZipFile) -> str:
    """The package's main part as its root relationships name it (Word Online may write
    word/document2.xml); "" when there is none to read. Read as word_package reads relationships."""
    try:
        info = zf.getinfo("_rels/.rels")
    except KeyError:
        return ""
    if info.file_size > 1 << 20:
        return ""
    try:
        root = etree.fromstring(zf.read(info), etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return ""
    for r in root.iter(f"{{{PKG_REL}}}Relationship"):
        if r.get("Type") == _OFFICE_DOCUMENT and r.get("TargetMode") != "External":
            return resolve("", r.get("Target", ""))
    return ""


def _strict(zf: zipfile.ZipFile) -> bool:
    """ISO 29500 Strict: the root relationship and every part use purl.oclc.org namespaces."""
    try:
        info = zf.getinfo("_rels/.rels")
    except KeyError:
        return False
    return info.file_size <= 1 << 20 and b"purl.oclc.org/ooxml/officeDocument" in zf.read(info)


def require(path: Path, kind: str, *, read: bool = False) -> bytes | None:
    """InputError unless path is a usable `kind` ('docx'/'xlsx') package within the safety caps.

    The extension is not consulted (writers check their own temp files). `read`: read the file
    once, after sniffing, check the package in memory and return its bytes (the DOCX reader
    keeps them: notesplugin.word_package)."""
    path = Path(path)
    sniff(path, kind)
    data = None
    try:
        if read:
            data = path.read_bytes()
        with zipfile.ZipFile(io.BytesIO(data) if read else path) as zf:
            safety.check_package(zf, path.name, kind)
            if _strict(zf):
                raise InputError(f"{path.name}: saved as Strict Open XML, which the file libraries here do not read; "
                                 f"open it in {'Word' if kind == 'docx' else 'Excel'} and save it as "
                                 f"{'Word Document (.docx)' if kind == 'docx' else 'Excel Workbook (.xlsx)'}")
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError, zlib.error):
        # NotImplementedError: a compression method zipfile lacks; EOFError/BadZipFile: truncated data
        raise InputError(f"{path.name}: damaged or truncated file (broken zip); export the notes again") from None
    except OSError as exc:
        raise InputError(f"{path.name}: cannot read the file ({exc.strerror}); "
                         "check the path and permissions") from None
    return data


def text_nuls(sample: bytes) -> str:
    """Why a CSV's NUL bytes still make a text file: "utf-16-le" / "utf-16-be" (UTF-16 without
    its BOM: every other byte NUL), "stray" (a few NULs a exporter padded with), else ""."""
    even, odd = sample[0::2], sample[1::2]
    if odd and odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even and even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    controls = sum(1 for b in sample if b < 32 and b not in (0, 9, 10, 13))
    # padding NULs in otherwise plain text; binary data has other control bytes as well
    return "stray" if sample.count(0) <= max(4, len(sample) // 10) and controls <= len(sample) // 100 else ""
