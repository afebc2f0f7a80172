"""Retrain the shipped model from the repo's labeled sets:

    pip install -e ".[train]"
    python -m notesplugin.learned.train            # writes notesplugin/data/model.json
    python -m notesplugin.learned.train --check    # retrains and compares with the shipped file

Deterministic: the same data gives the same bytes (liblinear with a fixed seed,
weights rounded, keys sorted). Needs scikit-learn and scipy (training only).
"""
from __future__ import annotations

import argparse
import sys
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

from notesplugin.checklists.engine import Engine
from notesplugin.learned.corpus import as_note, load_set
from notesplugin.learned.model import FORMAT, dump, logit as _logit
from notesplugin.learned.features import clusters_fingerprint, note_terms, tokens, topic_features
from notesplugin.learned.reader import actor_allows, note_features, rule_topics

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "corpus" / "manifest.toml"
OUT = ROOT / "notesplugin" / "data" / "model.json"
LABELS = ["R1", "R2", "R3", "R4", "R5", "R6", "R7", "C1", "C2", "C3", "C4", "C5"]
TOPICS = ["anger", "grief", "sadness", "fear", "shame", "trauma", "substance", "relationship", "sexuality", "other"]
C = 2.0          # inverse regularisation, the same for every item
MIN_COUNT = 2    # a feature seen once is noise
PRUNE = 0.01     # weights smaller than this change no decision; dropping them keeps the file small
SEED = 0
FOLDS = 6        # groups of whole sets held out in turn to choose thresholds
# Positives are rare (a few per hundred sentences); weighting them up keeps the
# scores away from 0 so a threshold means the same thing on a new style.
CLASS_WEIGHT = "balanced"
# The act head: one more label, "is this sentence one of the therapist's acts" (the items
# marked `act` in the checklist), learned from all their positives together. A sentence it
# reads as an act that no item's own head reaches becomes the act item it is most like
# (learned/reader.py). GAP: a second act item on one sentence stands only within GAP
# (log-odds above its threshold) of the first, or where the rules found it too; chosen on
# the first 43 held-out sets, checked on rounds 44-48 (README: one act per sentence).
ACT = "act"
GAP = 1.0
# How far below its own threshold (log-odds) the item an act reads most like may be and still
# stand; learned on out-of-fold scores (act_floor), None where no floor helps.
FLOORS = (-0.5, -1.0, -1.5, -2.0, -2.5, -3.0)


def manifest(path: Path = MANIFEST) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def sets(names: list[str]) -> list[tuple[str, list[dict]]]:
    return [(n, load_set(ROOT / n)) for n in names]


def examples(engine: Engine, named_sets: list[tuple[str, list[dict]]]):
    """Per sentence: (set, note index, features, {item: 1 positive / 0 negative}, topic or None, topic features or None).

    Positives come from the set's spans where it has them, else from the rule
    finding on a labeled item (the rules point at the sentence; the label says it
    is right). A labeled item no span or rule locates is left for `locate`."""
    out, unlocated = [], []
    for set_name, rows in named_sets:
        for n, row in enumerate(rows):
            note = as_note(row)
            sents, _, ndate = engine._prepare(note)
            feats = note_features(engine, note, sents, ndate)
            gold = set(row["rescuing"]) | set(row.get("exempt", [])) | set(row["crisis"])
            where: dict[str, set[int]] = defaultdict(set)
            topic_at: dict[int, str] = {}
            for sp in row.get("spans", []):
                at = note.text.find(sp["text"])
                if at < 0 or sp["item"] not in gold:
                    continue
                for k, s in enumerate(sents):
                    if s.start < at + len(sp["text"]) and at < s.end:
                        where[sp["item"]].add(k)
                        if sp.get("topic"):
                            topic_at[k] = sp["topic"]
            if not row.get("spans"):
                for f in engine.check(note):
                    if f.item in gold:
                        k = next(i for i, s in enumerate(sents) if s.start == f.start)
                        where[f.item].add(k)
            one_topic = row["topics"][0] if len(set(row["topics"])) == 1 else None
            note_words = sorted(set(tokens(note.text)))
            base = len(out)
            for k, fs in enumerate(feats):
                y = {}
                for lab in LABELS:
                    if lab not in gold:
                        y[lab] = 0
                    elif k in where.get(lab, ()):
                        y[lab] = 1
                is_r = any(y.get(lab) == 1 for lab in LABELS[:7])
                topic = topic_at.get(k) or (one_topic if is_r else None)
                out.append((set_name, n, fs, y, topic,
                            topic_features(fs, note_words, rule_topics(engine, sents, k)) if topic else None))
            for lab in gold:
                if lab in LABELS and not where.get(lab):
                    unlocated.append((lab, list(range(base, len(out)))))
    return out, unlocated


