"""Worksheet XML patched as bytes: new cells appended to rows (rows created where
missing), column widths, dimension and a legacyDrawing reference. Everything
else in the sheet (cells, formulas, sparklines, data validations, extensions)
is copied byte for byte."""
from __future__ import annotations

import re
from dataclasses import dataclass

from openpyxl.utils import column_index_from_string, get_column_letter

from notesplugin.writers.opc import attrs, escape

REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_ROOT = re.compile(rb"<(\w+:)?worksheet\b")
_REF = re.compile(rb"([A-Z]+)(\d+)")
# Elements that follow legacyDrawing in a worksheet (CT_Worksheet order); mc:AlternateContent
# wraps oleObjects/controls there.
_AFTER_LEGACY = (b"legacyDrawingHF", b"drawingHF", b"picture", b"oleObjects", b"controls", b"webPublishItems",
                 b"tableParts", b"extLst")


@dataclass
class Sheet:
    xml: bytes
    p: bytes  # the main namespace's prefix with its colon, usually b""

    @classmethod
    def parse(cls, xml: bytes) -> "Sheet":
        m = _ROOT.search(xml)
        return cls(xml, m.group(1) or b"" if m else b"")

    def _data(self) -> tuple[int, int, int]:
        """(start of rows, end of rows, end of the sheetData element)."""
        p = self.p
        m = re.search(rb"<" + re.escape(p) + rb"sheetData\b[^>]*?(/?)>", self.xml)
        if m is None:
            raise ValueError("no sheetData")
        if m.group(1):
            return m.end(), m.end(), m.end()
        end = self.xml.index(b"</" + p + b"sheetData>", m.end())
        return m.end(), end, end + len(b"</" + p + b"sheetData>")

    def rows(self):
        """(row number, start, end, open tag, body or None for <row/>) of every row."""
        p = re.escape(self.p)
        start, end, _ = self._data()
        row_re = re.compile(rb"<" + p + rb"row\b([^>]*?)(/?)>")
        close = b"</" + self.p + b"row>"
        pos, number = start, 0
        while True:
            m = row_re.search(self.xml, pos, end)
            if m is None:
                return
            r = attrs(m.group(1)).get(b"r")
            number = int(r) if r else number + 1
            if m.group(2):
                yield number, m.start(), m.end(), m.group(0)[:-2].rstrip() + b">", None
                pos = m.end()
            else:
                stop = self.xml.index(close, m.end())
                yield number, m.start(), stop + len(close), m.group(0), self.xml[m.end():stop]
                pos = stop + len(close)

    def cells(self, body: bytes, number: int):
        """(column, attributes, has value) of the cells of one row body."""
        p = re.escape(self.p)
        col = 0
        for m in re.finditer(rb"<" + p + rb"c\b([^>]*?)(/>|>(.*?)</" + p + rb"c>)", body, re.S):
            a = attrs(m.group(1))
            ref = _REF.fullmatch(a.get(b"r", b""))
            col = column_index_from_string(ref.group(1).decode()) if ref else col + 1
            inner = m.group(3) or b""
            yield col, a, bool(re.search(rb"<" + p + rb"(v|f|is)\b", inner))

    def extent(self, header_row: int, header_col: int) -> tuple[int, int | None]:
        """(last column holding a value anywhere, style index of the header cell)."""
        start, end, _ = self._data()
        p = re.escape(self.p)
        letters = set(re.findall(rb"<" + p + rb'c\b[^>]*?\br="([A-Z]+)\d+"[^>]*>\s*<' + p + rb"(?:v|f|is)\b",
                                 self.xml[start:end]))
        if re.search(rb"<" + p + rb"c(?![^>]*\br=)[\s/>]", self.xml[start:end]):
            last, style = self._extent_slow(header_row, header_col)  # cells without a reference: count them
            return max(last, self._merged_last()), style
        # Past merged ranges too: a cell written inside one is hidden under the merge.
        last = max((column_index_from_string(c.decode()) for c in letters), default=self._merged_last())
        last = max(last, self._merged_last())
        ref = f"{get_column_letter(header_col)}{header_row}".encode()
        m = re.search(rb"<" + p + rb'c\b([^>]*?\br="' + ref + rb'"[^>]*)>', self.xml[start:end])
        style = attrs(m.group(1)).get(b"s") if m else None
        return last, int(style) if style else None

    def _merged_last(self) -> int:
        ends = re.findall(rb"<" + re.escape(self.p) + rb'mergeCell\b[^>]*?\bref="[A-Z]+\d+:([A-Z]+)\d+"', self.xml)
        return max((column_index_from_string(c.decode()) for c in ends), default=0)

    def _extent_slow(self, header_row: int, header_col: int) -> tuple[int, int | None]:
        last, style = 0, None
        for number, _, _, _, body in self.rows():
            if body is None:
                continue
            for col, a, valued in self.cells(body, number):
                if valued:
                    last = max(last, col)
                if number == header_row and col == header_col and b"s" in a:
                    style = int(a[b"s"])
        return last, style

    def patch(self, added: dict[int, bytes], widths: dict[int, float], legacy_rid: str | None) -> bytes:
        """added: row -> cell XML to append; widths: column -> width; legacy_rid: a new legacyDrawing."""
        xml, p = self.xml, self.p
        start, end, data_end = self._data()
        out: list[bytes] = []
        todo = sorted(added)
        at = 0
        pos = start
        for number, r_start, r_end, tag, body in self.rows():
            if at == len(todo) or todo[at] > number:
                continue
            out.append(xml[pos:r_start])
            pos = r_start
            while todo[at] < number:  # rows the sheet lacks, created in order
                out.append(self._row(todo[at], added[todo[at]]))
                at += 1
                if at == len(todo):
                    break
            if at < len(todo) and todo[at] == number:
                out.append(re.sub(rb'\sspans="[^"]*"', b"", tag) + (body or b"") + added[number]
                               + b"</" + p + b"row>")
                pos = r_end
                at += 1
        out.append(xml[pos:end])
        out.extend(self._row(n, added[n]) for n in todo[at:])
        rows_xml = b"".join(out)
        head = xml[:start]
        if start == end:  # <sheetData/>: give it a body
            head = re.sub(rb"/>$", b">", head)
            rows_xml += b"</" + p + b"sheetData>"
        tail = xml[end:] if start != end else xml[data_end:]
        head = self._cols(self._dimension(head, max(widths, default=0), max(added, default=0)), widths)
        if legacy_rid:
            tail = self._legacy(tail, legacy_rid)
        return head + rows_xml + tail

    def _row(self, number: int, cells: bytes) -> bytes:
        return b'<' + self.p + b'row r="%d">' % number + cells + b"</" + self.p + b"row>"

    def _dimension(self, head: bytes, last_col: int, last_row: int) -> bytes:
        p = re.escape(self.p)
        m = re.search(rb"<" + p + rb'dimension\b[^>]*?ref="([^"]*)"', head)
        if m is None:
            return head
        ref = m.group(1).split(b":")
        first = ref[0]
        end = _REF.fullmatch(ref[-1])
        if end is None:
            return head
        col = max(column_index_from_string(end.group(1).decode()), last_col)
        row = max(int(end.group(2)), last_row)
        new = first + b":" + get_column_letter(col).encode() + b"%d" % row
        return head[:m.start(1)] + new + head[m.end(1):]

    def _cols(self, head: bytes, widths: dict[int, float]) -> bytes:
        """Our column widths; an existing <col> range over our columns is cut around them."""
        if not widths:
            return head
        p = self.p
        lo, hi = min(widths), max(widths)
        ours = [(c, c, b'<%scol min="%d" max="%d" width="%s" customWidth="1"/>' % (p, c, c, str(w).encode()))
                for c, w in sorted(widths.items())]
        m = re.search(rb"<" + re.escape(p) + rb"cols>(.*?)</" + re.escape(p) + rb"cols>", head, re.S)
        if m is None:
            where = re.search(rb"<" + re.escape(p) + rb"sheetData\b", head)
            cut = where.start() if where else len(head)
            return head[:cut] + b"<" + p + b"cols>" + b"".join(x[2] for x in ours) + b"</" + p + b"cols>" + head[cut:]
        kept = []
        for col in re.finditer(rb"<" + re.escape(p) + rb"col\b[^>]*?/>", m.group(1)):
            a = attrs(col.group(0))
            cmin, cmax = int(a.get(b"min", b"1")), int(a.get(b"max", b"1"))
            for a_min, a_max in ((cmin, min(cmax, lo - 1)), (max(cmin, hi + 1), cmax)) if cmax >= lo and cmin <= hi \
                    else ((cmin, cmax),):
                if a_min <= a_max:
                    tag = re.sub(rb'\bmin="\d+"', b'min="%d"' % a_min, col.group(0))
                    kept.append((a_min, a_max, re.sub(rb'\bmax="\d+"', b'max="%d"' % a_max, tag)))
        body = b"".join(x[2] for x in sorted(kept + ours))
        return head[:m.start(1)] + body + head[m.end(1):]

    def _legacy(self, tail: bytes, rid: str) -> bytes:
        p = re.escape(self.p)
        names = b"|".join(_AFTER_LEGACY)
        m = re.search(rb"<(?:" + p + rb"(?:" + names + rb")\b|mc:AlternateContent\b)", tail)
        if m is None:
            m = re.search(rb"</" + p + rb"worksheet>", tail)
        element = b'<%slegacyDrawing xmlns:r="%s" r:id="%s"/>' % (self.p, REL_NS.encode(), rid.encode())
        return tail[:m.start()] + element + tail[m.start():]

    def legacy_rid(self) -> str | None:
        m = re.search(rb"<" + re.escape(self.p) + rb"legacyDrawing\b([^>]*)/?>", self.xml)
        if m is None:
            return None
        for key, value in attrs(m.group(1)).items():
            if key.endswith(b":id"):
                return value.decode()
        return None


def inline_cell(p: bytes, ref: str, text: str, style: int | None) -> bytes:
    s = b' s="%d"' % style if style else b""
    return (b'<%sc r="%s"%s t="inlineStr"><%sis><%st xml:space="preserve">%s</%st></%sis></%sc>'
            % (p, ref.encode(), s, p, p, escape(text).encode("utf-8"), p, p, p))


def number_cell(p: bytes, ref: str, value: int) -> bytes:
    return b'<%sc r="%s"><%sv>%d</%sv></%sc>' % (p, ref.encode(), p, value, p, p)
