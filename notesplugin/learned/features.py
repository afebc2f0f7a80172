"""Sentence features shared by training and scanning: the words of the sentence,
of the sentences just before it and of its section heading, plus a few facts the
rules work out (who the sentence names, how old what it says is). Plain strings,
so a model is a readable table of weights."""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

_TOKEN = re.compile(r"[a-z][a-z'/]*[a-z]|[a-z]|\d+")
_DIGITS = re.compile(r"\d")
# Emergency and crisis-line numbers are words ("rang 999", "called 000"); every other
# run of digits is only its length, so a blood pressure of 113 is not "000".
_SERVICE_NUMBERS = {n: "tel" + n for n in ("911", "999", "000", "112", "988", "111", "116123", "741741", "1737")}


def is_number(token: str) -> bool:
    """A digit run or a service number: not a word for the word groups (learned/clusters.py)."""
    return token[0].isdigit() or token in _SERVICE_WORDS


_SERVICE_WORDS = frozenset(_SERVICE_NUMBERS.values())
WINDOW = 3  # sentences before the act whose words count as its context
CLUSTERS = "data/word_clusters.json"


def clusters_fingerprint() -> str:
    """Which word groups a model was trained with (its meta records this)."""
    ref = resources.files("notesplugin").joinpath(CLUSTERS)
    return hashlib.sha256(ref.read_bytes()).hexdigest()[:12] if ref.is_file() else ""


@lru_cache(maxsize=1)
def clusters() -> dict[str, str]:
    """Word -> cluster id: words whose meaning a sentence encoder puts close together
    share one feature, so a word no labeled note used still counts by its neighbours
    ("bereaved" with "grief" and "mourning"). Plain data made by `python -m notesplugin.learned.clusters`."""
    ref = resources.files("notesplugin").joinpath(CLUSTERS)
    if not ref.is_file():
        return {}
    data = json.loads(ref.read_text(encoding="utf-8"))
    return {w: str(c) for w, c in data["clusters"].items()}


@lru_cache(maxsize=65536)
def tokens(text: str) -> tuple[str, ...]:
    # Cached: exports repeat their template lines ("Denies SI/HI.") note after note.
    # A token is letters (a-z, ' and /) or a run of digits: digit runs become zeros, service numbers words.
    return tuple(t if "a" <= t[0] <= "z" else _SERVICE_NUMBERS.get(t) or _DIGITS.sub("0", t)
                 for t in _TOKEN.findall(text.lower()))


def sentence_features(own: Sequence[str], quoted: Sequence[str], before: list[Sequence[str]], after: Sequence[str],
                      section: str, facts: tuple[str, ...]) -> list[str]:
    """The feature strings of one sentence; duplicates collapse (presence, not counts)."""
    out = {"bias"}
    out.update("w:" + t for t in own)
    out.update("b:" + a + "_" + b for a, b in zip(own, own[1:]))
    # Five-letter stems: "reassuring", "reassurance" and a typed "reassurd" share one.
    out.update("s:" + t[:5] for t in own if len(t) > 5)
    out.update("q:" + t for t in quoted)
    for k, words in enumerate(before):  # nearest first
        out.update(("p1:" if k == 0 else "p:") + t for t in words)
    out.update("n:" + t for t in after)
    if section:
        out.add("h:" + section)
    out.update("f:" + f for f in facts)
    # Word groups: a word no labeled note used still counts by its neighbours. On the
    # items too since v21 (held-out rescuing +0.006, MTSamples crisis precision 0.78 -> 0.88).
    cl = clusters()
    out.update("c:" + c for c in (cl.get(t) for t in set(own)) if c)
    return sorted(out)


def topic_features(feats: Sequence[str], note_words: Sequence[str], rules: Sequence[str] = ()) -> list[str]:
    """What the topic reads: the sentence, its whole window of context pooled, and
    every word of the note. The topic is the issue the client was in, which the
    note as a whole names far more often than the act's own sentence does.
    rules: the rules' topic words around the act, as features (`reader.rule_topics`)."""
    out = set(feats) | set(rules)
    out.update("p:" + f[3:] for f in feats if f.startswith("p1:"))
    out.update("d:" + t for t in note_words)
    cl = clusters()  # the sentence's own word groups (c:) are in feats already
    out.update("dc:" + c for c in map(cl.get, note_words) if c)
    return sorted(out)


