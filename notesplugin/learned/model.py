"""A linear model over sentence features, read from plain JSON (loading runs no
code). One logistic score per checklist item and a softmax over topics."""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from notesplugin.learned.features import Rows

FORMAT = "notesplugin-linear/1"


def dump(data: dict) -> str:
    """The one way the project writes its model data: sorted keys, compact, one line, so the
    same weights are the same bytes (the retrain and undo compare files)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n"


def logit(p: float) -> float:
    """Log-odds of a probability (clamped): how far a reading is from a threshold, on one scale."""
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


class ModelError(Exception):
    """One line: which model file and what is wrong with it."""


def _act(raw, labels: list[str]) -> dict | None:
    if raw is None:
        return None
    items, gap = [str(x) for x in raw["items"]], float(raw["gap"])
    floor = None if raw.get("floor") is None else float(raw["floor"])
    if "act" not in labels or any(i not in labels for i in items):
        raise ValueError("the act head names a label the model lacks")
    return {"items": items, "gap": gap, "floor": floor}


def _crisis_note(raw) -> dict | None:
    if raw is None:
        return None
    veto, adds = float(raw["veto"]), float(raw["adds"])
    if not 0.0 <= veto <= adds <= 1.0:
        raise ValueError("the crisis note head needs 0 <= veto <= adds <= 1")
    return {"bias": float(raw["bias"]), "veto": veto, "adds": adds,
            "min_terms": int(raw["min_terms"]), "max_terms": int(raw["max_terms"]),
            "weights": {str(t): float(w) for t, w in raw["weights"].items()}}


@dataclass
class Model:
    labels: list[str]
    bias: list[float]
    weights: dict[str, list[tuple[int, float]]]  # feature -> [(label index, weight)]
    thresholds: dict[str, float]
    topics: list[str]
    topic_bias: list[float]
    topic_weights: dict[str, list[tuple[int, float]]]
    meta: dict
    # Per item: a sentence only the rules flagged stands unless the model gives it less than
    # this (learned on out-of-fold scores; absent or 0: the rules' finding always stands).
    vetoes: dict[str, float] | None = None
    # The act head (train.py: ACT): which items it reads together, how far under its threshold
    # the item an act reads most like may be (floor), and how close a second act item on one
    # sentence must read to the first to stand (gap). None: a model without it.
    act: dict | None = None
    # The crisis note head (train.py: note_head): whether the whole note is a crisis note, from its
    # words and word pairs; under `veto` no crisis stands in the note, from `adds` up the note is a
    # crisis where no sentence reached one. None: a model without it.
    crisis_note: dict | None = None

    @classmethod
    def from_dict(cls, data: dict, source: str = "model") -> "Model":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ModelError(f"{source}: not a notesplugin model (expected format {FORMAT!r}); retrain with "
                             "`python -m notesplugin.learned.train`")
        try:
            labels = [str(x) for x in data["labels"]]
            topics = [str(x) for x in data["topics"]]

            def table(raw: dict, n: int) -> dict[str, list[tuple[int, float]]]:
                out = {}
                for feat, row in raw.items():
                    pairs = [(int(i), float(w)) for i, w in row]
                    if any(not 0 <= i < n for i, _ in pairs):
                        raise ValueError(f"feature {feat!r} names a label out of range")
                    out[str(feat)] = pairs
                return out
            model = cls(labels=labels, bias=[float(b) for b in data["bias"]],
                        weights=table(data["weights"], len(labels)),
                        thresholds={str(k): float(v) for k, v in data["thresholds"].items()},
                        topics=topics, topic_bias=[float(b) for b in data["topic_bias"]],
                        topic_weights=table(data["topic_weights"], len(topics)), meta=dict(data.get("meta", {})),
                        vetoes={str(k): float(v) for k, v in data.get("vetoes", {}).items()},
                        act=_act(data.get("act"), labels), crisis_note=_crisis_note(data.get("crisis_note")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{source}: malformed model ({exc}); retrain with `python -m notesplugin.learned.train`") from None
        if len(model.bias) != len(labels) or len(model.topic_bias) != len(topics):
            raise ModelError(f"{source}: bias and labels differ in length; retrain the model")
        return model

    @classmethod
    def load(cls, path: Path | None = None) -> "Model":
        try:
            text = Path(path).read_text(encoding="utf-8") if path else \
                resources.files("notesplugin").joinpath("data/model.json").read_text(encoding="utf-8")
            data = json.loads(text)
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
        except FileNotFoundError:
            raise ModelError(f"{path or 'notesplugin/data/model.json'}: model file not found") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ModelError(f"{path or 'model.json'}: not valid JSON ({exc})") from None
        model = cls.from_dict(data, str(path or "notesplugin/data/model.json"))
        model.fingerprint = digest
        return model

    def __post_init__(self):
        # Dense rows (one weight per label) let zip/sum do the adding in C: several
        # times faster than a Python loop over (label, weight) pairs.
        self._dense = self._densify(self.weights, len(self.labels))
        self.column = {lab: i for i, lab in enumerate(self.labels)}  # label -> position in a row of scores
        self._tdense = self._densify(self.topic_weights, len(self.topics))
        self.rows, self.topic_rows = Rows(self._dense), Rows(self._tdense)

    @staticmethod
    def _densify(table: dict, n: int) -> dict[str, tuple[float, ...]]:
        out = {}
        for f, row in table.items():
            v = [0.0] * n
            for i, w in row:
                v[i] += w
            out[f] = tuple(v)
        return out

    @staticmethod
    def _sum(bias: list[float], dense: dict, feats: list[str]) -> list[float]:
        get = dense.get
        rows = [r for r in map(get, feats) if r is not None]
        rows.append(tuple(bias))
        return [sum(col) for col in zip(*rows)]

    def probs(self, feats: list[str]) -> dict[str, float]:
        return dict(zip(self.labels, self.squash(self._sum(self.bias, self._dense, feats))))

    @staticmethod
    def squash(z: Sequence[float]) -> list[float]:
        """Scores to probabilities, label by label."""
        exp = math.exp  # the clamp's max/min calls only where a score is out of range (or NaN)
        return [1.0 / (1.0 + exp(-(v if -30.0 < v < 30.0 else max(-30.0, min(30.0, v))))) for v in z]

    def topic(self, feats: list[str]) -> tuple[str, float]:
        return self.topic_of(self._sum(self.topic_bias, self._tdense, feats))

    def topic_of(self, z: list[float]) -> tuple[str, float]:
        """The topic of summed topic scores (bias included) and its probability."""
        top = max(z)
        ex = [math.exp(v - top) for v in z]
        k = max(range(len(z)), key=lambda i: (z[i], -i))
        return self.topics[k], ex[k] / sum(ex)

    def why(self, label: str, feats: list[str], n: int = 4) -> list[tuple[str, float]]:
        """The features that pushed this label up most: what `explain` and the finding show."""
        i = self.labels.index(label)
        dense = self._dense
        got = [(f, dense[f][i]) for f in feats if f in dense and dense[f][i] > 0]
        return sorted(got, key=lambda x: (-x[1], x[0]))[:n]

    def note_crisis(self, terms: Sequence[str]) -> float | None:
        """P(the note is a crisis note) from its `note_terms` (each counted once, the sum scaled by
        1/sqrt(how many), as trained). None: no head, or a note shorter or longer than nearly all it
        learned from (a one-line example or a 40-page dictation is not the kind of note it knows: it abstains)."""
        head = self.crisis_note
        if not head or not head["min_terms"] <= len(terms) <= head["max_terms"]:
            return None
        # map/filter keep the adding in C; a missing term is None and dropped (no weight is 0: pruned)
        z = head["bias"] + sum(filter(None, map(head["weights"].get, terms))) / math.sqrt(len(terms))
        return self.squash((z,))[0]

    def note_crisis_why(self, terms: Sequence[str], n: int = 4) -> list[str]:
        """The note's words that pushed it most toward a crisis note."""
        w = (self.crisis_note or {}).get("weights", {})
        up = sorted(((w[t], t) for t in terms if w.get(t, 0.0) > 0), key=lambda x: (-x[0], x[1]))
        return [t.replace("_", " ") for _, t in up[:n]]
