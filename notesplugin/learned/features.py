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
    # Word groups for the topic only: on the held-out sets they lift the topic
    # (0.80 -> 0.86) but not the items (0.850 -> 0.842 with them on the items too).
    cl = clusters()
    out.update("c:" + c for c in (cl.get(f[2:]) for f in feats if f.startswith("w:")) if c)
    out.update("dc:" + c for c in map(cl.get, note_words) if c)
    return sorted(out)
