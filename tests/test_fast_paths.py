"""The scan's fast paths compute exactly what their plain definitions do, on real
labeled notes: the model's scores from word rows (vs. feature strings), the actor
scan at word starts (vs. re.finditer) and the gated time references (vs. every
time pattern on every sentence)."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from notesplugin.checklists import engine as E
from notesplugin.learned.corpus import as_note, load_set
from notesplugin.learned.features import add, tokens, topic_features
from notesplugin.learned.reader import note_features

ROOT = Path(__file__).resolve().parents[1]
ENGINE = E.Engine()
SETS = ["corpus/holdout/hos.jsonl", "corpus/holdout/asr.jsonl", "corpus/holdout/vt2.jsonl", "corpus/sets/typ.jsonl"]


@pytest.fixture(scope="module")
def notes():
    return [as_note(r) for p in SETS for r in load_set(ROOT / p)[:25]]


def test_model_scores_from_word_rows_equal_the_feature_strings(notes):
    m = ENGINE.model.model
    checked = 0
    for note in notes:
        sents, _, ndate = ENGINE._prepare(note)
        reading = ENGINE.model.read(ENGINE, note, sents, ndate)
        words = sorted(set(tokens(note.text)))
        for k, feats in enumerate(note_features(ENGINE, note, sents, ndate)):
            slow = m.probs(feats)
            assert all(math.isclose(slow[lab], reading.p[k][i], rel_tol=1e-12, abs_tol=1e-12)
                       for i, lab in enumerate(m.labels))
            assert reading.feats[k] == feats
            rules = reading.rule_topics(k)
            fast_topic = m.topic_of(add(m.topic_rows.sentence_topic(feats, rules),
                                        add(m.topic_rows.note(words), m.topic_bias)))
            assert fast_topic[0] == m.topic(topic_features(feats, words, rules))[0]
            # the topic straight from the words, as the scan asks for it, reads the same rows
            assert sorted(m.topic_rows.topic_sentence(*reading.parts.args(k), rules)) == \
                sorted(m.topic_rows.sentence_topic(feats, rules))
            assert reading.topic(k) == fast_topic[0]
            for label in m.labels:  # `explain`'s words from the rows, as Model.why picks them from strings
                want = [f.split(":", 1)[1].replace("_", " ") for f, _ in m.why(label, reading.parts.readable(k))]
                assert reading._why(label, k).startswith(f" [model {reading.prob(k, label):.2f}") and \
                    all(w in reading._why(label, k) for w in want) and \
                    reading._why(label, k).count(",") == max(0, len(want) - 1)
            checked += 1
    assert checked > 500


def test_the_actor_scan_at_word_starts_finds_what_finditer_finds(notes):
    rx = ENGINE._base_actor
    for note in notes:
        text = E._plain(note.text)
        assert [m.span() for m in E._at_word_starts(rx, text, 0, len(text))] == [m.span() for m in rx.finditer(text)]
        assert [m.span() for m in E._at_word_starts(rx, text, 5, 200)] == [m.span() for m in rx.finditer(text, 5, 200)]


def test_the_time_gate_drops_only_sentences_that_name_no_time(notes):
    seen = 0
    for note in notes:
        sents, _, ndate = ENGINE._prepare(note)
        for s in sents:
            every = E._word_ages(s.text, ndate) + (E._digit_ages(s.text, ndate) if ndate else [])
            assert ENGINE.age_days(s.text, ndate) == (max(every) if every else None)
            seen += bool(every)
    # and on phrasings the gate must let through
    d = E.date(2026, 3, 2)
    for text in ["As a Teenager she ran away.", "Seen last Monday's group.", "The fire in Jan. upended it.",
                 "Cutting 2 nights ago.", "They argued the week before.", "In childhood he hid."]:
        every = E._word_ages(text, d) + E._digit_ages(text, d)
        assert every and E.Engine.age_days(text, d) == max(every)
    assert seen > 20


def test_the_date_scan_and_the_quote_mask_shortcuts_find_what_re_finds(notes):
    texts = [t for note in notes for t in (note.text, E._plain(note.text))]
    texts += ["1/2/3/4/5", "12//3 1/2/2024 3/4/", "a1/2 /1/2 11/22/3333/4", "mood 8/10 on 3/4, 24/7", "//1/1",
              "123/45/6", "pain 7/10; seen 3/4/25", "No quotes here.", "He said 'enough' and left"]
    for text in texts:
        assert [m.span() for m in E._date_matches(text)] == [m.span() for m in E._DATE_MD.finditer(text)]
        # _dates_in scans ratings at word starts only: every _RATING match opens at one
        assert [m.span() for m in E._at_word_starts(E._RATING, text, 0, len(text))] == \
            [m.span() for m in E._RATING.finditer(text)]
        rated = [m.span(1) if m.group(1) else m.span(2) for m in E._RATING.finditer(text)]
        assert [m.span() for m in E._dates_in(text)] == \
            [m.span() for m in E._DATE_MD.finditer(text) if not any(a <= m.start() < b for a, b in rated)]
        masked = E._QUOTE.sub(lambda m: " " * len(m.group()), text)
        assert E._mask(text) == masked or masked.count('"') % 2


def test_patterns_tried_at_word_starts_match_what_re_finds(notes):
    from notesplugin.checklists.prefix import at_word_starts
    rxs = [ENGINE._base_imm, ENGINE._base_actor, E._RATING]
    assert all(at_word_starts(rx) is not None for rx in rxs)  # proved from the patterns
    for note in notes[:40]:
        sents, _, _ = ENGINE._prepare(note)
        for s in sents:
            for text in (s.text, s.masked):
                for rx in rxs:
                    fast = at_word_starts(rx)
                    if fast is not None:
                        assert [(m.span(), m.groups()) for m in E._matches(fast, text, 0, len(text))] == \
                            [(m.span(), m.groups()) for m in rx.finditer(text)]
                        want = rx.search(text)
                        got = fast.search(text)
                        assert (want and want.span()) == (got and got.span())