SPEC = "checklists"  # the set name of the shipped items' own flag/ok examples


def spec_examples(engine: Engine):
    """The checklist files' own examples as training rows: a `flag` example is a
    positive for its item (on the sentence the model finds most likely, as for any
    unlocated label), an `ok` example a negative for it. Only that item learns
    from them: an example says nothing about the other items."""
    out, unlocated = [], []
    for item in (i for i in engine.checklists.items if i.id in LABELS):
        for kind, texts in (("flag", item.flag), ("ok", item.ok)):
            for k, text in enumerate(texts):
                note = as_note({"id": f"{item.id}-{kind}-{k}", "text": text, "date": "2026-03-02"})
                sents, _, ndate = engine._prepare(note)
                base = len(out)
                for fs in note_features(engine, note, sents, ndate):
                    out.append((SPEC, f"{item.id}-{kind}-{k}", fs, {item.id: 0}, None, None))
                if kind == "flag" and len(out) > base:
                    unlocated.append((item.id, list(range(base, len(out)))))
    return out, unlocated


def fit(rows, labels=LABELS, with_topics=True):
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    def vocabulary(lists):
        counts = Counter(f for fs in lists for f in fs)
        return sorted(f for f, n in counts.items() if n >= MIN_COUNT)

    def matrix_of(lists, vocab):
        index = {f: i for i, f in enumerate(vocab)}
        ind, ptr = [], [0]
        for fs in lists:
            ind += [index[f] for f in fs if f in index]
            ptr.append(len(ind))
        return csr_matrix(([1.0] * len(ind), ind, ptr), shape=(len(lists), len(vocab)))

    vocab = vocabulary(r[2] for r in rows)

    def matrix(sub):
        return matrix_of([r[2] for r in sub], vocab)

    heads = {}
    for lab in labels:
        sub = [r for r in rows if lab in r[3]]
        y = [r[3][lab] for r in sub]
        if sum(y) < 2:
            continue
        m = LogisticRegression(C=C, solver="liblinear", random_state=SEED, max_iter=1000, class_weight=CLASS_WEIGHT)
        m.fit(matrix(sub), y)
        heads[lab] = (m.intercept_[0], m.coef_[0])
    if not with_topics:  # the threshold folds need the items only
        return vocab, heads, ([], {}), matrix
    # Topics one-vs-rest, liblinear too: no BLAS, so the same bytes on every machine.
    tsub = [r for r in rows if r[4]]
    tvocab = vocabulary(r[5] for r in tsub)
    xt = matrix_of([r[5] for r in tsub], tvocab)
    topics = {}
    for topic in sorted({r[4] for r in tsub}):
        m = LogisticRegression(C=C, solver="liblinear", random_state=SEED, max_iter=1000)
        m.fit(xt, [int(r[4] == topic) for r in tsub])
        topics[topic] = (m.intercept_[0], m.coef_[0])
    return vocab, heads, (tvocab, topics), matrix


def predict(vocab, heads, rows):
    """P(item) per sentence from fitted heads, with the same sums the runtime model does."""
    import math
    index = {f: i for i, f in enumerate(vocab)}
    out = []
    for r in rows:
        ids = [index[f] for f in r[2] if f in index]
        p = {}
        for lab, (b, w) in heads.items():
            z = b + sum(w[i] for i in ids)
            p[lab] = 1 / (1 + math.exp(-max(-30, min(30, z))))
        out.append(p)
    return out


def act_items(engine: Engine) -> list[str]:
    return [i.id for i in engine.rescuing if i.act and i.id in LABELS]


def mark_acts(rows, acts: list[str]) -> None:
    """The act label of every sentence, once the items are located: 1 where any act item is,
    0 where every act item is known absent (a note labeled without them), else unlabeled."""
    for r in rows:
        y = r[3]
        got = [y.get(lab) for lab in acts]
        if 1 in got:
            y[ACT] = 1
        elif all(v == 0 for v in got):
            y[ACT] = 0


def locate(rows, unlocated, probs):
    """A labeled item nothing pointed at: its most likely sentence in the note is the positive."""
    for lab, ks in unlocated:
        pool = [k for k in ks if lab not in LABELS[:7] or actor_allows(rows[k][2])] or ks
        best = max(pool, key=lambda k: (probs[k].get(lab, 0.0), -k))
        rows[best][3][lab] = 1


