"""The supervisor's corrections, as written in an annotated copy's Review cell or a
Word comment: a small forgiving grammar, parsed by pure functions.

    ok                      every finding on this note is right (a clean note: nothing missed)
    not R1 / not redirect   R1 was flagged wrongly
    missed R3 grief         R3 happened and was not flagged (topic optional)
    missed R3 "changed the subject"   ... in the sentence holding these words
    crisis C1               C1 is present and was not found
    ok R2                   this one finding is right

Several per cell, separated by ';', ',' or new lines. Item ids, names and
unambiguous name prefixes come from the loaded checklists, never from here.
Anything not understood comes back as a ParseError with a code, never dropped."""
from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# The words of the grammar, with the forms people write for them.
_VERBS = {
    "ok": ("ok", "okay", "correct", "right", "confirmed", "confirm", "agree", "yes", "fine", "good"),
    "not": ("not", "no", "wrong", "false", "incorrect", "isnt", "nope"),
    "missed": ("missed", "miss", "missing", "add", "also"),
    "crisis": ("crisis",),
}
_WORD_OF = {w: verb for verb, words in _VERBS.items() for w in words}
_QUOTED = re.compile(r'["“]([^"”]+)["”]')
_ID = re.compile(r"^([a-z])\s*-?\s*(\d+)$")
PREFIX = "notesplugin:"


@dataclass(frozen=True)
class Correction:
    kind: str  # "ok" (item None: the whole note), "not", "missed"
    item: str | None = None
    topic: str | None = None
    fragment: str | None = None  # words of the sentence meant (missed only)
    text: str = ""  # the clause as written


@dataclass(frozen=True)
class ParseError:
    code: str  # "unknown-word", "unknown-item", "ambiguous-item", "no-item", "unknown-topic", "wrong-checklist"
    text: str
    message: str


@dataclass(frozen=True)
class ItemRef:
    id: str
    name: str
    checklist: str


def clauses(cell: str) -> list[str]:
    """The cell's clauses: split on ';', ',' and new lines, never inside a quoted fragment."""
    out, cur, quote = [], [], None
    for ch in cell:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = None
        elif ch in '"“':
            quote = '"' if ch == '"' else "”"
            cur.append(ch)
        elif ch in ";,\n\r":
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return [c.strip() for c in out if c.strip()]


def _verb(word: str) -> str | None:
    if word in _WORD_OF:
        return _WORD_OF[word]
    close = difflib.get_close_matches(word, list(_WORD_OF), n=1, cutoff=0.75)
    return _WORD_OF[close[0]] if close and len(word) > 2 else None


def resolve_item(words: str, items: Sequence[ItemRef]) -> tuple[ItemRef | None, str]:
    """An item from an id ("R3", "r 3"), a name ("reassure"), an unambiguous name prefix
    ("reassur") or a near spelling ("reasure"); (None, error code) otherwise."""
    w = words.strip().lower()
    if not w:
        return None, "no-item"
    by_id = {i.id.lower(): i for i in items}
    m = _ID.match(w)
    if m and f"{m[1]}{m[2]}" in by_id:
        return by_id[f"{m[1]}{m[2]}"], ""
    if w in by_id:
        return by_id[w], ""
    names = {i.name.lower(): i for i in items}
    if w in names:
        return names[w], ""
    starts = [i for n, i in names.items() if n.startswith(w) or (len(n) >= 4 and w.startswith(n))]
    if len(starts) == 1:
        return starts[0], ""
    if len(starts) > 1:
        return None, "ambiguous-item"
    close = difflib.get_close_matches(w, list(names), n=2, cutoff=0.75)
    if len(close) == 1 or (close and difflib.SequenceMatcher(None, w, close[0]).ratio()
                           > difflib.SequenceMatcher(None, w, close[1]).ratio()):
        return names[close[0]], ""
    return None, "unknown-item"


def _topic(word: str, topics: Sequence[str]) -> str | None:
    w = word.lower()
    if w in topics:
        return w
    starts = [t for t in topics if t.startswith(w) and len(w) >= 3]
    if len(starts) == 1:
        return starts[0]
    close = difflib.get_close_matches(w, list(topics), n=1, cutoff=0.8)
    return close[0] if close else None


