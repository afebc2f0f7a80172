"""A sound guard on a regex's first two letters.

`openings(pattern)` works out, from the parsed pattern, short lower-case strings
such that every match opens with one of them (a one-letter string: any letter may
follow it). A lookahead built from them (`guarded`) fails in C, at once, where the
pattern cannot match, so the pattern's own alternation (the actor words: a hundred
and fifty of them, each tried in turn under IGNORECASE) runs only where it may.
Every doubt widens the guard: an operation it does not know lets anything follow.
"""
from __future__ import annotations

import re
from functools import lru_cache

try:  # Python 3.11+: the parser lives in re._parser
    from re import _constants as C
    from re import _parser as P
except ImportError:  # pragma: no cover
    import sre_constants as C  # type: ignore
    import sre_parse as P  # type: ignore

N = 2  # letters the guard looks at
_ZERO_WIDTH = (C.AT, C.ASSERT, C.ASSERT_NOT)
_REPEATS = tuple(op for op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)) if op)
_ATOMIC = getattr(C, "ATOMIC_GROUP", None)

# A state is a set of (opening so far, closed): a closed opening lets anything follow.
State = frozenset


def _close(state: State) -> State:
    return frozenset((s, True) for s, _ in state)


def _extend(state: State, chars: set[str]) -> State:
    out = set()
    for s, closed in state:
        if closed:
            out.add((s, True))
        else:
            out.update((s + c, len(s) + 1 >= N) for c in chars)
    return frozenset(out)


def _chars(av) -> set[str] | None:
    """The ASCII letters a class matches, lower-cased; None: any character may."""
    chars: set[str] = set()
    for op, a in av:
        if op is C.LITERAL:
            chars.add(chr(a))
        elif op is C.RANGE and a[1] - a[0] <= 64:
            chars.update(map(chr, range(a[0], a[1] + 1)))
        else:  # a category (\w, \s), a negation, a wide range
            return None
    # Non-ASCII letters may equal ASCII ones under IGNORECASE (the Kelvin sign and "k").
    return {c.lower() for c in chars} if all(c.isascii() for c in chars) else None


def _seq(items, state: State) -> State:
    for op, av in items:
        if all(closed for _, closed in state):
            break  # nothing open: the rest cannot change what a match opens with
        state = _op(op, av, state)
    return state


def _op(op, av, state: State) -> State:
    if op in _ZERO_WIDTH:
        return state  # consumes nothing (a lookaround only narrows the matches)
    if op is C.LITERAL:
        c = chr(av)
        return _extend(state, {c.lower()}) if c.isascii() else _close(state)
    if op is C.IN:
        chars = _chars(av)
        return _close(state) if chars is None else _extend(state, chars)
    if op is C.SUBPATTERN:
        return _seq(av[-1], state)
    if _ATOMIC is not None and op is _ATOMIC:
        return _seq(av, state)
    if op is C.BRANCH:
        out: set = set()
        for alt in av[1]:
            out |= _seq(alt, state)
        return frozenset(out)
    if op in _REPEATS:
        lo, hi, body = av
        for _ in range(lo):
            state = _seq(body, state)
        seen, cur, n = set(state), state, lo
        while n < hi:  # every count from lo to hi; stops once a repeat adds nothing new
            cur = _seq(body, cur)
            if cur <= seen:
                break
            seen |= cur
            n += 1
        return frozenset(seen)
    return _close(state)  # anything else: any character may come next


def openings(pattern: str, flags: int = 0) -> frozenset[str] | None:
    """Lower-case strings of one or two letters, one of which opens every match
    (case ignored); None when the pattern promises none (it may match empty)."""
    if flags & (re.LOCALE | re.VERBOSE):
        return None
    try:
        parsed = P.parse(pattern, flags)
    except Exception:  # noqa: BLE001 - any parser surprise: no guard
        return None
    got = _close(_seq(list(parsed), frozenset({("", False)})))
    found = frozenset(s for s, _ in got)
    return None if "" in found else found


def _guard(found: frozenset[str]) -> str:
    """A lookahead that holds wherever a string in `found` opens the text (any case),
    and wherever either of the next two characters is not ASCII."""
    by: dict[str, set[str]] = {}
    for s in found:
        by.setdefault(s[0], set()).add(s[1:])
    alts = []
    for c, rests in sorted(by.items()):
        if "" in rests:
            alts.append(re.escape(c))
        else:
            alts.append(re.escape(c) + "[" + "".join(re.escape(r) for r in sorted(rests)) + "]")
    return r"(?=[^\x00-\x7f]|[\s\S][^\x00-\x7f]|(?i:" + "|".join(alts) + "))"


@lru_cache(maxsize=256)
def guarded(rx: re.Pattern, prefix: str = "") -> re.Pattern | None:
    """`prefix`, the guard, then rx itself: where it matches, rx matches the same text with
    the same groups; None when rx gives no guard (then use rx as it is)."""
    found = openings(rx.pattern, rx.flags)
    if not found:
        return None
    try:
        return re.compile(prefix + _guard(found) + "(?:" + rx.pattern + ")", rx.flags)
    except re.error:  # e.g. global flags at the pattern's start: they must stay first
        return None


def _bounded(items) -> bool | None:
    """Whether every path through items asserts a word boundary before it consumes
    anything (None: the items consume nothing and assert none)."""
    for op, av in items:
        if op is C.AT and av is C.AT_BOUNDARY:
            return True
        if op in _ZERO_WIDTH:
            continue
        if op is C.SUBPATTERN or (_ATOMIC is not None and op is _ATOMIC):
            got = _bounded(av[-1] if op is C.SUBPATTERN else av)
            if got is None:
                continue
            return got
        if op is C.BRANCH:
            return all(_bounded(alt) is True for alt in av[1])
        return False  # consumes (or repeats) before any boundary
    return None


_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


@lru_cache(maxsize=1024)
def at_word_starts(rx) -> re.Pattern | None:
    """For a pattern every match of which provably opens at a word start (a word boundary
    comes before the first character, which is a letter or digit), the guarded pattern
    tried at word starts only: its search and finditer find exactly rx's. None otherwise."""
    if not isinstance(rx, re.Pattern) or not isinstance(rx.pattern, str):
        return None  # a practice's RE2 cue, or bytes
    if rx.flags & re.ASCII or _ASCII_GROUP.search(rx.pattern):
        return None  # an ASCII \b may hold after a letter that Unicode's \w counts
    found = openings(rx.pattern, rx.flags)
    if not found or not all(s[0] in _WORD_CHARS for s in found):
        return None
    try:
        if _bounded(list(P.parse(rx.pattern, rx.flags))) is not True:
            return None
    except Exception:  # noqa: BLE001
        return None
    return guarded(rx, WORD_START)


WORD_START = r"(?u:\b(?=\w))"  # a guard that holds exactly where r"\b\w" matches
_ASCII_GROUP = re.compile(r"\(\?[aiLmsux-]*a")  # an inline (?a) or (?a:...) anywhere