def thresholds(rows, oof, named_sets, rule: str = "near-best", acts: list[str] = ()):
    """Per item, the threshold with the best note-level F1 on out-of-fold scores.
    rule "near-best": the highest within a point of the best; "smoothed": the best F1
    averaged with its two neighbours on the grid (a flat curve does not push it up)."""
    out = {}
    notes = sorted({(r[0], r[1]) for r in rows if r[0] != SPEC})  # the examples train; they never set a threshold
    by_note = defaultdict(list)
    for r, p in zip(rows, oof):
        by_note[(r[0], r[1])].append((r, p))
    gold = {(name, n): set(row["rescuing"]) | set(row.get("exempt", [])) | set(row["crisis"])
            for name, rs in named_sets for n, row in enumerate(rs)}
    for key, g in gold.items():
        if g & set(acts):
            g.add(ACT)
    for lab in LABELS + ([ACT] if acts else []):
        scored = []
        for t in [x / 100 for x in range(5, 100, 5)]:
            tp = fp = fn = 0
            for key in notes:
                hit = any(p.get(lab, 0) >= t and (lab not in LABELS[:7] + [ACT] or actor_allows(r[2])) for r, p in by_note[key])
                g = lab in gold[key]
                tp += hit and g
                fp += hit and not g
                fn += g and not hit
            scored.append((2 * tp / (2 * tp + fp + fn) if tp else 0.0, t))
        if rule == "smoothed":
            fs = [f for f, _ in scored]
            smooth = [(sum(fs[max(0, i - 1):i + 2]) / len(fs[max(0, i - 1):i + 2]), t) for i, (_, t) in enumerate(scored)]
            out[lab] = max(smooth)[1]  # ties to the higher threshold
            continue
        # The highest threshold within a point of the best F1: a new style tends to
        # score lower everywhere, and a low threshold then floods it with flags.
        top = max(f for f, _ in scored)
        out[lab] = max(t for f, t in scored if f >= top - 0.01)
    return out


def act_floor(rows, oof, named_sets, th: dict[str, float], acts: list[str]) -> float | None:
    """The act head's floor: of FLOORS, the one with the best note-level F1 over the act items on
    out-of-fold scores, a sentence counting as its best item where the act head reaches its
    threshold and no item does (the reader's rule); None (no fallback) unless one helps."""
    by_note = defaultdict(list)
    for r, p in zip(rows, oof):
        if r[0] != SPEC and actor_allows(r[2]):
            by_note[(r[0], r[1])].append(p)
    gold = {(name, n): (set(row["rescuing"]) | set(row.get("exempt", []))) & set(acts)
            for name, rs in named_sets for n, row in enumerate(rs)}
    cut = {i: _logit(th[i]) for i in acts}

    def f1(floor):
        tp = fp = fn = 0
        for key, g in gold.items():
            got = set()
            for p in by_note.get(key, ()):
                over = {i for i in acts if p.get(i, 0.0) >= th[i]}
                got |= over
                if floor is not None and not over and p.get(ACT, 0.0) >= th[ACT]:
                    m, i = max((_logit(p.get(i, 0.0)) - cut[i], i) for i in acts)
                    if m >= floor:
                        got.add(i)
            tp, fp, fn = tp + len(got & g), fp + len(got - g), fn + len(g - got)
        return 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    best, score = None, f1(None)
    for floor in FLOORS:  # the most cautious first: a lower floor must do strictly better
        f = f1(floor)
        if round(f, 6) > round(score, 6):
            best, score = floor, f
    return best


VETOES = (0.0, 0.01, 0.02, 0.05, 0.1)  # 0.0: no veto


