"""A cheap, sound pre-filter for regex cues.

For each cue we work out a set of lower-case literals such that every possible
match contains at least one of them ("any-of"). A sentence holding none of
them cannot match, so the costly regex is skipped. Python's re scans every
position with every alternative; a few substring tests are far cheaper.
"""
from __future__ import annotations

import re
from bisect import bisect_right

from notesplugin.context import _trie_regex

try:  # Python 3.11+: the parser lives in re._parser
    from re import _constants as C
    from re import _parser as P
except ImportError:  # pragma: no cover
    import sre_constants as C  # type: ignore
    import sre_parse as P  # type: ignore

MIN_LEN = 3
# Words in nearly every sentence: a literal set holding one opens almost
# always, so it is worth little as a gate and costs index hits.
COMMON = frozenset("the and her his him she they them their was were for not had has have that this with "
                   "but you are all out one who did can".split())


# Under re.IGNORECASE these non-ASCII letters equal ASCII ones; folding them
# keeps the gate sound. Done before lower(), so "İ" stays one character.
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})


def fold(text: str) -> str:
    """text lower-cased for literal tests, same length, so offsets still hold."""
    return text.translate(_FOLD).lower()


def cost(lits: set[str] | frozenset[str]) -> float:
    """Rough chance a sentence holds one of lits: lower is a better gate."""
    return sum(5.0 if w in COMMON else 1.0 / (len(w) - 1) for w in lits)


def _best(options: list[set[str]]) -> set[str] | None:
    return min(options, key=cost) if options else None


def _seq(items) -> list[set[str]]:
    """Every mandatory element of a sequence gives a necessary literal set."""
    options: list[set[str]] = []
    run = ""
    for op, av in items:
        if op is C.LITERAL and chr(av).isascii():  # other letters have case variants lower() misses
            run += chr(av).lower()
            continue
        if len(run) >= MIN_LEN:
            options.append({run})
        run = ""
        options += _node(op, av)
    if len(run) >= MIN_LEN:
        options.append({run})
    return options


def _node(op, av) -> list[set[str]]:
    if op is C.SUBPATTERN:
        return _seq(av[-1])
    if op is C.BRANCH:
        out: set[str] = set()
        for branch in av[1]:
            got = _best(_seq(branch))
            if not got:
                return []
            out |= got
        return [out]
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
        lo, _hi, body = av
        return _seq(body) if lo >= 1 else []
    if op is C.ATOMIC_GROUP if hasattr(C, "ATOMIC_GROUP") else False:
        return _seq(av)
    return []  # classes, anchors, lookarounds, backrefs: no literal promise


def _parse(pattern: str) -> list[set[str]]:
    try:
        parsed = P.parse(pattern, re.IGNORECASE)
    except Exception:  # noqa: BLE001 - any parser surprise: just don't gate
        return []
    return _seq(list(parsed))


def literals(pattern: str) -> frozenset[str] | None:
    """The best any-of literal set for a pattern, or None when none can be promised."""
    got = _best(_parse(pattern))
    return frozenset(got) if got else None


def clauses(pattern: str) -> list[frozenset[str]]:
    """All-of any-of sets: every match holds a literal of each set. Best first;
    sets of common words are dropped unless nothing else is left."""
    sets = sorted({frozenset(s) for s in _parse(pattern)}, key=lambda s: (cost(s), sorted(s)))
    useful = [s for s in sets if s.isdisjoint(COMMON)]
    return useful or sets[:1]


class Gate:
    """The literals a group of patterns needs: if a sentence lacks every literal
    of any one clause (per a LiteralIndex pass), none of the patterns can match there."""

    def __init__(self, patterns: list[str]):
        if len(patterns) == 1:
            self.clauses: tuple[frozenset[str], ...] = tuple(clauses(patterns[0]))
        else:  # any of several patterns: one clause, the union of their best sets
            sets = [literals(p) for p in patterns]
            self.clauses = () if any(s is None for s in sets) else (frozenset(w for s in sets for w in s),)
        # the best clause, for an index from literal to gate; None: always open
        self.lits: frozenset[str] | None = self.clauses[0] if self.clauses else None
        self.rest = self.clauses[1:]
        self.words = frozenset(w for c in self.clauses for w in c)

    def open(self, present: frozenset[str] | set[str]) -> bool:
        for c in self.clauses:
            if c.isdisjoint(present):
                return False
        return True


class LiteralIndex:
    """Which gate literals occur in a text, found in one trie-shaped regex pass
    (Python's re has no multi-pattern automaton; a trie keeps it to one scan)."""

    def __init__(self, words: set[str]):
        self.words = frozenset(words)
        # Exact spaces: a match must be a literal itself (it keys self.prefixes).
        self.rx = re.compile(f"(?=({_trie_regex(words, space=re.escape(' '))}))") if words else None
        # every literal that is a prefix of a longer one is present with it
        self.prefixes = {w: frozenset(p for p in words if w.startswith(p)) for w in words}

        # No literal holds a space, so each one sits inside a whitespace-free token,
        # and tokens repeat across notes: the literals of a token are cached.
        self.by_token = not any(ch.isspace() for w in self.words for ch in w)
        self._tokens: dict[str, frozenset[str]] = {}

    def find(self, lowered: str) -> list[tuple[int, frozenset[str]]]:
        if self.rx is None:
            return []
        return [(m.start(), self.prefixes[m.group(1)]) for m in self.rx.finditer(lowered) if m.group(1)]

    def in_token(self, token: str) -> frozenset[str]:
        got = self._tokens.get(token)
        if got is None:
            got = frozenset().union(*[w for _, w in self.find(token)])
            if len(self._tokens) > 100_000:  # stay bounded on a huge, varied export
                self._tokens.clear()
            self._tokens[token] = got
        return got

    def present(self, folded: str, spans: list[tuple[int, int]]) -> list[set[str]]:
        """The literals in each span of a fold()ed text. Spans must be
        whitespace-bounded (as split_sentences makes them), so no literal
        crosses a span's edge."""
        lowered = folded
        if not self.by_token:  # a literal with a space: place each by where it starts
            starts = [a for a, _ in spans]
            out: list[set[str]] = [set() for _ in spans]
            for pos, words in self.find(lowered):
                k = bisect_right(starts, pos) - 1
                if k >= 0:
                    out[k] |= words
            return out
        out = []
        get, slow = self._tokens.get, self.in_token
        for a, b in spans:
            toks = lowered[a:b].split()
            got = list(map(get, toks))  # nearly every token is known: one pass in C
            if None in got:
                got = [slow(t) if g is None else g for t, g in zip(toks, got)]
            out.append(set().union(*got))
        return out

