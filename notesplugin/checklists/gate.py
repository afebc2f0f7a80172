"""A cheap, sound pre-filter for regex cues.

For each cue we work out a set of lower-case literals such that every possible
match contains at least one of them ("any-of"). A sentence holding none of
them cannot match, so the costly regex is skipped. Python's re scans every
position with every alternative; a few substring tests are far cheaper.
"""
from __future__ import annotations

import re

try:  # Python 3.11+: the parser lives in re._parser
    from re import _constants as C
    from re import _parser as P
except ImportError:  # pragma: no cover
    import sre_constants as C  # type: ignore
    import sre_parse as P  # type: ignore

MIN_LEN = 3


def _best(options: list[set[str] | None]) -> set[str] | None:
    sets = [s for s in options if s]
    return min(sets, key=len) if sets else None


def _seq(items) -> set[str] | None:
    """Any mandatory element's set is a valid necessary set: take the smallest."""
    options: list[set[str] | None] = []
    run = ""
    for op, av in items:
        if op is C.LITERAL:
            run += chr(av).lower()
            continue
        if len(run) >= MIN_LEN:
            options.append({run})
        run = ""
        options.append(_node(op, av))
    if len(run) >= MIN_LEN:
        options.append({run})
    return _best(options)


def _node(op, av) -> set[str] | None:
    if op is C.SUBPATTERN:
        return _seq(av[-1])
    if op is C.BRANCH:
        out: set[str] = set()
        for branch in av[1]:
            got = _seq(branch)
            if not got:
                return None
            out |= got
        return out
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
        lo, _hi, body = av
        return _seq(body) if lo >= 1 else None
    if op is C.ATOMIC_GROUP if hasattr(C, "ATOMIC_GROUP") else False:
        return _seq(av)
    return None  # classes, anchors, lookarounds, backrefs: no literal promise


def literals(pattern: str) -> frozenset[str] | None:
    """The any-of literal set for a pattern, or None when none can be promised."""
    try:
        parsed = P.parse(pattern, re.IGNORECASE)
    except Exception:  # noqa: BLE001 - any parser surprise: just don't gate
        return None
    got = _seq(list(parsed))
    return frozenset(got) if got else None


def may_match(lits: frozenset[str] | None, lowered: str) -> bool:
    return lits is None or any(l in lowered for l in lits)


class Gate:
    """The literals a group of patterns needs: if a sentence holds none of
    them (per a LiteralIndex pass), none of the patterns can match there."""

    def __init__(self, patterns: list[str]):
        sets = [literals(p) for p in patterns]
        self.lits: frozenset[str] | None = (
            None if any(s is None for s in sets) else frozenset(w for s in sets for w in s))

    def open(self, present: frozenset[str]) -> bool:
        return self.lits is None or not self.lits.isdisjoint(present)


def _trie_pattern(words: set[str]) -> str:
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        alts = [re.escape(ch) + build(sub) for ch, sub in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


class LiteralIndex:
    """Which gate literals occur in a text, found in one trie-shaped regex pass
    (Python's re has no multi-pattern automaton; a trie keeps it to one scan)."""

    def __init__(self, words: set[str]):
        self.words = frozenset(words)
        self.rx = re.compile(f"(?=({_trie_pattern(set(words))}))") if words else None
        # every literal that is a prefix of a longer one is present with it
        self.prefixes = {w: frozenset(p for p in words if w.startswith(p)) for w in words}

    def find(self, lowered: str) -> list[tuple[int, frozenset[str]]]:
        if self.rx is None:
            return []
        return [(m.start(), self.prefixes[m.group(1)]) for m in self.rx.finditer(lowered) if m.group(1)]