_NONE = object()  # "not computed yet" in a memo whose values may be None
_MEMO_SIZE = 20_000


class Rows:
    """A model's weight rows keyed by feature kind, so a sentence is scored straight
    from its words, without building and sorting its feature strings (the scan's
    hot path; `sentence_features` stays the definition, a test holds the two equal)."""

    def __init__(self, dense: dict[str, tuple[float, ...]]):
        by: dict[str, dict[str, tuple[float, ...]]] = {}
        for f, row in dense.items():
            kind, sep, rest = f.partition(":")
            by.setdefault(kind if sep else f, {})[rest] = row
        get = lambda kind: by.get(kind, {}).get  # noqa: E731
        self.w, self.b, self.s, self.q = get("w"), get("b"), get("s"), get("q")
        self.p1, self.p, self.n, self.h, self.f = get("p1"), get("p"), get("n"), get("h"), get("f")
        self.bias = by.get("bias", {}).get("")
        self.d, self.c, self.dc = get("d"), get("c"), get("dc")
        self.full = dense.get
        # Sums of one kind's rows, by the words they come from (see `scores`).
        self._memos: dict[str, dict] = {"wq": {}, "n": {}, "p1": {}, "p": {}, "f": {}, "c": {}, "pall": {}, "read": {}, "top": {}}

    def sentence(self, own: Sequence[str], quoted: Sequence[str], before: list[Sequence[str]], after: Sequence[str],
                 section: str, facts: tuple[str, ...]) -> list[tuple[float, ...]]:
        """The rows of exactly the features `sentence_features` gives the same arguments."""
        return self._rows(own, quoted, before, after, section, facts, pool=False)

    def _rows(self, own, quoted, before, after, section, facts, pool: bool) -> list[tuple[float, ...]]:
        """The rows of one sentence (None dropped). pool: the topic's reading, where the nearest
        sentence's words count as p: too; the items keep it apart as p1:."""
        rows = [*self._word_rows(own, quoted), *map(self.n, set(after)), *map(self.f, set(facts)),
                *self._cluster_rows(own)]
        if before:
            rows += map(self.p1, set(before[0]))
            rest = before if pool else before[1:]
            if rest:
                rows += map(self.p, set().union(*rest))
        if section:
            rows.append(self.h(section))
        rows.append(self.bias)
        return [r for r in rows if r is not None]

    def scores(self, own: Sequence[str], quoted: Sequence[str], before: list[Sequence[str]], after: Sequence[str],
               section: str, facts: tuple[str, ...], base: Sequence[float]) -> list[float]:
        """base plus the rows of `sentence` (the same arguments), summed kind by kind. Each kind's
        sum is kept by the words it comes from: a sentence's words come back as its neighbours'
        "after" and "before", and template lines repeat note after note."""
        return self._sum(own, quoted, before, after, section, facts, base, pool=False)

    def topic_scores(self, own: Sequence[str], quoted: Sequence[str], before: list[Sequence[str]],
                     after: Sequence[str], section: str, facts: tuple[str, ...], base: Sequence[float],
                     rules: Sequence[str] = ()) -> list[float]:
        """base plus the rows of `topic_sentence` (the same arguments), summed kind by kind as in `scores`."""
        rows = [r for r in map(self.full, set(rules)) if r is not None]
        return self._sum(own, quoted, before, after, section, facts, add(rows, base) if rows else base, pool=True)

    def _sum(self, own, quoted, before, after, section, facts, base, pool: bool) -> list[float]:
        parts = [base, self._part("wq", (own, quoted), self._word_rows, own, quoted),
                 self._part("n", tuple(after), self._rows_of, self.n, after),
                 self._part("f", facts, self._rows_of, self.f, facts),
                 self._part("c", own, self._cluster_rows, own)]
        if before:
            parts.append(self._part("p1", before[0], self._rows_of, self.p1, before[0]))
            rest = tuple(before if pool else before[1:])
            if rest:  # "pall" and "p" sum different sentences: two memos
                parts.append(self._part("pall" if pool else "p", rest, self._rows_of, self.p, set().union(*rest)))
        if section:
            parts.append(self.h(section))
        parts.append(self.bias)  # the "bias" feature every sentence has
        return [sum(col) for col in zip(*[r for r in parts if r is not None])]

    def readable(self, own: Sequence[str], quoted: Sequence[str]) -> list[tuple[str, tuple[float, ...]]]:
        """(feature, row) for each feature a reader can find in the sentence itself that has
        weights: its words, word pairs and quoted words (`Parts.readable`); kept by the words."""
        memo = self._memos["read"]
        key = (own, quoted)
        got = memo.get(key)
        if got is None:
            if len(memo) > _MEMO_SIZE:
                memo.clear()
            got = memo[key] = [(kind + t, r) for kind, get, keys in (
                ("w:", self.w, set(own)), ("b:", self.b, {a + "_" + b for a, b in zip(own, own[1:])}),
                ("q:", self.q, set(quoted))) for t in keys for r in (get(t),) if r is not None]
        return got

    def top_readable(self, own: Sequence[str], quoted: Sequence[str], i: int, n: int = 4) -> list[str]:
        """The n readable features that push label i up most, as words (a finding's "why");
        kept by the words and the label."""
        memo = self._memos["top"]
        key = (own, quoted, i, n)
        got = memo.get(key)
        if got is None:
            if len(memo) > _MEMO_SIZE:
                memo.clear()
            up = [(f, r[i]) for f, r in self.readable(own, quoted) if r[i] > 0]
            up.sort(key=lambda x: (-x[1], x[0]))
            got = memo[key] = [f.split(":", 1)[1].replace("_", " ") for f, _ in up[:n]]
        return got

    def _cluster_rows(self, own: Sequence[str]) -> map:
        cl = clusters()
        return map(self.c, {c for c in map(cl.get, set(own)) if c})

    def _part(self, kind: str, key, make, *args) -> tuple[float, ...] | None:
        """The memoised sum of make(*args) (None: no row has a weight)."""
        memo = self._memos[kind]
        got = memo.get(key, _NONE)
        if got is _NONE:
            if len(memo) > _MEMO_SIZE:  # a huge, varied export: stay bounded
                memo.clear()
            rows = [r for r in make(*args) if r is not None]
            got = memo[key] = tuple(map(sum, zip(*rows))) if rows else None
        return got

    def _word_rows(self, own: Sequence[str], quoted: Sequence[str]) -> list:
        uniq = set(own)
        return [*map(self.w, uniq), *map(self.b, {a + "_" + b for a, b in zip(own, own[1:])}),
                *map(self.s, {t[:5] for t in uniq if len(t) > 5}), *map(self.q, set(quoted))]

    @staticmethod
    def _rows_of(get, words) -> map:
        return map(get, set(words))

    def topic_sentence(self, own: Sequence[str], quoted: Sequence[str], before: list[Sequence[str]],
                       after: Sequence[str], section: str, facts: tuple[str, ...],
                       rules: Sequence[str] = ()) -> list[tuple[float, ...]]:
        """The rows of exactly what `sentence_topic` reads for `sentence_features` of the same
        arguments and the same rules, straight from the words (the topic of every act in a scan asks for it)."""
        return self._rows(own, quoted, before, after, section, facts, pool=True) + \
            [r for r in map(self.full, set(rules)) if r is not None]

    def sentence_topic(self, feats: Sequence[str], rules: Sequence[str] = ()) -> list[tuple[float, ...]]:
        """The rows of the sentence's part of `topic_features` (all but d: and dc:)."""
        fs = set(feats) | set(rules)
        fs.update("p:" + f[3:] for f in feats if f.startswith("p1:"))
        return [r for r in map(self.full, fs) if r is not None]

    def note(self, note_words: Sequence[str]) -> list[tuple[float, ...]]:
        """The rows of the whole-note part of `topic_features` (d: and dc:)."""
        cl = clusters()
        rows = [*map(self.d, note_words), *map(self.dc, {c for c in map(cl.get, note_words) if c})]
        return [r for r in rows if r is not None]


def add(rows: Sequence[tuple[float, ...]], base: Sequence[float]) -> list[float]:
    """base plus every row, label by label (zip/sum: the adding runs in C)."""
    return [sum(col) for col in zip(base, *rows)]


def note_terms(text: str) -> list[str]:
    """The whole note's words and word pairs, each once (the crisis note head reads these):
    a note that answers a crisis says so all over ("ambulance", "crisis team", "safety plan")."""
    t = tokens(text)
    return sorted(set(t) | {a + "_" + b for a, b in zip(t, t[1:])})
