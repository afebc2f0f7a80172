"""The workbook-level parts an annotated copy changes: workbook.xml (a new sheet),
docProps/app.xml (the sheet counted), styles.xml (header styles appended, existing
indices kept) and a sheet's legacy comments + VML drawing (ours merged with the ones
already there)."""
from __future__ import annotations

import copy
import re

from lxml import etree

from notesplugin.writers.opc import Package, escape, resolve

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
OFFICE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
RT_DOC = f"{OFFICE_REL}/officeDocument"
RT_SHEET = f"{OFFICE_REL}/worksheet"
RT_STYLES = f"{OFFICE_REL}/styles"
RT_COMMENTS = f"{OFFICE_REL}/comments"
RT_VML = f"{OFFICE_REL}/vmlDrawing"
RT_APP = f"{OFFICE_REL}/extended-properties"
EXT_PROPS = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"
VT = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_COMMENTS = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
CT_VML = "application/vnd.openxmlformats-officedocument.vmlDrawing"
M = f"{{{MAIN}}}"


def _xml(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


class Book:
    """workbook.xml: sheet titles -> worksheet parts; adds a sheet by inserting one <sheet>."""

    def __init__(self, pkg: Package):
        self.pkg = pkg
        docs = [resolve("", r["Target"]) for r in pkg.rels("") if r.get("Type") == RT_DOC]
        self.part = docs[0] if docs else "xl/workbook.xml"
        root = etree.fromstring(pkg.read(self.part))
        targets = pkg.targets(self.part, RT_SHEET)
        self.sheets = [(s.get("name"), int(s.get("sheetId", "0")), s.get(f"{{{OFFICE_REL}}}id"))
                       for s in root.iterfind(f"{M}sheets/{M}sheet")]
        self.parts = {name: targets[rid] for name, _, rid in self.sheets if rid in targets}

    def unique_title(self, base: str) -> str:
        taken = {name.lower() for name, _, _ in self.sheets}
        title, n = base, 1
        while title.lower() in taken:
            n += 1
            title = f"{base} {n}"
        return title

    def add_sheet(self, title: str, xml: bytes) -> str:
        pkg = self.pkg
        part = pkg.unique("xl/worksheets/sheet{}.xml")
        pkg.put(part, xml)
        pkg.content_type(part, CT_SHEET)
        rid = pkg.add_rel(self.part, RT_SHEET, part)
        book = pkg.read(self.part)
        m = re.search(rb"</(\w+:)?sheets>", book)
        prefix = m.group(1) or b""
        sheet_id = max((i for _, i, _ in self.sheets), default=0) + 1
        element = b'<%ssheet xmlns:r="%s" name="%s" sheetId="%d" r:id="%s"/>' % (
            prefix, OFFICE_REL.encode(), escape(title).encode("utf-8"), sheet_id, rid.encode())
        pkg.put(self.part, book[:m.start()] + element + book[m.start():])
        return part


def count_sheet(pkg: Package, book: Book, title: str) -> None:
    """docProps/app.xml as Excel writes it lists the worksheets' titles (TitlesOfParts) under a
    heading with their count (HeadingPairs: "Worksheets", in Excel's own language): the new sheet
    joins that group, so the document properties agree with the workbook. The group is the one
    whose titles are the workbook's worksheets; an app.xml without one (openpyxl writes none) is
    left as it is. Call before book.add_sheet."""
    parts = [resolve("", r["Target"]) for r in pkg.rels("") if r.get("Type") == RT_APP]
    if not parts or not pkg.has(parts[0]):
        return
    root = etree.fromstring(pkg.read(parts[0]))
    pairs = root.find(f"{{{EXT_PROPS}}}HeadingPairs/{{{VT}}}vector")
    titles = root.find(f"{{{EXT_PROPS}}}TitlesOfParts/{{{VT}}}vector")
    if pairs is None or titles is None:
        return
    worksheets = {name for name, _, _ in book.sheets if name in book.parts}
    variants, names, at = list(pairs), list(titles), 0
    for k in range(0, len(variants) - 1, 2):
        count = variants[k + 1][0] if len(variants[k + 1]) else None
        if count is None or not (count.text or "").strip().isdigit():
            return  # not a layout we know: change nothing
        n = int(count.text)
        group = names[at:at + n]
        if group and {e.text for e in group} == worksheets:
            added = etree.Element(group[-1].tag)
            added.text = title
            titles.insert(titles.index(group[-1]) + 1, added)
            count.text = str(n + 1)
            titles.set("size", str(len(titles)))
            pkg.put(parts[0], _xml(root))
            return
        at += n


class Styles:
    """styles.xml: bold copies of cell formats appended; nothing existing moves."""

    def __init__(self, pkg: Package, book: Book):
        self.pkg = pkg
        parts = list(pkg.targets(book.part, RT_STYLES).values())
        self.part = parts[0] if parts and pkg.has(parts[0]) else None
        self.root = etree.fromstring(pkg.read(self.part)) if self.part else None
        self.memo: dict[tuple, int] = {}

    def _append(self, parent_tag: str, element) -> int:
        parent = self.root.find(f"{M}{parent_tag}")
        parent.append(element)
        parent.set("count", str(len(parent)))
        return len(parent) - 1

    def derived(self, base: int, bold: bool = False, quote: bool = False) -> int:
        """Index of a cell format like `base`, made bold and/or quote-prefixed (0 without styles.xml)."""
        if self.root is None:
            return 0
        key = (base, bold, quote)
        if key not in self.memo:
            xfs = self.root.find(f"{M}cellXfs")
            fonts = self.root.find(f"{M}fonts")
            if xfs is None or fonts is None or not len(xfs):
                return 0
            xf = copy.deepcopy(xfs[base if base < len(xfs) else 0])
            if bold:
                font_id = int(xf.get("fontId", "0"))
                font = copy.deepcopy(fonts[font_id if font_id < len(fonts) else 0])
                if font.find(f"{M}b") is None:
                    font.insert(0, etree.Element(f"{M}b"))
                xf.set("fontId", str(self._append("fonts", font)))
                xf.set("applyFont", "1")
            if quote:
                xf.set("quotePrefix", "1")
            self.memo[key] = self._append("cellXfs", xf)
        return self.memo[key]

    def save(self) -> None:
        if self.memo:
            self.pkg.put(self.part, _xml(self.root))


# ---- comments -------------------------------------------------------------------------

VML_HEAD = ('<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
            'xmlns:x="urn:schemas-microsoft-com:office:excel">'
            '<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{idmap}"/></o:shapelayout>')
VML_TYPE = ('<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe">'
            '<v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>')
VML_SHAPE = ('<v:shape id="_x0000_s{id}" type="#_x0000_t202" style="position:absolute;margin-left:59.25pt;'
             'margin-top:1.5pt;width:270pt;height:{height}pt;z-index:{z};visibility:hidden" fillcolor="#ffffe1" '
             'o:insetmode="auto"><v:fill color2="#ffffe1"/><v:shadow on="t" color="black" obscured="t"/>'
             '<v:path o:connecttype="none"/><v:textbox style="mso-direction-alt:auto">'
             '<div style="text-align:left"></div></v:textbox><x:ClientData ObjectType="Note"><x:MoveWithCells/>'
             '<x:SizeWithCells/><x:AutoFill>False</x:AutoFill><x:Row>{row}</x:Row><x:Column>{col}</x:Column>'
             '</x:ClientData></v:shape>')


def _box_height(text: str) -> int:
    lines = text.count("\n") + 1 + len(text) // 60
    return min(450, 15 + 11 * lines)


def _append_text(comment, text: str) -> None:
    body = comment.find(f"{M}text")
    if body is None:
        body = etree.SubElement(comment, f"{M}text")
    plain = body.find(f"{M}t")
    if plain is not None and body.find(f"{M}r") is None:
        plain.text = (plain.text or "") + text
        return
    run = etree.SubElement(etree.SubElement(body, f"{M}r"), f"{M}t")
    run.text = text
    run.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")


def merge_comments(pkg: Package, sheet_part: str, legacy_rid: str | None, notes: dict[tuple[int, int], str],
                   author: str) -> str | None:
    """Our comment texts by (row, column) into the sheet's legacy comments: appended to a comment
    already on the cell (its author kept), else a new comment and a VML box. Returns the rId of a
    new VML drawing the sheet must reference (None when it already has one)."""
    from openpyxl.utils import get_column_letter

    comments = list(pkg.targets(sheet_part, RT_COMMENTS).values())
    if comments:
        part = comments[0]
        root = etree.fromstring(pkg.read(part))
    else:
        part = pkg.unique("xl/comments{}.xml")
        root = etree.Element(f"{M}comments", nsmap={None: MAIN})
        pkg.add_rel(sheet_part, RT_COMMENTS, part)
        pkg.content_type(part, CT_COMMENTS)
    authors = root.find(f"{M}authors")
    if authors is None:
        authors = etree.Element(f"{M}authors")
        root.insert(0, authors)
    names = [a.text or "" for a in authors]
    if author not in names:
        etree.SubElement(authors, f"{M}author").text = author
        names.append(author)
    clist = root.find(f"{M}commentList")
    if clist is None:
        clist = etree.SubElement(root, f"{M}commentList")
    by_ref = {c.get("ref"): c for c in clist}
    new: list[tuple[int, int, str]] = []
    for (row, col), text in sorted(notes.items()):
        ref = f"{get_column_letter(col)}{row}"
        if ref in by_ref:
            _append_text(by_ref[ref], "\n\n" + text)
            continue
        c = etree.SubElement(clist, f"{M}comment", ref=ref, authorId=str(names.index(author)))
        t = etree.SubElement(etree.SubElement(c, f"{M}text"), f"{M}t")
        t.text = text
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        new.append((row, col, text))
    pkg.put(part, _xml(root))
    if not new:
        return None
    vml_part = pkg.targets(sheet_part, RT_VML).get(legacy_rid) if legacy_rid else None
    if vml_part and pkg.has(vml_part):
        vml = pkg.read(vml_part).decode("utf-8", "surrogateescape")
        first = max((int(n) for n in re.findall(r"_x0000_s(\d+)", vml)), default=1024) + 1
        shapes = "".join(VML_SHAPE.format(id=first + i, height=_box_height(t), z=first + i, row=r - 1, col=c - 1)
                         for i, (r, c, t) in enumerate(new))
        if "_x0000_t202" not in vml:
            shapes = VML_TYPE + shapes
        cut = vml.rindex("</xml>")
        pkg.put(vml_part, (vml[:cut] + shapes + vml[cut:]).encode("utf-8", "surrogateescape"))
        return None
    idmap = 1 + max((int(n) for name in pkg.names | set(pkg.changed) if name.endswith(".vml")
                     for n in re.findall(rb'data="(\d+)', pkg.read(name))), default=0)
    first = idmap * 1024 + 1
    shapes = "".join(VML_SHAPE.format(id=first + i, height=_box_height(t), z=i + 1, row=r - 1, col=c - 1)
                     for i, (r, c, t) in enumerate(new))
    vml_part = pkg.unique("xl/drawings/vmlDrawing{}.vml")
    pkg.put(vml_part, (VML_HEAD.format(idmap=idmap) + VML_TYPE + shapes + "</xml>").encode("utf-8"))
    pkg.default_type("vml", CT_VML)
    return pkg.add_rel(sheet_part, RT_VML, vml_part)