def parse_clause(clause: str, items: Sequence[ItemRef], topics: Sequence[str]) -> Correction | ParseError:
    fragment = None
    q = _QUOTED.search(clause)
    rest = clause
    if q:
        fragment = " ".join(q.group(1).split())
        rest = (clause[:q.start()] + " " + clause[q.end():]).strip()
    words = re.findall(r"[A-Za-z]+\s*-?\s*\d+|[A-Za-z']+|\S", rest)
    words = [w.replace("'", "").lower() for w in words if w.strip() and w not in ("-", ":", ".", "!")]
    if not words:
        return ParseError("no-item", clause, f"'{clause}': nothing to read; write e.g. 'ok', 'not R1', 'missed R3'")
    verb = _verb(words[0])
    if verb is None:
        # "R3 missed", "redirect not": the verb last
        verb = _verb(words[-1]) if len(words) > 1 else None
        if verb is None:
            return ParseError("unknown-word", clause, f"'{clause}': not understood; start with ok, not, missed or crisis")
        words = [words[-1]] + words[:-1]
    args = words[1:]
    if verb == "ok" and not args:
        if fragment:
            return ParseError("unknown-word", clause, f"'{clause}': a quoted sentence goes with 'missed', not 'ok'")
        return Correction("ok", text=clause)
    if not args:
        return ParseError("no-item", clause, f"'{clause}': which item? e.g. '{verb} R1' or '{verb} redirect'")
    # The item is the first word, or the first two ("R 3" is read as one word already).
    item, code, used = None, "unknown-item", 1
    for n in (2, 1) if len(args) > 1 else (1,):
        got, code_n = resolve_item(" ".join(args[:n]), items)
        if got is not None:
            item, used = got, n
            break
        code = code_n if code == "unknown-item" else code
    if item is None:
        what = " ".join(args[:1])
        hint = ", ".join(f"{i.id} {i.name}" for i in items)
        msg = (f"'{clause}': '{what}' matches several items; write the id" if code == "ambiguous-item"
               else f"'{clause}': no item '{what}'; known: {hint}")
        return ParseError(code, clause, msg)
    tail = args[used:]
    topic = None
    if tail:
        if verb != "missed":
            return ParseError("unknown-word", clause, f"'{clause}': '{' '.join(tail)}' not understood after the item")
        topic = _topic(tail[0], topics) if len(tail) == 1 else None
        if topic is None:
            return ParseError("unknown-topic", clause,
                              f"'{clause}': '{' '.join(tail)}' is not a topic; known: {', '.join(topics)}")
    if verb == "crisis":
        if item.checklist != "crisis":
            return ParseError("wrong-checklist", clause, f"'{clause}': {item.id} is not a crisis item; "
                                                         f"write 'missed {item.id}'")
        verb = "missed"
    if fragment and verb != "missed":
        return ParseError("unknown-word", clause, f"'{clause}': a quoted sentence goes with 'missed'")
    return Correction(verb, item.id, topic, fragment, clause)


def parse(cell: str, items: Sequence[ItemRef], topics: Sequence[str]) -> tuple[list[Correction], list[ParseError]]:
    """Every clause of a cell (or comment), read or reported."""
    text = str(cell or "").strip()
    if text.lower().startswith(PREFIX):
        text = text[len(PREFIX):]
    got, bad = [], []
    for clause in clauses(text):
        r = parse_clause(clause, items, topics)
        if isinstance(r, ParseError) and r.code == "unknown-word" and got:
            # "not R1, R3": an item alone takes the verb before it
            again = parse_clause(f"{_VERBS[got[-1].kind][0]} {clause}", items, topics)
            if not isinstance(again, ParseError):
                r = Correction(again.kind, again.item, again.topic, again.fragment, clause)
        (bad if isinstance(r, ParseError) else got).append(r)
    return got, bad


def item_refs(checklist_items: Iterable) -> list[ItemRef]:
    """The loaded checklists' items as the grammar needs them."""
    return [ItemRef(i.id, i.name, i.checklist) for i in checklist_items]
