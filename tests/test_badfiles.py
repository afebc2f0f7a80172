"""Every bad file gets a one-line answer naming the file and the fix; the batch goes on.

All bad files are made here: encrypted ones with msoffcrypto-tool, legacy
.doc/.xls as minimal (valid) OLE compound files, bombs as small zips."""
from __future__ import annotations

import importlib
import io
import json
import os
import struct
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from docx import Document

from notesplugin import readers, safety
from notesplugin.cli import main
from notesplugin.config import Config
from notesplugin.model import InputError

sniff_mod = importlib.import_module("notesplugin.readers.sniff")  # the package re-exports sniff()
FLAG = "Client cried about her mother's death. I told her it would all be fine and moved on."
LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                     for i in range(1, 10))
          + b"]>\n")


# ---- builders -------------------------------------------------------------------

def make_docx(path: Path, paragraphs=(FLAG,)) -> Path:
    doc = Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    doc.save(path)
    return path


def make_xlsx(path: Path, rows=(("Note ID", "Clinician", "Note"), ("n1", "Dr A", FLAG))) -> Path:
    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    for row in rows:
        wb.active.append(list(row))
    wb.save(path)
    return path


def make_csv(path: Path) -> Path:
    path.write_text(f'Note ID,Clinician,Note\nc1,Dr A,"{FLAG}"\n', encoding="utf-8")
    return path


