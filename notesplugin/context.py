"""ConText (Harkema et al. 2009): is a target in a sentence negated, only
historical, hypothetical, or about someone other than the client?

Trigger terms live in checklists/context_rules.toml (rules as data). Each
trigger has a category and a direction; its scope runs from the trigger
towards the target and ends at a terminator, a sentence boundary or after
`max_scope` tokens. Pseudo-triggers ("no increase", "not ruled out") block
the triggers they overlap. A recency cue ("last night", "today") that is
closer to the target than a historical cue makes the target current.

Rules are compiled once at import (all literals into one prefix-tree regex,
patterns into two or three more); the matches of a sentence are cached, so
several targets in one sentence cost one scan.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

NEGATED = "NEGATED_EXISTENCE"
HISTORICAL = "HISTORICAL"
HYPOTHETICAL = "HYPOTHETICAL"
OTHER = "OTHER_EXPERIENCER"
CURRENT = "CURRENT"
PSEUDO = "PSEUDO"
TERMINATE = "TERMINATE"
MODIFIERS = (NEGATED, HISTORICAL, HYPOTHETICAL, OTHER, CURRENT)
_CATEGORIES = {c: c for c in (*MODIFIERS, PSEUDO, TERMINATE)} | {
    "FAMILY": OTHER, "OTHER": OTHER, "NEGATED": NEGATED, "NEGATION": NEGATED, "RECENT": CURRENT,
}
_DIRECTIONS = {"forward", "backward", "bidirectional", "terminate", "pseudo"}
_RULE_KEYS = {"literal", "pattern", "name", "category", "direction", "max_scope", "terminates", "comment"}

# A trigger must not start or end inside a word; patterns that begin or end
# with punctuation (": denied", ";") may touch a word.
_START_GUARD = r"(?:(?<!\w)|(?!\w))"
_END_GUARD = r"(?:(?!\w)|(?<!\w))"
_TOKEN = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class Assessment:
    negated: bool = False
    historical: bool = False
    hypothetical: bool = False
    other_experiencer: bool = False
    cues: tuple[str, ...] = ()  # "CATEGORY:trigger rule" that applied; rule text only, never note text

    @property
    def modified(self) -> bool:
        """True when the target is not a plain, current, affirmed fact about the client."""
        return self.negated or self.historical or self.hypothetical or self.other_experiencer


@dataclass(frozen=True)
class Rule:
    label: str  # the literal, or the pattern's name, for explanations
    category: str
    direction: str
    max_scope: int | None = None
    terminates: frozenset[str] = frozenset(MODIFIERS)
    kind: str = "literal"  # or "pattern"


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    rule: Rule


# ---------------------------------------------------------------- sentences

_ABBREVIATIONS = frozenset(
    "dr mr mrs ms st jr sr prof vs e.g i.e eg ie pt pts a.m p.m approx appt etc. no fig inc".split()
)
_SENT_END = re.compile(r"[.!?]+['\")\]]*[ \t]+(?=['\"(\[]?[A-Z0-9])")
_NEWLINE = re.compile(r"[\r\n]+")
# Voice dictation left unproofread keeps its spoken commands as words ("... since the funeral
# period he began ... new paragraph S I denied comma no plan"): such a note has no full stops, so
# without these it is one sentence and a finding could not point at the sentence that acted.
_SPOKEN_COMMAND = re.compile(r"\b(?:new paragraph|next paragraph|full stop|comma|unquote|end quote)\b",
                             re.IGNORECASE)
_SPOKEN_STOP = re.compile(r"\b(?:period|full stop)\b(?![ \t]+of\b)[.,;:!?]*", re.IGNORECASE)
_SPOKEN_BREAK = re.compile(r"\b(?:new|next) (?:paragraph|line)\b", re.IGNORECASE)
# A label that opens a section: "S:", "Data:", "SI/HI:", "Risk Assessment:":
# capitalised, then a colon and a space. At a line start up to four words
# (matched, so "MEDICAL HISTORY:" is cut before MEDICAL only); inside a line
# one word, so "A: MDD P: f/u" cuts before P, not before MDD.
_LABEL = re.compile(
    r"(?:^|(?<=\n))[ \t]*[A-Z][\w/&'-]*(?:[ \t]+[\w/&'-]+){0,3}[ \t]*:(?=\s|$)"
    r"|(?<=\s)[A-Z][\w/&'-]*:(?=\s|$)"
)
_ABBREV_FORM = re.compile(r"x\d+|[a-z]\.[a-z]")  # "x4.", "a.m"
_LIST_NUMBER = re.compile(r"\d{1,2}")  # "1." opening a line is a list marker; "PHQ-9 = 14." ends a sentence


def _word_before(text: str, period: int) -> str:
    """The run of non-space characters that ends at period (or just before a
    newline there), as the regex (non-space)+$ would find it; walked back by hand
    because that regex, searched from 0, rescans the whole text for every period."""
    end = period
    if end and text[end - 1] == "\n":
        end -= 1
    start = end
    while start and not text[start - 1].isspace():
        start -= 1
    return text[start:end]


def _is_abbreviation(text: str, period: int) -> bool:
    word = _word_before(text, period)
    if not word:
        return False
    word = word.lstrip("([\"'").lower()
    return (
        word in _ABBREVIATIONS
        or (len(word) == 1 and word.isalpha())  # initials: "J. Smith"
        or _ABBREV_FORM.fullmatch(word) is not None
        or (_LIST_NUMBER.fullmatch(word) is not None and _opens_item(text, period - len(word)))
    )


def _opens_item(text: str, start: int) -> bool:
    """A number that opens a line or follows a sentence's end ("... today. 2. Next")."""
    before = text[:start].rstrip(" \t")
    return not before or before[-1] in "\n.!?:;"


