"""The first-letters guard (checklists/prefix.py) never hides a match: the guarded
pattern matches exactly where and what the pattern itself does."""
from __future__ import annotations

import re

from notesplugin.checklists import engine as E
from notesplugin.checklists.prefix import guarded, openings

PATTERNS = [r"\bI\b|\b[Ww]e\b", r"(?-i:Wr|wr)\b", r"a*b", r"x?y{2,3}z", r"[a-c]d|e", r"\w+ly", r"clin\.?(?=\s)",
            r"(?:co-?)?facilitator", r"counsel+or", r"L?C?GC\b", r"(?<!x)st(?:ep)?", r"k", "\u212a", "s\u017f",
            r"(?:ab){0,4}c", r"(?>ab|a)c", r"\d\d/\d", r"(a)\1b", r"[^a]b", r"family(?!\s+issues)"]
TEXTS = ["I think we said so.", "Wr met the clinician; wr noted it.", "aaab b", "yyz xyyyz", "ad e bd cd",
         "Slowly, gently, clinician. Then clin said", "cofacilitator co-facilitator", "counsellllor", "LCGC CGC GC",
         "xst step st", "K \u212a k", "s\u017f S\u017f", "ababc abc c", "abc ac", "12/3 1/23", "aab aa", "bb ab",
         "family issues family", "\u0130nside \u0131t", ""]


def test_the_guard_keeps_every_match():
    for p in PATTERNS:
        for flags in (re.IGNORECASE, 0):
            rx = re.compile(p, flags)
            fast = guarded(rx)
            for text in TEXTS + [t.upper() for t in TEXTS] + [t.lower() for t in TEXTS]:
                for at in range(len(text) + 1):
                    want, got = rx.match(text, at), (fast or rx).match(text, at)
                    assert (want and (want.span(), want.groups())) == (got and (got.span(), got.groups())), (p, text, at)


def test_the_guard_gives_up_where_it_cannot_promise():
    assert openings(r"a*") is None  # may match empty
    assert openings(r"\w+") is None
    assert guarded(re.compile(r"(?i)abc")) is None  # global flags must stay first
    assert openings(r"ab|cd|e") == {"ab", "cd", "e"}


def test_the_actor_scan_finds_what_the_word_start_loop_finds():
    rx = E.Engine(model=False)._base_actor
    text = "Clinician and client met; I asked. Pt's mother (they) said the writer W/ Wr, then clin said ok."
    loop = [m for w in E._WORD_START.finditer(text) for m in [rx.match(text, w.start())] if m]
    kept, last = [], 0
    for m in loop:
        if m.start() >= last:
            kept.append(m)
            last = m.end()
    assert [(m.span(), m.groupdict()) for m in E._at_word_starts(rx, text, 0, len(text))] == \
        [(m.span(), m.groupdict()) for m in kept]


def test_word_start_patterns_are_proved_not_assumed():
    from notesplugin.checklists.prefix import at_word_starts
    assert at_word_starts(re.compile(r"\bab|\bcd")) is not None
    assert at_word_starts(re.compile(r"(?=a)\bab")) is not None
    for p in [r"ab\b", r"\bab|cd", r"\b\w+", r"\b(?:x)*ab|\b", r"(?a:\bab)", r"\b.ab"]:
        assert at_word_starts(re.compile(p)) is None, p
    assert at_word_starts(re.compile(r"\bab", re.ASCII)) is None
    for p in [r"\bI\b|\b[Ww]e\b", r"\b(?:cl|client)'?s?\b", r"\b(?:24/7|1[0-9] ?mg)\b"]:
        rx = re.compile(p, re.IGNORECASE)
        fast = at_word_starts(rx)
        assert fast is not None
        for text in TEXTS + ["Client's CL 24/7 10 mg 5mg we We wE I i", "x24/7 _cl cl_ cl"]:
            assert [m.span() for m in E._matches(fast, text, 0, len(text))] == [m.span() for m in rx.finditer(text)]
