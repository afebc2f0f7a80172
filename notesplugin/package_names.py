"""Part names and namespaces of an Office package (OPC), shared by the Word reader and the package writer,
which must not import each other."""
from __future__ import annotations

import posixpath

PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"  # a .rels part's namespace
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"  # [Content_Types].xml's namespace


def rels_name(part: str) -> str:
    """The relationships part of a part: word/document.xml -> word/_rels/document.xml.rels."""
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{base}.rels")


def resolve(part: str, target: str) -> str:
    """A relationship target as a part name (no leading slash)."""
    if target.startswith("/"):
        return target[1:]
    return posixpath.normpath(posixpath.join(posixpath.dirname(part), target))