def vetoes(engine: Engine, rows, oof, named_sets, th: dict[str, float]) -> dict[str, float]:
    """Per item, the model score under which a sentence only the rules found is dropped: the
    value with the best item-level F1 on out-of-fold scores (ties: the smallest, so no veto
    unless it helps). Rescuing items are judged on notes without a crisis (there their flags
    are exempt); crisis items on every note, since a false crisis silences a whole note."""
    at = defaultdict(list)
    for k, r in enumerate(rows):
        at[(r[0], r[1])].append(k)
    cases = []  # (item, gold, model hit, [out-of-fold score of each rules-only sentence])
    for name, rs in named_sets:
        for n, row in enumerate(rs):
            note = as_note(row)
            sents = engine._prepare(note)[0]
            ks = at[(name, n)]
            if len(ks) != len(sents):
                continue
            found = engine.check(note)
            crisis_note = any(f.checklist == "crisis" for f in found)
            start = {s.start: k for k, s in zip(ks, sents)}
            ruled = defaultdict(list)
            for f in found:
                if f.start in start and (f.checklist == "crisis" or (f.status == "flagged" and not crisis_note)):
                    ruled[f.item].append(oof[start[f.start]].get(f.item, 0.0))
            for lab in (LABELS[7:] if crisis_note else LABELS):
                gold = lab in (row["crisis"] if lab in LABELS[7:] else row["rescuing"])
                hit = any(oof[k].get(lab, 0.0) >= th[lab] and (lab in LABELS[7:] or actor_allows(rows[k][2]))
                          for k in ks)
                cases.append((lab, gold, hit, ruled.get(lab, [])))
    out = {}
    for lab in (lab for lab in LABELS if lab not in engine.never_vetoed):
        def f1(x):
            tp = fp = fn = 0
            for item, gold, hit, scores in cases:
                if item == lab:
                    got = hit or any(p >= x for p in scores)
                    tp += got and gold
                    fp += got and not gold
                    fn += gold and not got
            return 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        best = max(VETOES, key=lambda x: (round(f1(x), 6), -x))
        if best:
            out[lab] = best
    return out


# The crisis note head: one logistic over the whole note's words and word pairs (note_terms,
# each 1/sqrt(how many)), since a note that answers a crisis says so all over it. Its C and its two
# thresholds are chosen on out-of-fold scores (the same set folds): `adds`, the highest within a
# point of the best note F1; `veto`, the highest that keeps NOTE_KEEP of the crisis notes.
NOTE_CS = (2.0, 8.0, 32.0)
NOTE_ADDS = tuple(x / 100 for x in range(30, 96, 5))
NOTE_VETOES = (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)
NOTE_KEEP = 0.995
NOTE_SPAN = 0.99  # the head judges notes between the 1% and 99% quantiles of its training notes' length (note_terms)


def note_head(named_sets, log=print) -> dict:
    """Whether a note is a crisis note, from the whole note (README: the crisis note head)."""
    import math
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression
    names = [n for n, _ in named_sets]
    notes = [(name, row) for name, rows in named_sets for row in rows]
    terms = [note_terms(row["text"]) for _, row in notes]
    y = [int(bool(row["crisis"])) for _, row in notes]

    def fit(idx, c):
        counts = Counter(t for i in idx for t in terms[i])
        vocab = sorted(t for t, n in counts.items() if n >= MIN_COUNT)
        at = {t: j for j, t in enumerate(vocab)}
        ind, val, ptr = [], [], [0]
        for i in idx:
            got = [at[t] for t in terms[i] if t in at]
            ind += got
            val += [1 / math.sqrt(len(terms[i]))] * len(got)
            ptr.append(len(ind))
        m = LogisticRegression(C=c, solver="liblinear", random_state=SEED, max_iter=1000, class_weight=CLASS_WEIGHT)
        m.fit(csr_matrix((val, ind, ptr), shape=(len(idx), len(vocab))), [y[i] for i in idx])
        return float(m.intercept_[0]), dict(zip(vocab, (float(w) for w in m.coef_[0])))

    def prob(head, i):
        b, w = head
        z = b + sum(w.get(t, 0.0) for t in terms[i]) / math.sqrt(len(terms[i])) if terms[i] else b
        return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))

    def f1(ps, t):
        tp = sum(p >= t and g for p, g in zip(ps, y))
        fp = sum(p >= t and not g for p, g in zip(ps, y))
        return 2 * tp / (2 * tp + fp + (sum(y) - tp)) if tp else 0.0

    best = None
    for c in NOTE_CS:
        oof = [0.0] * len(notes)
        for g in range(FOLDS):
            out = set(names[g::FOLDS])
            head = fit([i for i, (n, _) in enumerate(notes) if n not in out], c)
            for i, (n, _) in enumerate(notes):
                if n in out:
                    oof[i] = prob(head, i)
        top = max(f1(oof, t) for t in NOTE_ADDS)
        log(f"  crisis note head C={c}: out-of-fold note F1 {top:.4f}")
        if best is None or round(top, 6) > round(best[0], 6):
            best = (top, c, oof)
    top, c, oof = best
    adds = max(t for t in NOTE_ADDS if f1(oof, t) >= top - 0.01)
    crisis = [p for p, g in zip(oof, y) if g]
    veto = max([t for t in NOTE_VETOES if sum(p >= t for p in crisis) >= NOTE_KEEP * len(crisis)] or [0.0])
    log(f"  crisis note head: C {c}, adds {adds}, veto {veto}")
    b, w = fit(list(range(len(notes))), c)
    lengths = sorted(len(t) for t in terms)
    return {"C": c, "adds": adds, "veto": veto, "bias": round(b, 4),
            "min_terms": lengths[int((1 - NOTE_SPAN) * (len(lengths) - 1))],
            "max_terms": lengths[int(NOTE_SPAN * (len(lengths) - 1))],
            "weights": {t: round(x, 4) for t, x in sorted(w.items()) if abs(x) >= PRUNE}}


