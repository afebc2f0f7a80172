"""A Word package read once: the file's bytes in memory, its zip directory, and the
XML parts the scan needs, each parsed on first use.

The reader reads the notes from it and hands it on (notesplugin.sources.DocxSource),
and the writer annotates the same parsed parts and copies every other member raw
(notesplugin.writers.opc): the file is read from disk once and only its main
document part (plus footnotes, endnotes, comments or a page header when they are
needed) is parsed. No python-docx `Document` is built: that parses and keeps every
part of the package (styles alone are ~790 KB in python-docx's default template).

Parts are parsed with python-docx's own XML parser (its element classes, blank text
dropped), so the writer can use its run and comment methods and a part it writes
back serialises exactly as python-docx would have saved it.
"""
from __future__ import annotations

import io
import posixpath
import zipfile
from dataclasses import dataclass
from pathlib import Path

from docx.opc.constants import CONTENT_TYPE as CT, RELATIONSHIP_TYPE as RT
from docx.opc.oxml import serialize_part_xml
from docx.oxml.ns import qn
from docx.oxml.parser import parse_xml
from lxml import etree

from notesplugin.package_names import CT_NS, PKG_REL, rels_name, resolve

# Parts that hold note text besides the body, by relationship of the main part: read as XML
# only when their content type says so (as python-docx would have loaded them).
NOTE_PARTS = ((RT.FOOTNOTES, "footnote", CT.WML_FOOTNOTES), (RT.ENDNOTES, "endnote", CT.WML_ENDNOTES))


# The main part of a document, a macro-enabled document (.docm) and their templates: one
# WordprocessingML body each; the macros are parts the annotated copy keeps byte for byte.
MAIN_TYPES = {CT.WML_DOCUMENT_MAIN, "application/vnd.ms-word.document.macroEnabled.main+xml",
              "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
              "application/vnd.ms-word.template.macroEnabledTemplate.main+xml"}


@dataclass(frozen=True)
class Rel:
    rid: str
    reltype: str
    target: str  # a part (member) name when internal, the target as written when external
    external: bool


class WordPackage:
    """One .docx, read from `data` (the file's bytes). Raises KeyError, ValueError,
    zipfile.BadZipFile or lxml's XMLSyntaxError (a SyntaxError) for a package that is not a
    usable Word document; the reader turns those into one line for the user."""

    def __init__(self, path: Path, data: bytes):
        self.path = Path(path)
        self.zf = zipfile.ZipFile(io.BytesIO(data))
        self.names = set(self.zf.namelist())
        self._xml: dict[str, object] = {}
        self._rels: dict[str, list[Rel]] = {}
        self._types: tuple[dict[str, str], dict[str, str]] | None = None
        mains = [r.target for r in self.rels("") if r.reltype == RT.OFFICE_DOCUMENT and not r.external]
        if not mains or mains[0] not in self.names:
            raise KeyError("no main document part")
        self.main = mains[0]
        ctype = self.content_type(self.main)
        if ctype not in MAIN_TYPES:
            raise ValueError(f"not a Word document (content type {ctype})")
        self.document = self.xml(self.main)
        self.body = self.document.find(qn("w:body"))
        if self.body is None:
            raise KeyError("no document body")

    # ---- members ----
    def read(self, name: str) -> bytes:
        return self.zf.read(name)

    def xml(self, name: str):
        """The part's root element (python-docx's element classes), parsed once."""
        root = self._xml.get(name)
        if root is None:
            root = self._xml[name] = parse_xml(self.zf.read(name))
        return root

    def adopt(self, name: str, root) -> None:
        """A part made here (a new comments part): served by xml(name) from now on."""
        self._xml[name] = root

    def parsed(self, name: str) -> bool:
        return name in self._xml

    def blob(self, name: str) -> bytes:
        """A parsed part serialised as python-docx saves a part."""
        return serialize_part_xml(self._xml[name])

    def content_type(self, name: str) -> str | None:
        if self._types is None:
            root = etree.fromstring(self.zf.read("[Content_Types].xml"))
            overrides = {o.get("PartName", "").lstrip("/"): o.get("ContentType")
                         for o in root.iterfind(f"{{{CT_NS}}}Override")}
            defaults = {d.get("Extension", "").lower(): d.get("ContentType") for d in root.iterfind(f"{{{CT_NS}}}Default")}
            self._types = overrides, defaults
        overrides, defaults = self._types
        if name in overrides:
            return overrides[name]
        return defaults.get(posixpath.splitext(name)[1][1:].lower())

    # ---- relationships ----
    def rels(self, part: str) -> list[Rel]:
        """The part's relationships in file order ("" for the package's own)."""
        if part not in self._rels:
            name = rels_name(part) if part else "_rels/.rels"
            out = []
            if name in self.names:
                for r in etree.fromstring(self.zf.read(name)).iter(f"{{{PKG_REL}}}Relationship"):
                    external = r.get("TargetMode") == "External"
                    target = r.get("Target", "")
                    out.append(Rel(r.get("Id", ""), r.get("Type", ""), target if external else resolve(part, target),
                                   external))
            self._rels[part] = out
        return self._rels[part]

    def related(self, reltype: str, part: str | None = None) -> list[str]:
        """Member names of the internal parts `part` (the main part by default) relates by
        `reltype`, in relationship order; targets missing from the zip left out."""
        return [r.target for r in self.rels(self.main if part is None else part)
                if r.reltype == reltype and not r.external and r.target in self.names]

    def note_parts(self) -> list[tuple[str, str]]:
        """[(kind, member name)] for the footnotes and the endnotes part, in that order."""
        return [(kind, name) for reltype, kind, ctype in NOTE_PARTS for name in self.related(reltype)
                if self.content_type(name) == ctype]