def rezip(src: Path, dest: Path, replace: dict[str, bytes], store: bool = False) -> Path:
    """Copy a package with some parts replaced (or added)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
        for info in zin.infolist():
            if info.filename not in replace:
                zout.writestr(info, zin.read(info.filename))
        for name, data in replace.items():
            zout.writestr(name, data)
    return dest


def with_strings(src: Path, dest: Path, sst: bytes) -> Path:
    """src plus a shared-strings part, registered as Excel registers it."""
    with zipfile.ZipFile(src) as zf:
        types, rels = zf.read("[Content_Types].xml"), zf.read("xl/_rels/workbook.xml.rels")
    types = types.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                          b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    rels = rels.replace(b"</Relationships>", b'<Relationship Id="rIdSst" Type="http://schemas.openxmlformats.org/'
                        b'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
                        b"</Relationships>")
    return rezip(src, dest, {"[Content_Types].xml": types, "xl/_rels/workbook.xml.rels": rels,
                             "xl/sharedStrings.xml": sst})


def ole_file(stream: str, size: int = 4096, *, v4: bool = False, dir_last: bool = False) -> bytes:
    """A minimal valid compound file (CFB v3, or v4 with 4 KB sectors) holding one stream."""
    end, free, nostream = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFF
    ss = 4096 if v4 else 512
    n_data = -(-size // ss)
    assert n_data + 2 <= ss // 4  # one FAT sector is enough
    dir_sec, data_start = (1 + n_data, 1) if dir_last else (1, 2)
    header = bytearray(ss)
    header[0:8] = sniff_mod.OLE
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 4 if v4 else 3, 0xFFFE, 12 if v4 else 9, 6)
    struct.pack_into("<IIIIIIIII", header, 0x28, 1 if v4 else 0, 1, dir_sec, 0, 4096, end, 0, end, 0)
    struct.pack_into("<109I", header, 0x4C, 0, *([free] * 108))
    fat = [free] * (ss // 4)
    fat[0], fat[dir_sec] = 0xFFFFFFFD, end
    for i in range(n_data):
        fat[data_start + i] = data_start + i + 1 if i < n_data - 1 else end

    def entry(name: str, kind: int, start: int, length: int, child: int = nostream) -> bytes:
        e = bytearray(128)
        raw = (name + "\0").encode("utf-16-le")
        e[:len(raw)] = raw
        struct.pack_into("<HBB", e, 64, len(raw), kind, 1)
        struct.pack_into("<III", e, 68, nostream, nostream, child)
        struct.pack_into("<IQ", e, 116, start, length)
        return bytes(e)
    empty = bytearray(128)
    struct.pack_into("<III", empty, 68, nostream, nostream, nostream)
    directory = entry("Root Entry", 5, end, 0, child=1) + entry(stream, 2, data_start, size)
    directory += bytes(empty) * (ss // 128 - 2)
    data = b"\x42" * size + b"\0" * (n_data * ss - size)
    body = data + directory if dir_last else directory + data
    return bytes(header) + struct.pack(f"<{ss // 4}I", *fat) + body


def encrypt(src: Path, dest: Path) -> Path:
    from msoffcrypto.format.ooxml import OOXMLFile
    with open(src, "rb") as fh, open(dest, "wb") as out:
        OOXMLFile(fh).encrypt("secret", out)
    return dest


def shared_strings(n: int, declared: int | None = None) -> bytes:
    attrs = f' count="{declared}" uniqueCount="{declared}"' if declared is not None else ""
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="http://schemas.openxmlformats.org/'
            b'spreadsheetml/2006/main"' + attrs.encode() + b">" + b"<si><t>a</t></si>" * n + b"</sst>")


def small_caps(monkeypatch) -> None:
    # A real bomb at the shipped cap (256 MB) takes seconds to build; the check is the same at 4 MB.
    monkeypatch.setattr(safety, "MAX_UNZIPPED", 4 * 2**20)
    monkeypatch.setattr(safety, "MAX_SHARED_STRINGS", 50_000)


def zip_bomb(path: Path, tmp: Path) -> Path:
    good = make_xlsx(tmp / "bomb-base.xlsx")
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info.filename))
        with zout.open("xl/media/filler.bin", "w") as fh:
            for _ in range(10):
                fh.write(b"\0" * 2**20)  # 10 MB that compress to ~10 KB
    return path


# ---- the bad files, the expected fix ------------------------------------------------

def build_bad(folder: Path, tmp: Path) -> dict[str, str]:
    """name -> a piece of the expected one-line message."""
    good_docx = make_docx(tmp / "g.docx")
    good_xlsx = make_xlsx(tmp / "g.xlsx")
    cases: dict[str, str] = {}

    def add(name: str, data: bytes | Path, expect: str) -> None:
        (folder / name).write_bytes(data.read_bytes() if isinstance(data, Path) else data)
        cases[name] = expect

    add("locked.docx", encrypt(good_docx, tmp / "e1"), "remove the password and export again")
    add("locked.xlsx", encrypt(good_xlsx, tmp / "e2"), "remove the password and export again")
    add("old.doc", ole_file("WordDocument"), "save as .docx")
    add("old.xls", ole_file("Workbook"), "save as .xlsx")
    add("old-renamed.docx", ole_file("WordDocument"), "save as .docx")
    add("old-renamed.xlsx", ole_file("Workbook"), "save as .xlsx")
    add("word-as.xlsx", good_docx, "rename it to word-as.docx")
    add("book-as.docx", good_xlsx, "rename it to book-as.xlsx")
    add("zipped.doc", good_docx, "really a .docx file named .doc; rename it to zipped.docx")
    add("csv-as.xlsx", b"Note ID,Note\n1,hello\n", "rename it to csv-as.csv")
    add("noise.xlsx", bytes(range(256)) * 40, "export the notes again as .xlsx")
    add("noise.csv", bytes(range(256)) * 40, "not a CSV text file; export the notes again as .csv")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "not office")
    add("plainzip.docx", buf.getvalue(), "without Word or Excel content")
    add("empty.docx", b"", "export the notes again")
    add("cut.docx", good_docx.read_bytes()[: good_docx.stat().st_size // 2], "damaged or truncated")
    add("laughs.xlsx", with_strings(good_xlsx, tmp / "l1", LAUGHS + shared_strings(1)[39:]),
        "entity declarations")
    with zipfile.ZipFile(good_docx) as zf:
        body = zf.read("word/document.xml")
    add("laughs.docx", rezip(good_docx, tmp / "l2", {"word/document.xml": LAUGHS + body[body.index(b"<w:document"):]}),
        "entity declarations")
    add("bomb.xlsx", zip_bomb(tmp / "b1", tmp), "split the export")
    add("strings.xlsx", with_strings(good_xlsx, tmp / "s1", shared_strings(safety.MAX_SHARED_STRINGS + 10)),
        "distinct text values")
    add("nocolumn.xlsx", make_xlsx(tmp / "nc.xlsx", [("Alpha", "Beta"), (1, 2)]),
        "no note column found; columns seen: Alpha, Beta; map one in notesplugin.toml")
    add("blank.docx", make_docx(tmp / "bl.docx", []), "no note text found")
    return cases


@pytest.fixture()
def batch(tmp_path, monkeypatch):
    small_caps(monkeypatch)
    src = tmp_path / "in"
    src.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    cases = build_bad(src, work)
    make_docx(src / "good.docx")
    make_xlsx(src / "good.xlsx")
    make_csv(src / "good.csv")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["scan", str(src), "--out", str(out), "--no-ledger"])
    return cases, src, out, result


def test_every_bad_file_one_line_and_batch_goes_on(batch):
    cases, src, out, result = batch
    assert result.exit_code == 3, result.output
    assert isinstance(result.exception, SystemExit)  # no crash, no traceback
    assert "Traceback" not in result.output + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(cases)
    for name, expect in cases.items():
        mine = [line for line in lines if f"{name}:" in line]
        assert len(mine) == 1, name
        assert expect in mine[0], (name, mine[0])
    run = json.loads((out / "run.json").read_text())
    for name, expect in cases.items():
        assert expect in run["files"][str(src / name)]
        assert str(src / name) not in run["outputs"]
    for good in ("good.docx", "good.xlsx", "good.csv"):
        assert run["files"][str(src / good)] == "ok"
        assert Path(run["outputs"][str(src / good)]).exists()
    assert run["counts"]["files_failed"] == len(cases)
    findings = [json.loads(x) for x in (out / "findings.jsonl").read_text().splitlines()]
    assert {Path(f["file"]).name for f in findings} == {"good.docx", "good.xlsx", "good.csv"}


def test_fixtures_are_real_files(tmp_path):
    """The hand-made OLE and encrypted files parse as what they claim to be."""
    import msoffcrypto
    import olefile
    (tmp_path / "a.doc").write_bytes(ole_file("WordDocument", 8192))
    ole = olefile.OleFileIO(str(tmp_path / "a.doc"))
    assert ole.listdir() == [["WordDocument"]] and len(ole.openstream("WordDocument").read()) == 8192
    ole.close()
    enc = encrypt(make_docx(tmp_path / "p.docx"), tmp_path / "enc.docx")
    with open(enc, "rb") as fh:
        assert msoffcrypto.OfficeFile(fh).is_encrypted()
    assert {"EncryptionInfo", "EncryptedPackage"} <= sniff_mod._ole_names(open(enc, "rb"))


def test_encrypted_found_by_directory_not_only_head(tmp_path):
    # a big compound file may keep its directory past the first 256 KB the byte search sees
    import olefile
    data = ole_file("EncryptedPackage", 300_000, v4=True, dir_last=True)
    assert "EncryptedPackage".encode("utf-16-le") not in data[:sniff_mod.HEAD]
    path = tmp_path / "enc.docx"
    path.write_bytes(data)
    with olefile.OleFileIO(str(path)) as ole:
        assert ole.listdir() == [["EncryptedPackage"]]
    with pytest.raises(InputError, match="enc.docx: the file is password-protected; remove the password"):
        sniff_mod.sniff(path)


@pytest.mark.parametrize("name,part", [("laughs.xlsx", "xl/sharedStrings.xml"), ("laughs.docx", "word/document.xml")])
def test_entity_bomb_refused_before_any_parser(tmp_path, monkeypatch, name, part):
    good = make_docx(tmp_path / "g.docx") if name.endswith("docx") else \
        with_strings(make_xlsx(tmp_path / "g0.xlsx"), tmp_path / "g.xlsx", shared_strings(1))
    with zipfile.ZipFile(good) as zf:
        body = zf.read(part)
    root = body.index(b"<", body.index(b"?>"))
    bad = rezip(good, tmp_path / name, {part: LAUGHS + b"<!-- " + b"pad " * 2000 + b"-->" + body[root:]})
    monkeypatch.setattr(openpyxl, "load_workbook", _never)
    monkeypatch.setattr("notesplugin.word_package.parse_xml", _never)
    with pytest.raises(InputError, match=f"{name}: .*entity declarations.*save it again"):
        readers.read(bad, Config())


def _never(*a, **k):
    raise AssertionError("a file library was asked to parse a refused file")


def test_zip_bomb_refused_from_headers(tmp_path, monkeypatch):
    small_caps(monkeypatch)
    bomb = zip_bomb(tmp_path / "bomb.xlsx", tmp_path)
    assert bomb.stat().st_size < 200_000
    read_calls = []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, n, *a, **k: read_calls.append(
        getattr(n, "filename", n)) or real_open(self, n, *a, **k))
    monkeypatch.setattr(openpyxl, "load_workbook", _never)
    with pytest.raises(InputError, match=r"bomb.xlsx: the workbook expands to 1\d MB \(over 4 MB\); split"):
        readers.read(bomb, Config())
    assert read_calls == []  # refused from the zip directory alone, before any part is inflated


def test_shipped_caps_are_sane():
    assert 64 * 2**20 <= safety.MAX_UNZIPPED <= 512 * 2**20
    assert safety.MAX_SHARED_STRINGS >= 100_000


@pytest.mark.parametrize("declared", [None, 5_000_000, 10])  # missing, honest, lying count
def test_many_shared_strings_refused(tmp_path, monkeypatch, declared):
    good = make_xlsx(tmp_path / "g.xlsx")
    bad = with_strings(good, tmp_path / "many.xlsx", shared_strings(1_050_000, declared))
    monkeypatch.setattr(openpyxl, "load_workbook", _never)
    with pytest.raises(InputError, match="many.xlsx: the workbook holds over 1,000,000 distinct text values"):
        readers.read(bad, Config())


def test_shared_strings_under_cap_and_split_tags_counted(tmp_path, monkeypatch):
    monkeypatch.setattr(safety, "_CHUNK", 7)  # tags split across every read
    monkeypatch.setattr(safety, "MAX_SHARED_STRINGS", 20)
    good = make_xlsx(tmp_path / "g.xlsx")
    ok = rezip(good, tmp_path / "ok.xlsx", {"xl/sharedStrings.xml": shared_strings(20)})
    with zipfile.ZipFile(ok) as zf:
        safety.check_package(zf, "ok.xlsx", "xlsx")
    bad = rezip(good, tmp_path / "bad.xlsx", {"xl/sharedStrings.xml": shared_strings(21)})
    with zipfile.ZipFile(bad) as zf, pytest.raises(InputError, match=r"\(21 counted\)"):
        safety.check_package(zf, "bad.xlsx", "xlsx")


def test_one_sniffer(tmp_path):
    """The readers hold no sniffing of their own: they go through readers.sniff.require."""
    import inspect

    from notesplugin.readers import docx_reader, xlsx_reader
    for mod in (docx_reader, xlsx_reader):
        src = inspect.getsource(mod)
        assert "\\xd0\\xcf" not in src and "PK\\x03" not in src and "MAX_UNZIPPED" not in src
        assert "require(path" in src
    # and the writers' own re-open of their temp file (named .part) still gets the content checks
    bad = tmp_path / ".x.docx.abc123.part"
    bad.write_bytes(ole_file("WordDocument"))
    with pytest.raises(InputError, match="legacy Word .doc"):
        docx_reader.open_docx(bad)


def test_absurdly_long_note_skipped_with_warning(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    marker = "Zebraquux"
    long_note = (marker + " talked. ") * 30_000  # ~480k chars, over the 200k default
    (src / "long.csv").write_text(f'Note ID,Note\nbig,"{long_note}"\nsmall,"{FLAG}"\n', encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["scan", str(src), "--out", str(out), "--no-ledger"])
    assert result.exit_code == 0, result.output
    assert "note big is longer than 200000 characters and was not checked" in result.output
    assert marker not in result.output + result.stderr
    run = json.loads((out / "run.json").read_text())
    assert run["counts"]["notes"] == 1 and run["counts"]["rescuing_flagged"] == 1
    # the skipped note is still in the annotated copy, unchanged
    assert long_note in (out / "long.annotated.csv").read_text(encoding="utf-8")


def test_absurd_note_limit_from_config_in_docx_and_xlsx(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    make_docx(src / "a.docx", ["Note ID: d1", "Clinician: Dr A", "x " * 800, "Note ID: d2", "Clinician: Dr A", FLAG])
    make_xlsx(src / "b.xlsx", [("Note ID", "Note"), ("x1", "y " * 800), ("x2", FLAG)])
    cfg = tmp_path / "notesplugin.toml"
    cfg.write_text("[limits]\nmax_note_chars = 1000\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["scan", str(src), "--out", str(out), "--no-ledger", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert "note d1 is longer than 1000" in result.output and "note x1 is longer than 1000" in result.output
    run = json.loads((out / "run.json").read_text())
    assert run["counts"]["notes"] == 2 and run["counts"]["rescuing_flagged"] == 2


def _vba_book(path: Path, vba: bytes) -> Path:
    base = make_xlsx(path.with_suffix(".base.xlsx"))
    with zipfile.ZipFile(base) as zf:
        types = zf.read("[Content_Types].xml")
        rels = zf.read("xl/_rels/workbook.xml.rels")
    types = types.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                          b"application/vnd.ms-excel.sheet.macroEnabled.main+xml").replace(
        b"</Types>", b'<Override PartName="/xl/vbaProject.bin" ContentType="application/vnd.ms-office.vbaProject"/>'
                     b"</Types>")
    rels = rels.replace(b"</Relationships>", b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/'
                        b'office/2006/relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')
    rezip(base, path, {"[Content_Types].xml": types, "xl/_rels/workbook.xml.rels": rels, "xl/vbaProject.bin": vba})
    base.unlink()
    return path


def test_xlsm_macros_survive_a_scan(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    vba = bytes(range(256)) * 64 + b"Attribute VB_Name"
    _vba_book(src / "macro.xlsm", vba)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["scan", str(src), "--out", str(out), "--no-ledger"])
    assert result.exit_code == 0, result.output
    copy = out / "macro.annotated.xlsm"
    with zipfile.ZipFile(copy) as zf:
        assert zf.read("xl/vbaProject.bin") == vba
        assert b"macroEnabled" in zf.read("[Content_Types].xml")
    wb = openpyxl.load_workbook(copy)
    assert wb["Notes"]["C2"].value == FLAG and wb["Notes"]["D1"].value == "Rescuing items"


def test_images_survive_a_scan(tmp_path):
    from openpyxl.drawing.image import Image as XLImage
    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (7, 5), (200, 30, 30)).save(png, format="PNG")
    src = tmp_path / "in"
    src.mkdir()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Notes"
    ws.append(["Note ID", "Note"])
    ws.append(["i1", FLAG])
    ws.add_image(XLImage(io.BytesIO(png.getvalue())), "E2")
    wb.save(src / "pic.xlsx")
    with zipfile.ZipFile(src / "pic.xlsx") as zf:
        before = [zf.read(n) for n in zf.namelist() if n.startswith("xl/media/")]
    assert len(before) == 1
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["scan", str(src), "--out", str(out), "--no-ledger"])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out / "pic.annotated.xlsx") as zf:
        after = [zf.read(n) for n in zf.namelist() if n.startswith("xl/media/")]
        assert any(n.startswith("xl/drawings/") for n in zf.namelist())
    assert after == before


def test_no_note_column_error_never_quotes_note_text(tmp_path):
    import openpyxl
    from click.testing import CliRunner

    from notesplugin.cli import main

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["a1", "b1"])
    ws.append(["x", "Told Zebraquux it was fine.", "Quuxzebra sobbed, then we moved on", "y"])
    path = tmp_path / "odd.xlsx"
    wb.save(path)
    res = CliRunner().invoke(main, ["scan", str(path), "--out", str(tmp_path / "out"), "--no-ledger"])
    assert res.exit_code == 3
    assert "no note column" in res.output
    assert "Zebraquux" not in res.output and "Quuxzebra" not in res.output


@pytest.mark.parametrize("merged", ["E1:F1", "D2:H2", "A4:B4", "E1:G3"])  # header row, note row, below, both
def test_merged_cells_beside_the_data(tmp_path, merged):
    """#12 item 5: merged cells to the right of the data no longer crash the writer."""
    src = tmp_path / "in"
    src.mkdir()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Notes"
    for row in (("Note ID", "Clinician", "Note"), ("n1", "Dr A", FLAG), ("n2", "Dr A", FLAG)):
        ws.append(list(row))
    ws.merge_cells(merged)
    wb.save(src / "merged.xlsx")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["scan", str(src), "--out", str(out), "--no-ledger"])
    assert result.exit_code == 0, result.output
    copy = openpyxl.load_workbook(out / "merged.annotated.xlsx")["Notes"]
    assert [str(r) for r in copy.merged_cells.ranges] == [merged]  # the original merge is kept
    headers = [c.value for c in copy[1]]
    start = headers.index("Rescuing items") + 1
    assert start > next(iter(copy.merged_cells.ranges)).max_col  # never written into a merged range
    assert copy.cell(2, start).value and "R3" in copy.cell(2, start).value