def _label_starts(text: str) -> list[int]:
    """Where _LABEL.finditer(text) matches start, found from the colons: a label
    holds one colon, at its end, within one line, so only the stretch of line
    since the previous colon is searched (scanning every position was slow)."""
    out = []
    seg = 0
    c = text.find(":")
    while c != -1:
        nxt = c + 1
        if nxt == len(text) or text[nxt].isspace():
            m = _LABEL.search(text, max(seg, text.rfind("\n", 0, c) + 1), nxt)
            if m:
                out.append(m.start())
        seg = nxt
        c = text.find(":", nxt)
    return out


def _dictated(text: str) -> bool:
    """Spoken punctuation: "period" or "full stop" said as a stop at least twice and more often
    than a full stop is typed, beside a command no one types in a note ("comma", "new
    paragraph", "unquote"); with no such command, three times or more in a note that types
    no full stop at all. "Period" alone is an ordinary word."""
    if not any(w in text for w in ("eriod", "ERIOD", "ull stop", "ull Stop", "ULL STOP")):
        return False  # the quick way out for almost every note, with no lower-cased copy of it
    stops, typed = len(_SPOKEN_STOP.findall(text)), text.count(". ")
    if _SPOKEN_COMMAND.search(text) is not None:
        return stops >= 2 and stops > typed
    return stops >= 3 and not typed and not text.rstrip().endswith(".")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences of a note, whitespace trimmed, empty ones dropped."""
    cuts = {0, len(text)}
    for m in _SENT_END.finditer(text):
        if text[m.start()] == "." and _is_abbreviation(text, m.start()):
            continue
        cuts.add(m.end())
    for m in _NEWLINE.finditer(text):
        cuts.add(m.end())
    cuts.update(_label_starts(text))
    if _dictated(text):
        cuts.update(m.end() for m in _SPOKEN_STOP.finditer(text))
        for m in _SPOKEN_BREAK.finditer(text):
            cuts.update((m.start(), m.end()))
    spans = []
    points = sorted(cuts)
    for a, b in zip(points, points[1:]):
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            spans.append((a, b))
    return spans


def sentence_at(text: str, start: int, end: int | None = None) -> tuple[int, int]:
    """The span of the sentence(s) holding text[start:end]."""
    end = start + 1 if end is None else end
    spans = split_sentences(text)
    lo = next((a for a, b in reversed(spans) if a <= start), 0)
    hi = next((b for a, b in spans if b >= end), len(text))
    return lo, hi


# ---------------------------------------------------------------- rules

def _literal_regex(literal: str) -> str:
    return r"\s+".join(re.escape(part) for part in literal.split())


def parse_rules(data: dict[str, Any], source: str = "context rules") -> list[tuple[Rule, str]]:
    """Validate the [[rule]] tables of a rules TOML; returns (rule, regex) pairs."""
    out: list[tuple[Rule, str]] = []
    tables = data.get("rule")
    if not isinstance(tables, list) or not tables:
        raise ValueError(f"{source}: no [[rule]] tables; add at least one rule")
    for n, t in enumerate(tables, 1):
        where = f"{source}: rule {n}"
        unknown = set(t) - _RULE_KEYS
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_RULE_KEYS)}")
        category = _CATEGORIES.get(str(t.get("category", "")).upper())
        if category is None:
            raise ValueError(f"{where}: category must be one of {sorted(_CATEGORIES)}")
        default_dir = {PSEUDO: "pseudo", TERMINATE: "terminate"}.get(category, "forward")
        direction = str(t.get("direction", default_dir)).lower()
        if direction not in _DIRECTIONS:
            raise ValueError(f"{where}: direction must be one of {sorted(_DIRECTIONS)}")
        if (category in (PSEUDO, TERMINATE)) != (direction in ("pseudo", "terminate")):
            raise ValueError(f"{where}: PSEUDO/TERMINATE rules need direction pseudo/terminate and only they")
        max_scope = t.get("max_scope")
        if max_scope is not None and (not isinstance(max_scope, int) or max_scope < 0):
            raise ValueError(f"{where}: max_scope must be a whole number of tokens")
        ends = t.get("terminates", list(MODIFIERS))
        ends = [ends] if isinstance(ends, str) else ends
        try:
            terminates = frozenset(_CATEGORIES[str(c).upper()] for c in ends)
        except KeyError:
            raise ValueError(f"{where}: terminates lists an unknown category") from None
        if ("literal" in t) == ("pattern" in t):
            raise ValueError(f"{where}: give exactly one of literal or pattern")
        if "literal" in t:
            items = t["literal"] if isinstance(t["literal"], list) else [t["literal"]]
            regexes = [(str(x), _literal_regex(str(x))) for x in items]
        else:
            items = t["pattern"] if isinstance(t["pattern"], list) else [t["pattern"]]
            regexes = [(str(t.get("name") or x), str(x)) for x in items]
        for label, rx in regexes:
            if not label.strip():
                raise ValueError(f"{where}: empty literal or pattern")
            if "pattern" in t and re.search(r"[A-Z]", re.sub(r"\\.", "", rx)):
                raise ValueError(f"{where}: write patterns in lower case (text is matched lower-cased)")
            try:
                compiled = re.compile(rx)
            except re.error as exc:
                raise ValueError(f"{where}: bad regex ({exc})") from None
            if compiled.groups:
                raise ValueError(f"{where}: use (?:...) groups only, not capturing groups")
            if compiled.match(""):
                raise ValueError(f"{where}: pattern matches the empty string")
            kind = "literal" if "literal" in t else "pattern"
            out.append((Rule(label, category, direction, max_scope, terminates, kind), rx))
    return out


# Same-length lower-casing (str.lower can change lengths), curly quote as straight.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ\u2019", "abcdefghijklmnopqrstuvwxyz'")
_SPACES = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACES.sub(" ", text.strip().translate(_ASCII_LOWER))


def _trie_regex(words: list[str] | set[str], space: str = r"\s+") -> str:
    """One regex for many literals, shaped as a prefix tree so the regex engine
    rejects a position after a character or two; greedy, so longer literals win.
    A space in a literal matches `space` (any run of whitespace by default)."""
    root: dict = {}
    for w in words:
        node = root
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        ends = "" in node
        alts = []
        for ch in sorted(k for k in node if k):
            head = space if ch == " " else re.escape(ch)
            alts.append(head + emit(node[ch]))
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if ends else body

    return emit(root)


def _starts_with_word_char(rx: str) -> bool | None:
    """Whether a regex always / never starts with a letter or digit; None if mixed or unknown."""
    try:
        from re import _constants as c, _parser  # private module, hence the broad fallback
        ops = list(_parser.parse(rx))
    except Exception:  # noqa: BLE001 - unknown engine: use the slower general guard
        return None

    def firsts(seq: list) -> set[bool] | None:
        for i, (op, av) in enumerate(seq):
            rest = seq[i + 1:]
            if op in (c.AT, c.ASSERT, c.ASSERT_NOT):
                continue
            if op is c.LITERAL:
                return {chr(av).isalnum()}
            if op is c.IN:
                out: set[bool] = set()
                for kind, val in av:
                    if kind is c.LITERAL:
                        out.add(chr(val).isalnum())
                    elif kind is c.CATEGORY and val is c.CATEGORY_DIGIT:
                        out.add(True)
                    else:
                        return None
                return out
            if op is c.BRANCH:
                out = set()
                for branch in av[1]:
                    got = firsts(list(branch) + rest)
                    if got is None:
                        return None
                    out |= got
                return out
            if op is c.SUBPATTERN:
                return firsts(list(av[-1]) + rest)
            if op in (c.MAX_REPEAT, c.MIN_REPEAT):
                inner = firsts(list(av[2]) + rest)
                if av[0] > 0 or inner is None:
                    return inner
                after = firsts(rest)
                return None if after is None else inner | after
            return None
        return None

    got = firsts(ops)
    return next(iter(got)) if got is not None and len(got) == 1 else None


class _Matcher:
    """Finds rule matches: all literals in one prefix-tree regex, regex rules in
    another; overlaps go to the longer match. Several rules may share a span
    ("denied" forward and backward)."""

    def __init__(self, rules: list[tuple[Rule, str]]):
        # Everything runs on ASCII-lower-cased text without re.IGNORECASE
        # (several times faster); patterns are validated to be lower case.
        self._literals: dict[str, list[Rule]] = {}
        self._patterns: list[tuple[Rule, re.Pattern[str]]] = []
        groups: dict[bool | None, list[str]] = {True: [], False: [], None: []}
        for rule, rx in rules:
            if rule.kind == "literal":
                self._literals.setdefault(_norm(rule.label), []).append(rule)
            else:
                self._patterns.append((rule, re.compile(f"{_START_GUARD}(?:{rx}){_END_GUARD}")))
                groups[_starts_with_word_char(rx)].append(rx)
        self._trie = (re.compile(r"(?<!\w)" + _trie_regex(list(self._literals)) + _END_GUARD)
                      if self._literals else None)
        self._regexes: list[re.Pattern[str]] = []
        # a pattern starting with a letter must start a word; one starting with
        # punctuation (": denied") may follow a word directly
        for word_start, guard in ((True, r"(?<!\w)"), (False, ""), (None, _START_GUARD)):
            if groups[word_start]:
                alts = "|".join(f"(?:{rx})" for rx in groups[word_start])
                self._regexes.append(re.compile(f"{guard}(?:{alts}){_END_GUARD}"))

    def finditer(self, text: str) -> list[_Match]:
        cands: list[tuple[int, int, list[Rule]]] = []
        low = text.translate(_ASCII_LOWER)
        if self._trie is not None:
            for m in self._trie.finditer(low):
                cands.append((m.start(), m.end(), self._literals[_norm(m.group())]))
        for rx in self._regexes:
            for m in rx.finditer(low):
                a, b = m.start(), m.end()
                rules = [r for r, one in self._patterns if (x := one.match(low, a)) and x.end() == b]
                cands.append((a, b, rules))
        cands.sort(key=lambda c: (c[0], c[0] - c[1]))
        out: list[_Match] = []
        last = 0
        for a, b, rules in cands:
            if a >= last:
                out.extend(_Match(a, b, r) for r in rules)
                last = b
        return out


class ConText:
    """A compiled rule set. `assess` is the one thing callers need."""

    def __init__(self, rules: list[tuple[Rule, str]]):
        # Pseudo-triggers are found separately so they veto any trigger they
        # overlap, wherever it starts.
        self._pseudo = _Matcher([p for p in rules if p[0].category == PSEUDO])
        self._main = _Matcher([p for p in rules if p[0].category != PSEUDO])
        self._scan = lru_cache(maxsize=512)(self._scan_uncached)

    @classmethod
    def from_toml(cls, text: str, source: str = "context rules") -> ConText:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{source}: not valid TOML ({exc})") from None
        return cls(parse_rules(data, source))

    def _scan_uncached(self, text: str) -> tuple[list[tuple[int, int]], list[_Match], list[tuple[int, int]]]:
        pseudo = [(m.start, m.end) for m in self._pseudo.finditer(text)]
        return split_sentences(text), self._main.finditer(text), pseudo

    def past_time(self, sentence: str) -> bool:
        """Whether the sentence names a past date or age ("in 2019", "at age 17", "until about
        1998"): a HISTORICAL pattern rule, not a bare "history" word."""
        return any(m.rule.category == HISTORICAL and m.rule.kind == "pattern" for m in self._scan(sentence)[1])

    def assess(self, sentence: str, start: int, end: int) -> Assessment:
        """Context of the target sentence[start:end]."""
        if not (0 <= start < end <= len(sentence)):
            raise ValueError(f"target span {start}:{end} is outside the sentence (length {len(sentence)})")
        spans, found, pseudo = self._scan(sentence)
        # a pseudo-trigger that overlaps the target is part of it ("no CHANGE IN
        # VISION"), so it blocks nothing
        blocked = [(a, b) for a, b in pseudo if not (a < end and start < b)]
        lo = next((a for a, b in reversed(spans) if a <= start), 0)
        hi = next((b for a, b in spans if b >= end), len(sentence))

        def n_tokens(a: int, b: int) -> int:
            return len(_TOKEN.findall(sentence, a, b))

        stops = [m for m in found if m.rule.category == TERMINATE and lo <= m.start and m.end <= hi
                 and not any(m.start < b and a < m.end for a, b in blocked)]
        hits: dict[str, list[tuple[int, str]]] = {}
        for m in found:
            rule = m.rule
            if rule.category in (TERMINATE, PSEUDO) or m.start < lo or m.end > hi:
                continue
            if m.start < end and start < m.end:  # overlaps the target itself
                continue
            if any(m.start < b and a < m.end for a, b in blocked):
                continue
            if m.end <= start and rule.direction in ("forward", "bidirectional"):
                gap = (m.end, start)
            elif m.start >= end and rule.direction in ("backward", "bidirectional"):
                gap = (end, m.start)
            else:
                continue
            if rule.max_scope is not None and n_tokens(*gap) > rule.max_scope:
                continue
            if any(gap[0] <= s.start and s.end <= gap[1] and rule.category in s.rule.terminates
                   for s in stops):
                continue
            hits.setdefault(rule.category, []).append((gap[1] - gap[0], rule.label))

        historical = HISTORICAL in hits
        if historical and CURRENT in hits:
            # the closer cue wins; a tie goes to "current"
            historical = min(hits[HISTORICAL])[0] < min(hits[CURRENT])[0]
        cues = tuple(f"{cat}:{label}" for cat in (NEGATED, HISTORICAL, HYPOTHETICAL, OTHER, CURRENT)
                     for _, label in sorted(hits.get(cat, ())))
        return Assessment(
            negated=NEGATED in hits,
            historical=historical,
            hypothetical=HYPOTHETICAL in hits,
            other_experiencer=OTHER in hits,
            cues=cues,
        )


def load_default() -> ConText:
    text = resources.files("notesplugin").joinpath("checklists", "context_rules.toml").read_text("utf-8")
    return ConText.from_toml(text, "notesplugin/checklists/context_rules.toml")


DEFAULT = load_default()


def assess(sentence: str, start: int, end: int) -> Assessment:
    """Is sentence[start:end] negated, historical, hypothetical or about someone else?"""
    return DEFAULT.assess(sentence, start, end)


def past_time(sentence: str) -> bool:
    """Does the sentence name a past date or age?"""
    return DEFAULT.past_time(sentence)


def assess_in_text(text: str, start: int, end: int) -> Assessment:
    """assess() for a span of a whole note: only the sentence holding the span is read."""
    lo, hi = sentence_at(text, start, end)
    return DEFAULT.assess(text[lo:hi], start - lo, end - lo)
