"""Sentence features shared by training and scanning: the words of the sentence,
of the sentences just before it and of its section heading, plus a few facts the
rules work out (who the sentence names, how old what it says is). Plain strings,
so a model is a readable table of weights."""
from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

_TOKEN = re.compile(r"[a-z][a-z'/]*[a-z]|[a-z]|\d+")
_DIGITS = re.compile(r"\d")
WINDOW = 3  # sentences before the act whose words count as its context


@lru_cache(maxsize=65536)
def tokens(text: str) -> tuple[str, ...]:
    # Cached: exports repeat their template lines ("Denies SI/HI.") note after note.
    return tuple(_DIGITS.sub("0", t) for t in _TOKEN.findall(text.lower()))


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
    return sorted(out)


def topic_features(feats: Sequence[str], note_words: Sequence[str]) -> list[str]:
    """What the topic reads: the sentence, its whole window of context pooled, and
    every word of the note. The topic is the issue the client was in, which the
    note as a whole names far more often than the act's own sentence does."""
    out = set(feats)
    out.update("p:" + f[3:] for f in feats if f.startswith("p1:"))
    out.update("d:" + t for t in note_words)
    return sorted(out)