def build(man: dict, log=print, rule: str = "near-best") -> dict:
    engine = Engine(model=False)
    named = sets(man["train"])
    rows, unlocated = examples(engine, named)
    spec_rows, spec_unlocated = spec_examples(engine)
    unlocated += [(lab, [k + len(rows) for k in ks]) for lab, ks in spec_unlocated]
    rows += spec_rows
    log(f"{sum(len(r) for _, r in named)} notes, {len(rows)} sentences, {len(unlocated)} labeled items with no sentence")
    vocab, heads, _, _ = fit(rows, with_topics=False)
    locate(rows, unlocated, predict(vocab, heads, rows))
    acts = act_items(engine)
    mark_acts(rows, acts)
    heads_of = LABELS + [ACT]
    # Out-of-fold scores to set each item's threshold: whole sets held out together
    # (FOLDS groups, every FOLDS-th set), so a fold's styles are unseen, as in a new practice.
    oof = [None] * len(rows)
    names = [n for n, _ in named]
    for g in range(FOLDS):
        out = set(names[g::FOLDS])
        train = [r for r in rows if r[0] not in out]
        held = [i for i, r in enumerate(rows) if r[0] in out]
        v, h, _, _ = fit(train, labels=heads_of, with_topics=False)
        for i, p in zip(held, predict(v, h, [rows[i] for i in held])):
            oof[i] = p
        log(f"  fold {g + 1} of {FOLDS}: {', '.join(sorted(Path(n).stem for n in out))}")
    th = thresholds(rows, oof, named, rule, acts)
    veto = vetoes(engine, rows, oof, named, th)
    log(f"  vetoes: {veto}")
    floor = act_floor(rows, oof, named, th, acts) if ACT in th else None
    log(f"  act floor: {floor}")
    vocab, heads, (tvocab, tm), _ = fit(rows, labels=heads_of)
    weights: dict[str, list] = defaultdict(list)
    labels = [lab for lab in heads_of if lab in heads]
    for j, lab in enumerate(labels):
        for f, w in zip(vocab, heads[lab][1]):
            if abs(w) >= PRUNE:
                weights[f].append([j, round(float(w), 4)])
    tweights: dict[str, list] = defaultdict(list)
    tnames = sorted(tm)
    for j, topic in enumerate(tnames):
        for f, w in zip(tvocab, tm[topic][1]):
            if abs(w) >= PRUNE:
                tweights[f].append([j, round(float(w), 4)])
    return {
        "format": FORMAT,
        "meta": {"trained_on": names, "notes": sum(len(r) for _, r in named), "sentences": len(rows),
                 "C": C, "min_count": MIN_COUNT, "prune": PRUNE, "seed": SEED,
                 "clusters": clusters_fingerprint(),
                 "command": "python -m notesplugin.learned.train",
                 **({"thresholds": rule} if rule != "near-best" else {})},
        "labels": labels,
        "bias": [round(float(heads[lab][0]), 4) for lab in labels],
        "thresholds": {lab: th[lab] for lab in labels},
        "vetoes": {lab: veto[lab] for lab in labels if lab in veto},
        **({"act": {"items": acts, "gap": GAP, "floor": floor}} if ACT in heads else {}),
        "weights": dict(sorted(weights.items())),
        "topics": tnames,
        "topic_bias": [round(float(tm[t][0]), 4) for t in tnames],
        "topic_weights": dict(sorted(tweights.items())),
        "crisis_note": note_head(named, log),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="retrain and compare with the shipped model; exit 1 if they differ")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--thresholds", choices=("near-best", "smoothed"), default="near-best",
                    help="how each item's threshold is chosen from out-of-fold F1 (README: the threshold rule)")
    args = ap.parse_args(argv)
    text = dump(build(manifest(), log=lambda m: print(m, file=sys.stderr), rule=args.thresholds))
    if args.check:
        same = args.out.read_text(encoding="utf-8") == text
        print("identical to the shipped model" if same else "differs from the shipped model")
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
