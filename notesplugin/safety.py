"""Resource caps checked before a file library parses a package, and the
out-folder claim that lets a scan clear temp files a crashed scan left behind.

Office files are zips of XML; a small file can expand to gigabytes, declare
entities that expand exponentially, or hold millions of shared strings that
openpyxl loads into memory all at once. These checks read only zip headers
and the first bytes of each XML part (shared strings: a streamed count), so
a hostile file is refused in well under a second with bounded memory.
"""
from __future__ import annotations

import contextlib
import os
import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from notesplugin.model import InputError

MAX_UNZIPPED = 256 * 1024 * 1024  # all parts together, as declared (zipfile never reads past it)
MAX_PARTS = 10_000
MAX_SHARED_STRINGS = 1_000_000
MAX_PDF_PAGES = 5_000  # reading takes ~10 ms a page; a bigger PDF is refused at once, not read for minutes
# One shared string, in XML bytes. Excel holds at most 32,767 characters in a cell; a note at the default
# max_note_chars (200,000) is at most ~1 MB even escaped; openpyxl needs ~20x a string's size in memory.
MAX_TEXT_VALUE = 4 * 1024 * 1024
MAX_PROLOG = 1024 * 1024  # bytes before an XML part's root element
SHARED_STRINGS = "xl/sharedStrings.xml"
_CHUNK = 1024 * 1024
_ROOT = re.compile(rb"<[A-Za-z_]")  # an element start; '<?' and '<!' are prolog
_UNIQUE = re.compile(rb'uniqueCount="(\d+)"')
_SI = re.compile(rb"<(?:\w+:)?si[\s>/]")
_TEMP = re.compile(r"^\..+\.[A-Za-z0-9_]{6,12}\.part$")  # fileio.atomic_path's mkstemp names
LOCK_NAME = ".notesplugin.lock"


def check_package(zf: zipfile.ZipFile, name: str, kind: str) -> None:
    """InputError if the package is a resource bomb; `kind` is 'docx' or 'xlsx'."""
    label = "Word document" if kind == "docx" else "workbook"
    infos = zf.infolist()
    if len(infos) > MAX_PARTS:
        raise InputError(f"{name}: the {label} has {len(infos)} internal parts (over {MAX_PARTS}); "
                         "open it and save it again, or split the export")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNZIPPED:
        raise InputError(f"{name}: the {label} expands to {total // 2**20} MB (over {MAX_UNZIPPED // 2**20} MB); "
                         "split the export into smaller files")
    for info in infos:
        if info.filename.lower().endswith((".xml", ".rels", ".vml")):
            _check_prolog(zf, info, name, label)
    if kind == "xlsx" and SHARED_STRINGS in zf.namelist():
        _check_shared_strings(zf, name)


_STREAM = re.compile(rb"stream\r?\n")


def check_pdf_streams(data: bytes, name: str) -> None:
    """InputError if the PDF's Flate streams inflate to more than MAX_UNZIPPED together (a PDF
    bomb): pdfium would inflate them whole (1 GB took 8 s and 2 GB of memory here). Each stream
    is inflated in 1 MB steps and dropped, so this needs little memory."""
    total = 0
    for m in _STREAM.finditer(data):
        inflate = zlib.decompressobj()
        pending = data[m.end():m.end() + _CHUNK]
        pos = m.end() + len(pending)
        try:
            while pending and not inflate.eof:
                total += len(inflate.decompress(pending, _CHUNK))
                if total > MAX_UNZIPPED:
                    raise InputError(f"{name}: the PDF expands to over {MAX_UNZIPPED // 2**20} MB (a possible PDF bomb) "
                                     "and was refused; export the note again as a text PDF")
                if inflate.unconsumed_tail:
                    pending = inflate.unconsumed_tail
                else:
                    pending = data[pos:pos + _CHUNK]
                    pos += len(pending)
        except zlib.error:
            continue  # not Flate data (an image, or "stream" inside other bytes)


