"""`Label: value` header lines as EHRs write them into Word.

One paragraph may hold several fields, separated by tabs, runs of spaces, " | "
or line breaks ("Client: Jane D.    DOS: 03/02/2026    Provider: A. Smith");
labels may be bold or wrapped in markdown asterisks; a label may be followed by
its value in the next chunk ("Client:\tJane"). Known role labels are also found
inside a single-spaced line ("Client: Jane D. DOS: 03/02/2026"). A paragraph's soft line
breaks (Shift+Enter) end its lines as paragraph ends do (see soft_lines).
"""
from __future__ import annotations

import re
from collections.abc import Iterable

_SEP = re.compile(r"\t+|\n+| {2,}|\u00a0{2,}|\s+\|\s+")
_PAIR = re.compile(r"^[*_]*\s*([^:]{1,40}?)\s*[*_]*\s*:\s*(.*?)\s*$", re.S)
_RULE = re.compile(r"^[\s\-_=*~•·]*$")


def inline_labels(names: Iterable[str]) -> re.Pattern | None:
    """A pattern finding ' Label:' for the given label names inside a value."""
    alts = sorted({re.sub(r"\\ ", r"\\s+", re.escape(n.strip())) for n in names if n.strip()}, key=len, reverse=True)
    return re.compile(r"\s(?:[*_]*)(" + "|".join(alts) + r")[*_]*\s*:", re.I) if alts else None


def _label_like(label: str) -> bool:
    words = label.split()
    return 0 < len(words) <= 5 and label[0].isalpha() and not re.search(r"[.!?;\"]$", label)


def _clean(value: str) -> str:
    return re.sub(r"^[*_\s]+|[*_\s]+$", "", value)


def label_pairs(text: str, inline: re.Pattern | None = None) -> list[tuple[str, str]] | None:
    """[(label, value)] when `text` is made of `Label: value` fields, else None."""
    if ":" not in text:
        return None
    pairs: list[list[str]] = []
    for chunk in _SEP.split(text):
        chunk = chunk.strip()
        if not chunk:
            continue
        m = _PAIR.match(chunk)
        if m and _label_like(m[1]):
            pairs.append([m[1].strip(" *_"), m[2]])
        elif pairs and not _clean(pairs[-1][1]):
            pairs[-1][1] = chunk  # "Client:<tab>Jane"
        elif pairs:
            pairs[-1][1] += " " + chunk
        else:
            return None
    out: list[tuple[str, str]] = []
    for label, value in pairs:
        while inline is not None:
            m = inline.search(value)
            if not m:
                break
            out.append((label, _clean(value[:m.start()])))
            label, value = m[1], value[m.end():]
        out.append((label, _clean(value)))
    return out or None


def _bare_label(line: str, after: str) -> bool:
    """"Client:" with its value alone on the next line ("Jane D."): one field over two lines."""
    pairs = label_pairs(line)
    return bool(pairs) and not _clean(pairs[-1][1]) and label_pairs(after) is None


def soft_lines(text: str, keep: Iterable[int] = ()) -> list[tuple[int, str]]:
    """[(offset, line)]: `text` cut at its line breaks but those at `keep` (page breaks). An
    export may write a note as one paragraph, "Clinician: X<br/>Client: Y<br/>Date: Z<br/>text",
    so a header field ends at a soft break as at a paragraph end. Blank lines stay with the
    line before them (or the first line after): the lines join back into `text` with "\n"."""
    keep = set(keep)
    cuts = [k for k, c in enumerate(text) if c == "\n" and k not in keep]
    out: list[tuple[int, str]] = []
    start = 0
    for k, cut in enumerate(cuts):
        line, after = text[start:cut], text[cut + 1:cuts[k + 1] if k + 1 < len(cuts) else len(text)]
        if line.strip() and after.strip() and not _bare_label(line, after):
            out.append((start, line))
            start = cut + 1
    out.append((start, text[start:]))
    return out


def is_rule(p, text: str) -> bool:
    """A horizontal rule: a bordered empty paragraph, or a line of ----, ____, * * *."""
    if text.strip():
        return _RULE.match(text) is not None and sum(not c.isspace() for c in text) >= 3
    return bool(p.xpath("./w:pPr/w:pBdr/w:bottom | ./w:pPr/w:pBdr/w:top"))
