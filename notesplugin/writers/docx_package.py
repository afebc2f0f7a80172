"""Save an annotated Word document by patching its package: only the main
document part, the comments part (and, where the file has them, Word's
modern-comment parts: commentsExtended, commentsIds, commentsExtensible, people)
are written; every other member is copied byte for byte."""
from __future__ import annotations

import re
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn

from notesplugin.writers.opc import Package, escape

W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
W15 = "http://schemas.microsoft.com/office/word/2012/wordml"
W16CID = "http://schemas.microsoft.com/office/word/2016/wordml/cid"
W16CEX = "http://schemas.microsoft.com/office/word/2018/wordml/cex"
RT_EXTENDED = "http://schemas.microsoft.com/office/2011/relationships/commentsExtended"
RT_IDS = "http://schemas.microsoft.com/office/2016/09/relationships/commentsIds"
RT_PEOPLE = "http://schemas.microsoft.com/office/2011/relationships/people"
RT_EXTENSIBLE = "http://schemas.microsoft.com/office/2018/08/relationships/commentsExtensible"
CT_COMMENTS = "application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml"


def _related(part, reltype: str):
    for rel in part.rels.values():
        if rel.reltype == reltype and not rel.is_external:
            return rel.target_part
    return None


def _insert_last(data: bytes, ns: str, prefix: str, element: str) -> bytes:
    """element (written with `prefix:`) before the root's closing tag, in the part's own prefix for ns."""
    m = re.search(rb'xmlns:(\w+)="' + re.escape(ns.encode()) + rb'"', data)
    if m:
        element = element.replace(f"{prefix}:", f"{m.group(1).decode()}:")
    else:
        element = element.replace(" ", f' xmlns:{prefix}="{ns}" ', 1)
    cut = data.rindex(b"</")
    return data[:cut] + element.encode("utf-8") + data[cut:]


def _modern(pkg: Package, doc_part, comments: list, author: str) -> None:
    """Entries for our comments in the modern-comment parts the file already has, so Word keeps
    its threads consistent: a paraId on each comment's last paragraph, listed in commentsExtended;
    in commentsIds a durableId for it (the same number), which commentsExtensible (Word 365)
    dates; our author in people. The number is new to both id kinds in every one of these parts."""
    extended, ids, cex, people = (_related(doc_part, rt) for rt in (RT_EXTENDED, RT_IDS, RT_EXTENSIBLE, RT_PEOPLE))
    if extended is None and ids is None and cex is None:
        return
    taken = set(re.findall(rb'(?:paraId|durableId)="([0-9A-Fa-f]{8})"', b"".join(
        pkg.read(p.partname.membername) for p in (extended, ids, cex) if p is not None)))
    used = {int(t, 16) for t in taken}
    n = 0x10000000
    for comment in comments:
        while n in used:
            n += 1
        used.add(n)
        para_id = f"{n:08X}"
        comment._comment_elm.findall(qn("w:p"))[-1].set(f"{{{W14}}}paraId", para_id)
        if extended is not None:
            name = extended.partname.membername
            pkg.put(name, _insert_last(pkg.read(name), W15, "w15",
                                       f'<w15:commentEx w15:paraId="{para_id}" w15:done="0"/>'))
        if ids is not None:
            name = ids.partname.membername
            pkg.put(name, _insert_last(pkg.read(name), W16CID, "w16cid",
                                       f'<w16cid:commentId w16cid:paraId="{para_id}" w16cid:durableId="{para_id}"/>'))
        if cex is not None:
            when = comment._comment_elm.date or datetime.now(timezone.utc)
            when = (when.astimezone(timezone.utc) if when.tzinfo else when).strftime("%Y-%m-%dT%H:%M:%SZ")
            name = cex.partname.membername
            pkg.put(name, _insert_last(pkg.read(name), W16CEX, "w16cex",
                                       f'<w16cex:commentExtensible w16cex:durableId="{para_id}" '
                                       f'w16cex:dateUtc="{when}"/>'))
    if people is not None and comments:
        name = people.partname.membername
        data = pkg.read(name)
        if f'author="{escape(author)}"'.encode() not in data:
            pkg.put(name, _insert_last(data, W15, "w15", f'<w15:person w15:author="{escape(author)}">'
                                       f'<w15:presenceInfo w15:providerId="None" w15:userId="{escape(author)}"/>'
                                       f"</w15:person>"))


def save_patched(src: Path, doc, dest: Path, comments: list, author: str, touched: bool, parts=()) -> None:
    """dest = src with doc's main part (when `touched`), comments and the footnotes/endnotes parts
    in `parts` written anew; `comments` are the ones we added."""
    doc_part = doc.part
    with zipfile.ZipFile(src) as zf:
        pkg = Package(zf)
        if comments:
            _modern(pkg, doc_part, comments, author)
            part = _related(doc_part, RT.COMMENTS)
            name = part.partname.membername
            if not pkg.has(name):
                pkg.content_type(name, CT_COMMENTS)
                main = doc_part.partname.membername
                if not any(r.get("Type") == RT.COMMENTS for r in pkg.rels(main)):
                    pkg.add_rel(main, RT.COMMENTS, name)
            pkg.put(name, part.blob)
        if comments or touched:
            pkg.put(doc_part.partname.membername, doc_part.blob)
        for part in parts:
            pkg.put(part.partname.membername, part.blob)
        pkg.save(dest)