def _check_prolog(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, label: str) -> None:
    # OOXML parts never carry a DTD; a DOCTYPE is how entity-expansion bombs start.
    head = b""
    with zf.open(info) as fh:
        while len(head) < MAX_PROLOG:
            chunk = fh.read(64 * 1024)
            if not chunk:
                break
            head += chunk
            if head.startswith((b"\xff\xfe", b"\xfe\xff")):
                break  # UTF-16 part: searched by its decoded form below
            if _ROOT.search(head):
                break
        else:
            raise InputError(f"{name}: the {label} has a malformed part ({info.filename}); "
                             "open it and save it again, then scan the new copy")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="ignore").encode("utf-8")
    m = _ROOT.search(head)
    prolog = head[:m.start()] if m else head
    if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog:
        raise InputError(f"{name}: the {label} contains XML entity declarations (a possible XML bomb) and was "
                         "refused; open it in Office and save it again, then scan the new copy")


def _check_shared_strings(zf: zipfile.ZipFile, name: str) -> None:
    """Count <si> entries without parsing, and measure the longest; the declared uniqueCount may lie,
    so stream the part."""
    def refuse(n: int) -> InputError:
        return InputError(f"{name}: the workbook holds over {MAX_SHARED_STRINGS:,} distinct text values "
                          f"({n:,} counted); split the export into smaller files")

    def too_long(n: int) -> None:
        if n > MAX_TEXT_VALUE:
            raise InputError(f"{name}: the workbook holds one text value of {n / 2**20:.1f} MB (over "
                             f"{MAX_TEXT_VALUE // 2**20} MB); no note is that long: export the notes again, "
                             "or split that cell's text into smaller notes")
    count, carry, run = 0, b"", 0  # run: bytes since the last <si> start (a value that may go on)
    with zf.open(SHARED_STRINGS) as fh:
        first = True
        while True:
            chunk = fh.read(_CHUNK)
            if first:
                m = _UNIQUE.search(chunk[:4096])
                if m and int(m.group(1)) > MAX_SHARED_STRINGS:
                    raise refuse(int(m.group(1)))
                first = False
            if not chunk:
                data = carry
            else:
                data = carry + chunk
                cut = data.rfind(b"<")  # keep a possibly split tag for the next round
                data, carry = (data[:cut], data[cut:]) if cut > 0 else (data, b"")
            last = 0
            for m in _SI.finditer(data):
                too_long(run + m.start() - last)  # the value before this one ends here
                run, last = 0, m.start()
                count += 1
            run += len(data) - last
            if count > MAX_SHARED_STRINGS:
                raise refuse(count)
            if not chunk:
                too_long(run)
                return


# ---- the out folder --------------------------------------------------------------

def stale_temps(folder: Path) -> list[Path]:
    """Hidden `.name.XXXXXXXX.part` files atomic_path makes, in folder and its letters/ subfolder."""
    out = []
    for d in (folder, folder / "letters"):
        if d.is_dir():
            out.extend(p for p in sorted(d.iterdir()) if _TEMP.match(p.name) and p.is_file())
    return out


@contextlib.contextmanager
def claim_out_dir(folder: Path) -> Iterator[list[Path]]:
    """Hold a shared lock on folder for a scan; yields the stale temps it removed.

    Temps are removed only when no other scan holds the folder (an exclusive
    lock succeeds): a killed scan releases its lock, a running one does not."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): leave temps alone rather than risk a live scan's
        yield []
        return
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    removed: list[Path] = []
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pass  # another scan is writing here now
        else:
            for p in stale_temps(folder):
                with contextlib.suppress(OSError):
                    p.unlink()
                    removed.append(p)
        fcntl.flock(fd, fcntl.LOCK_SH)  # converts the exclusive lock; waits only for a cleaner
        yield removed
    finally:
        os.close(fd)
