"""Save an annotated Word document by patching its package: only the main
document part, the comments part (and, where the file has them, Word's
modern-comment parts: commentsExtended, commentsIds, commentsExtensible, people)
are written; every other member is copied byte for byte."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn

from notesplugin.word_package import WordPackage
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


def _insert_last(data: bytes, ns: str, prefix: str, element: str) -> bytes:
    """element (written with `prefix:`) before the root's closing tag, in the part's own prefix for ns."""
    m = re.search(rb'xmlns:(\w+)="' + re.escape(ns.encode()) + rb'"', data)
    if m:
        element = element.replace(f"{prefix}:", f"{m.group(1).decode()}:")
    else:
        element = element.replace(" ", f' xmlns:{prefix}="{ns}" ', 1)
    cut = data.rindex(b"</")
    return data[:cut] + element.encode("utf-8") + data[cut:]


def _modern(pkg: Package, word: WordPackage, comments: list, author: str) -> None:
    """Entries for our comments in the modern-comment parts the file already has, so Word keeps
    its threads consistent: a paraId on each comment's last paragraph, listed in commentsExtended;
    in commentsIds a durableId for it (the same number), which commentsExtensible (Word 365)
    dates; our author in people. The number is new to both id kinds in every one of these parts."""
    extended, ids, cex, people = (next(iter(word.related(rt)), None)
                                  for rt in (RT_EXTENDED, RT_IDS, RT_EXTENSIBLE, RT_PEOPLE))
    if extended is None and ids is None and cex is None:
        return
    taken = set(re.findall(rb'(?:paraId|durableId)="([0-9A-Fa-f]{8})"', b"".join(
        pkg.read(name) for name in (extended, ids, cex) if name is not None)))
    used = {int(t, 16) for t in taken}
    n = 0x10000000
    for comment in comments:
        while n in used:
            n += 1
        used.add(n)
        para_id = f"{n:08X}"
        comment._comment_elm.findall(qn("w:p"))[-1].set(f"{{{W14}}}paraId", para_id)
        if extended is not None:
            name = extended
            pkg.put(name, _insert_last(pkg.read(name), W15, "w15",
                                       f'<w15:commentEx w15:paraId="{para_id}" w15:done="0"/>'))
        if ids is not None:
            name = ids
            pkg.put(name, _insert_last(pkg.read(name), W16CID, "w16cid",
                                       f'<w16cid:commentId w16cid:paraId="{para_id}" w16cid:durableId="{para_id}"/>'))
        if cex is not None:
            when = comment._comment_elm.date or datetime.now(timezone.utc)
            when = (when.astimezone(timezone.utc) if when.tzinfo else when).strftime("%Y-%m-%dT%H:%M:%SZ")
            name = cex
            pkg.put(name, _insert_last(pkg.read(name), W16CEX, "w16cex",
                                       f'<w16cex:commentExtensible w16cex:durableId="{para_id}" '
                                       f'w16cex:dateUtc="{when}"/>'))
    if people is not None and comments:
        name = people
        data = pkg.read(name)
        if f'author="{escape(author)}"'.encode() not in data:
            pkg.put(name, _insert_last(data, W15, "w15", f'<w15:person w15:author="{escape(author)}">'
                                       f'<w15:presenceInfo w15:providerId="None" w15:userId="{escape(author)}"/>'
                                       f"</w15:person>"))


def save_patched(word: WordPackage, dest: Path, comments: list, author: str, touched: bool, comments_part: str = "",
                 parts=()) -> None:
    """dest = the package with its main part (when `touched`), its comments part `comments_part`
    and the footnotes/endnotes parts named in `parts` written anew from their parsed (and
    annotated) elements; `comments` are the ones we added. Every other member is copied raw."""
    main = word.main
    pkg = Package(word.zf)
    if comments:
        _modern(pkg, word, comments, author)
        name = comments_part
        if not pkg.has(name):
            pkg.content_type(name, CT_COMMENTS)
            if not any(r.get("Type") == RT.COMMENTS for r in pkg.rels(main)):
                pkg.add_rel(main, RT.COMMENTS, name)
        pkg.put(name, word.blob(name))
    if comments or touched:
        pkg.put(main, word.blob(main))
    for name in parts:
        pkg.put(name, word.blob(name))
    pkg.save(dest)