# ---- what is in the folder besides exports (#12 items 9, 11, 20) ------------------------

def _scan_subprocess(src: Path, out: Path, tmp: Path):
    """A real process with a deadline: a scan that blocks (on a FIFO) fails the test instead of hanging it."""
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTESPLUGIN")}
    env.update(XDG_CONFIG_HOME=str(tmp / "xdg-config"), XDG_DATA_HOME=str(tmp / "xdg-data"), HOME=str(tmp))
    return subprocess.run([sys.executable, "-m", "notesplugin.cli", "scan", str(src), "--out", str(out),
                           "--no-ledger", "-q"], capture_output=True, text=True, timeout=120, cwd=tmp, env=env)


def test_symlink_loop_fifo_and_dangling_link_each_one_line(tmp_path):
    import os
    src = tmp_path / "in"
    src.mkdir()
    make_csv(src / "good.csv")
    os.symlink("loop-b.csv", src / "loop-a.csv")  # two links pointing at each other
    os.symlink("loop-a.csv", src / "loop-b.csv")
    os.symlink("gone.xlsx", src / "dangling.xlsx")
    os.mkfifo(src / "pipe.csv")
    os.mkdir(src / "folder.docx")  # a folder named like an export is walked, not read
    make_docx(src / "folder.docx" / "inner.docx")
    os.symlink(src / "good.csv", src / "alias.csv")  # a link to a file already scanned: read once
    before = {p.name: (p.read_bytes() if p.is_file() and not p.is_symlink() else None) for p in src.iterdir()}
    proc = _scan_subprocess(src, tmp_path / "out", tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 4, lines
    line = {n: next(x for x in lines if f" {n}:" in x) for n in ("loop-a.csv", "loop-b.csv", "dangling.xlsx",
                                                                  "pipe.csv")}
    assert "a symbolic link that loops" in line["loop-a.csv"] and "loops" in line["loop-b.csv"]
    assert "a symbolic link to a missing file" in line["dangling.xlsx"]
    assert "not a regular file (a named pipe)" in line["pipe.csv"] and "only regular files are read" in line["pipe.csv"]
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["files"][str(src / "good.csv")] == "ok"
    assert run["files"][str(src / "folder.docx" / "inner.docx")] == "ok"
    assert str(src / "alias.csv") not in run["files"]
    assert {p.name: (p.read_bytes() if p.is_file() and not p.is_symlink() else None) for p in src.iterdir()} == before


UNREAD = {"notes.ods": "OpenDocument spreadsheet", "notes.odt": "OpenDocument text",
          "notes.rtf": "Rich Text", "notes.txt": "plain-text file", "notes.xlsb": "Excel binary workbook",
          "notes.dotx": "Word template", "notes.pages": "Apple Pages", "notes.numbers": "Apple Numbers",
          "notes.tsv": "tab-separated"}


def test_unread_types_each_named_with_the_fix(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    make_csv(src / "good.csv")
    for name in UNREAD:
        (src / name).write_bytes(b"PK\x03\x04 whatever is inside")
    (src / "photo.png").write_bytes(b"\x89PNG")  # not a document type: not the notes, left alone
    result = CliRunner().invoke(main, ["scan", str(src), "--out", str(tmp_path / "out"), "--no-ledger"])
    assert result.exit_code == 3, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(UNREAD)
    for name, kind in UNREAD.items():
        mine = [x for x in lines if f"{name}:" in x]
        assert len(mine) == 1 and kind in mine[0] and "not read" in mine[0], (name, mine)
        assert "save it as" in mine[0] or "export" in mine[0], mine
    assert "photo.png" not in result.stderr


# ---- one huge text value (#12 item 21) ---------------------------------------------------

def shared_string_book(path: Path, tmp: Path, texts: list[bytes]) -> Path:
    """A Notes sheet (Note ID, Note; one note) whose cells point into a shared-strings part, as Excel writes."""
    good = make_xlsx(tmp / f"{path.stem}-base.xlsx", [("Note ID", "Note"), ("n1", "x")])
    with zipfile.ZipFile(good) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml")
    for i, t in enumerate([b"Note ID", b"Note", b"n1", b"x"]):
        sheet = sheet.replace(b't="inlineStr"><is><t>' + t + b"</t></is>", b't="s"><v>%d</v>' % i)
    sst = (b'<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
           b'2006/main" count="4" uniqueCount="4">' + b"".join(b"<si><t>" + t + b"</t></si>" for t in texts)
           + b"</sst>")
    mid = with_strings(good, tmp / f"{path.stem}-mid.xlsx", sst)
    return rezip(mid, path, {"xl/worksheets/sheet1.xml": sheet})


def test_one_huge_shared_string_refused_before_openpyxl(tmp_path, monkeypatch):
    monkeypatch.setattr(safety, "MAX_TEXT_VALUE", 2**20)  # the shipped cap, at 1 MB: same check, small file
    monkeypatch.setattr(safety, "_CHUNK", 64 * 1024)  # the value spans many reads
    ok = shared_string_book(tmp_path / "ok.xlsx", tmp_path, [b"Note ID", b"Note", b"n1", FLAG.encode() * 5000])
    assert readers.read(ok, Config())[1].notes[0].text.startswith(FLAG)  # 430 KB: read
    big = shared_string_book(tmp_path / "big.xlsx", tmp_path, [b"Note ID", b"Note", b"n1", b"Client cried. " * 80_000])
    monkeypatch.setattr(openpyxl, "load_workbook", _never)
    with pytest.raises(InputError, match=r"big.xlsx: the workbook holds one text value of 1.1 MB "
                                         r"\(over 1 MB\); no note is that long: .*split"):
        readers.read(big, Config())


def test_text_value_cap_is_above_any_note_the_limit_lets_through():
    # a note at the default max_note_chars, every character 4 UTF-8 bytes or an escaped '&' (5): still under
    assert safety.MAX_TEXT_VALUE >= 5 * Config().max_note_chars
    assert safety.MAX_TEXT_VALUE <= 16 * 2**20


# ---- a summary sheet is not a notes sheet (#12 item 6) --------------------------------------

def _summary_sheet(wb, values) -> None:
    ws = wb.create_sheet("Summary")
    ws.append(["Clinician", "Notes"])
    for clinician, value in values:
        ws.append([clinician, value])


def test_summary_sheet_of_formulas_is_not_read_or_annotated(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    for row in (("Note ID", "Clinician", "Note"), ("n1", "Dr A", FLAG), ("n2", "Dr B", FLAG)):
        wb.active.append(list(row))
    _summary_sheet(wb, [("Dr A", '=COUNTIF(Notes!B:B,"Dr A")'), ("Dr B", '=COUNTIF(Notes!B:B,"Dr B")'),
                        ("Total", 2)])
    wb.save(src / "book.xlsx")
    before = (src / "book.xlsx").read_bytes()
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["scan", str(src), "--out", str(out), "--no-ledger"])
    assert result.exit_code == 0, result.output
    assert "skipped" not in result.output.replace("0 skipped", "")  # the summary rows are not 'notes skipped'
    run = json.loads((out / "run.json").read_text())
    assert run["counts"]["notes"] == 2 and run["counts"]["notes_skipped"] == 0
    copy = openpyxl.load_workbook(out / "book.annotated.xlsx")
    assert [c.value for c in copy["Summary"][1]] == ["Clinician", "Notes"]  # no annotation columns
    assert copy["Summary"]["B2"].value == '=COUNTIF(Notes!B:B,"Dr A")'  # formulas kept as formulas
    assert "Rescuing items" in [c.value for c in copy["Notes"][1]]
    assert (src / "book.xlsx").read_bytes() == before


def test_only_a_summary_sheet_is_one_line(tmp_path):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    _summary_sheet(wb, [("Dr A", "=1+2"), ("Dr B", 7)])
    wb.save(tmp_path / "totals.xlsx")
    with pytest.raises(InputError, match="totals.xlsx: no note text found: the note column of sheet 'Summary' "
                                         "holds formulas or numbers"):
        readers.read(tmp_path / "totals.xlsx", Config())


def test_numbers_in_a_real_note_column_are_rows_without_text(tmp_path):
    path = make_xlsx(tmp_path / "mixed.xlsx", [("Note ID", "Note"), ("n1", FLAG), ("n2", 42), ("n3", "=1+1")])
    kind, result = readers.read(path, Config())
    assert [n.note_id for n in result.notes] == ["n1"]
    assert result.warnings[0] == "mixed.xlsx: 1 rows without note text skipped"  # the number
    assert "1 row(s) skipped whose note cell is a formula" in result.warnings[1]  # the formula, named with its fix


# ---- all of it at once (#12, "Done when") -------------------------------------------------

def test_every_bad_case_at_once(tmp_path):
    """One folder holding every bad case of issue 12 that a file can carry, plus good files, in a real
    process with a deadline: exit 3, one line per bad file, no traceback, nothing hung, every good file
    annotated, the inputs byte-identical. The scan runs with --jobs 2 and a practice cue that backtracks."""
    import hashlib
    import os
    import subprocess
    import sys
    src = tmp_path / "in"
    src.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    cases = build_bad(src, work)  # the earlier bad files; the bombs below at the shipped caps (no monkeypatch
    with zipfile.ZipFile(src / "bomb.xlsx", "a", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:  # in a subprocess)
        with zf.open("xl/media/more.bin", "w") as fh:
            for _ in range(safety.MAX_UNZIPPED // 2**20):
                fh.write(b"\0" * 2**20)
    assert (src / "bomb.xlsx").stat().st_size < 2 * 2**20
    os.symlink("loop-b.csv", src / "loop-a.csv")
    os.symlink("loop-a.csv", src / "loop-b.csv")
    cases.update({"loop-a.csv": "loops back on itself", "loop-b.csv": "loops back on itself"})
    os.mkfifo(src / "pipe.csv")
    cases["pipe.csv"] = "not a regular file (a named pipe)"
    for name, kind in UNREAD.items():
        (src / name).write_bytes(b"anything")
        cases[name] = kind
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    _summary_sheet(wb, [("Dr A", "=1+2")])
    wb.save(src / "totals.xlsx")
    cases["totals.xlsx"] = "holds formulas or numbers"
    shared_string_book(src / "huge-cell.xlsx", work, [b"Note ID", b"Note", b"n1", b"Client cried. " * 320_000])
    cases["huge-cell.xlsx"] = "one text value of 4.3 MB"
    good = {"good.docx": make_docx(src / "good.docx"), "good.csv": make_csv(src / "good.csv")}
    wb = openpyxl.Workbook()  # good, with a merged cell beside the data and a summary sheet of formulas
    wb.active.title = "Notes"
    for row in (("Note ID", "Clinician", "Note"), ("n1", "Dr A", FLAG)):
        wb.active.append(list(row))
    wb.active.merge_cells("E1:F2")
    _summary_sheet(wb, [("Dr A", '=COUNTIF(Notes!B:B,"Dr A")')])
    wb.save(src / "merged.xlsx")
    good["merged.xlsx"] = src / "merged.xlsx"
    (src / "practice.toml").write_text('checklist = "rescuing"\n[[item]]\nid = "X1"\nname = "x"\nactor = "any"\n'
                                       "cues = ['''(a+)+$''']\n")  # .toml: not a document type, not scanned
    (src / "notes.toml").write_text('[checklists]\nfiles = ["practice.toml"]\n')
    (src / "slow.csv").write_text("Note ID,Note\ns1,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\n", encoding="utf-8")
    good["slow.csv"] = src / "slow.csv"

    def digests() -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in src.iterdir()
                if p.is_file() and not p.is_symlink() and not p.is_fifo()}
    before = digests()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTESPLUGIN")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "xdg"), XDG_DATA_HOME=str(tmp_path / "xdg"), HOME=str(tmp_path))
    out = tmp_path / "out"
    try:
        proc = subprocess.run([sys.executable, "-m", "notesplugin.cli", "scan", str(src), "--out", str(out),
                               "--no-ledger", "--jobs", "2", "--config", str(src / "notes.toml"), "-q"],
                              capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail("the scan hung")
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == len(cases), "\n".join(lines)
    for name, expect in cases.items():
        mine = [line for line in lines if f" {name}:" in line]
        assert len(mine) == 1 and expect in mine[0], (name, mine)
    run = json.loads((out / "run.json").read_text())
    assert run["counts"]["files_failed"] == len(cases)
    for name in good:
        assert run["files"][str(src / name)] == "ok", name
        assert Path(run["outputs"][str(src / name)]).exists()
    assert digests() == before


def test_a_sheet_whose_xml_is_broken_is_one_line_with_the_fix(tmp_path):
    # Read-only openpyxl parses a sheet as its rows are read, after the workbook opened fine:
    # the ParseError used to be reported as an internal error with no fix.
    good = make_xlsx(tmp_path / "good.xlsx")
    with zipfile.ZipFile(good) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml")
    bad = rezip(good, tmp_path / "bad.xlsx", {"xl/worksheets/sheet1.xml": sheet[: len(sheet) // 2]})
    with pytest.raises(InputError, match=r"^bad\.xlsx: not a usable workbook \(ParseError in a sheet\); open it in Excel"):
        readers.read(bad, Config())


def test_a_folder_holding_only_a_zip_of_exports_says_to_unzip_it(tmp_path):
    src = tmp_path / "download"
    src.mkdir()
    (src / "export.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    result = CliRunner().invoke(main, ["scan", str(src), "--out", str(tmp_path / "out"), "--no-ledger"])
    assert result.exit_code == 2
    assert "export.zip is an archive: unzip it" in result.stderr


def test_a_linked_folder_is_walked_once_and_a_link_to_a_parent_is_no_loop(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    make_csv(elsewhere / "linked.csv")
    src = tmp_path / "in"
    src.mkdir()
    make_csv(src / "own.csv")
    os.symlink(elsewhere, src / "week2")  # the practice links last week's export folder in
    os.symlink(src, src / "again")  # and a link back up
    result = CliRunner().invoke(main, ["scan", str(src), "--out", str(tmp_path / "out"), "--no-ledger"])
    assert result.exit_code == 0, result.output
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert sorted(Path(k).name for k in run["files"]) == ["linked.csv", "own.csv"]


def test_a_file_name_too_long_for_its_annotated_copy_gets_a_shortened_copy(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    long = src / ("Progress notes export " + "x" * 220 + ".csv")  # fits 255 bytes; ".annotated" would not
    make_csv(long)
    result = CliRunner().invoke(main, ["scan", str(src), "--out", str(tmp_path / "out"), "--no-ledger"])
    assert result.exit_code == 0, result.output
    [copy] = (tmp_path / "out").glob("*.annotated.csv")
    assert len(copy.name.encode()) <= 255 and copy.name.startswith("Progress notes export xxx") and "~." in copy.name
