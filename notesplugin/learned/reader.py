"""The learned model at work inside the engine: it proposes sentences per item;
the rules' logic (who acted, recency, exemption) decides what may stand."""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import replace
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

from notesplugin import context
from notesplugin.learned.features import WINDOW, add, note_terms, sentence_features, tokens
from notesplugin.learned.model import Model, logit as _logit
from notesplugin.model import Finding, Note

if TYPE_CHECKING:
    from notesplugin.checklists import Item
    from notesplugin.checklists.engine import Engine


# A terse note drops the writer as subject ("Did not explore it further.", "Then
# changed the subject to ..."): a sentence that opens on one of the clinician's
# acts, after at most a bullet, a SOAP label and an adverb, is the writer's own act.
_ELIDED = re.compile(
    r"\s*(?:[-*\u2022]\s+)?(?:[A-Za-z]{1,3}:\s*)?(?:(?:then|also|later|briefly|quickly|instead|again|next|so|and)\s+)?"
    r"(?:did\s*n[o']?t|not|changed|switched|moved|shifted|redirected|turned|went|spent|gave|provided|offered|"
    r"suggested|reassured|told|assured|reminded|encouraged|ended|wrapped|closed|cut|stopped|interrupted|broke|"
    r"let|left|kept|skipped|tabled|deferred|handed|sent|assigned|introduced|taught|reviewed|pivoted|steered|"
    r"brought|returned|focused|normali[sz]ed|explained|asked|pointed|walked|called|pulled|put|jumped|launched|pushed|"
    r"talked|praised|prompted|directed)\b", re.IGNORECASE)

_DENIAL_WORDS = ("denies", "denied", "deny", "denying", "negative for", "neg for")
_DENIALS = frozenset(f"NEGATED_EXISTENCE:{w}" for w in _DENIAL_WORDS)
_DENIAL = re.compile(r"\b(?:" + "|".join(w.replace(" ", r"\s+") for w in _DENIAL_WORDS) + r")\b", re.IGNORECASE)

# A crisis the note head reads with no sentence over its threshold stands on one of the sentence
# heads' NOTE_TRIES likeliest (sentence, item) readings, none under NOTE_LEAST.
NOTE_TRIES = 3
NOTE_LEAST = 0.01

# The spec's rescuing needs a client in a difficult emotion. Where the rules'
# emotion words see none, a model reading stands only when it is this sure.
SURE = 0.9


def _age_fact(age: int | None) -> str | None:
    if age is None:
        return None
    return "age:0" if age <= 1 else "age:7" if age <= 7 else "age:30" if age <= 30 else "age:old"


class Parts:
    """What a note's sentence features are made of: per sentence its own words, its
    quoted words, its section key and the facts the rules work out; and every
    sentence's words (the context of its neighbours)."""

    def __init__(self, own: list, quoted: list, sections: list[str], facts: list[tuple[str, ...]], words: list):
        self.own, self.quoted, self.sections, self.facts, self.words = own, quoted, sections, facts, words

    def args(self, k: int) -> tuple:
        """The arguments of `sentence_features` (and `Rows.sentence`) for sentence k."""
        before = [self.words[j] for j in range(k - 1, max(-1, k - 1 - WINDOW), -1)]
        after = self.words[k + 1] if k + 1 < len(self.words) else []
        return self.own[k], self.quoted[k], before, after, self.sections[k], self.facts[k]

    def features(self, k: int) -> list[str]:
        return sentence_features(*self.args(k))

    def readable(self, k: int) -> list[str]:
        """The features a reader can find in sentence k itself: its words, word pairs and quoted words."""
        own = self.own[k]
        return ["w:" + t for t in set(own)] + ["b:" + a + "_" + b for a, b in set(zip(own, own[1:]))] + \
            ["q:" + t for t in set(self.quoted[k])]


def note_parts(engine: "Engine", note: Note, sents: list, ndate: date | None,
               shown: list[bool | None] | None = None) -> Parts:
    """The parts of every sentence's features (the same code trains and scans)."""
    from notesplugin.checklists import engine as E  # the engine's own who-acted and section rules

    actor_re, _, _ = engine._actor_res(note)
    # One actor scan over the whole note, shared out by sentence (a scan per sentence was slow).
    joined = "\n".join(s.masked for s in sents)
    starts, at = [], 0
    for s in sents:
        starts.append(at)
        at += len(s.masked) + 1
    sides: list[set[str]] = [set() for _ in sents]
    firsts: list[str | None] = [None] * len(sents)
    for m in actor_re.finditer(joined):
        k = bisect_right(starts, m.start()) - 1
        side = "t" if m.group("t") else "o"
        sides[k].add(side)
        if firsts[k] is None and E.is_subject(joined, m):
            firsts[k] = "s:" + side
    words = [tokens(s.text) for s in sents]
    shown = shown if shown is not None else [None] * len(sents)  # the engine's emotion memo, when it has one
    own, quoted, sections, all_facts = [], [], [], []
    for k, s in enumerate(sents):
        own.append(tokens(s.masked) if s.masked != s.text else words[k])
        quoted.append(tokens(_quoted_text(s.text, s.masked)) if s.masked != s.text else ())
        facts = sorted(sides[k])
        if firsts[k]:
            facts.append(firsts[k])
        elided, fp, passive = _wording(s.masked)
        if s.client_line:
            facts.append("said:client")
        elif s.clinician_line:
            facts.append("said:clin")  # the clinician's own words in a verbatim: their act
        elif elided:
            facts.append("elided")
        if fp:
            facts.append("fp")
        if passive:
            facts.append("passive")
        if s.section:
            if E._CLIENT_SECTION.match(s.section):
                facts.append("sec:client")
            elif E._CLINICIAN_SECTION.search(s.section):
                facts.append("sec:clin")
        if any(engine._emotional(sents, j, shown) for j in range(engine._window_start(sents, k), k + 1)):
            facts.append("emo")
        age = _age_fact(engine.age_days(s.text, ndate))
        if age:
            facts.append(age)
        sections.append(_section_key(s.section))
        all_facts.append(tuple(facts))
    return Parts(own, quoted, sections, all_facts, words)


def rule_topics(engine: "Engine", sents: list, k: int) -> tuple[str, ...]:
    """The rules' topic words around an act, as features of the topic head (the same code trains
    and scans): the topics whose words sentence k holds (rs:) and the topic the rules pick over its
    emotion window (rt:; "none" where no topic word is there). Grouped folds on the training sets:
    topic 0.814 -> 0.826 (README: what the topic reads)."""
    s = sents[k]
    own = engine._topic_counts(s.text, s.present, True)
    window = [(sents[j].text, 1.5 if j == k else 1.0, sents[j].present) for j in range(engine._window_start(sents, k), k + 1)]
    return tuple(sorted({"rs:" + t for t in own} | {"rt:" + (engine.topic_of(window) or "none")}))


_BLANKS = re.compile(" +")


def _quoted_text(text: str, masked: str) -> str:
    """The quoted words alone: text where the mask blanked it, spaces elsewhere
    (run by run, not character by character)."""
    out, at = [], 0
    for m in _BLANKS.finditer(masked):
        a, b = m.span()
        out += [" " * (a - at), text[a:b]]
        at = b
    out.append(" " * (len(masked) - at))
    return "".join(out)


def note_features(engine: "Engine", note: Note, sents: list, ndate: date | None,
                  shown: list[bool | None] | None = None) -> list[list[str]]:
    """Features of every sentence of a note, as strings (training; the scan sums the same rows)."""
    parts = note_parts(engine, note, sents, ndate, shown)
    return [parts.features(k) for k in range(len(sents))]


@lru_cache(maxsize=65536)
def _wording(masked: str) -> tuple[bool, bool, bool]:
    """(opens on an elided writer's act, first person, passive): cached, template lines repeat."""
    from notesplugin.checklists import engine as E
    return _ELIDED.match(masked) is not None, E._FIRST_PERSON.search(masked) is not None, \
        E._PASSIVE.search(masked) is not None


@lru_cache(maxsize=1024)
def _section_key(section: str) -> str:
    return " ".join(tokens(section)[:3])


def actor_allows(feats: list[str], writers: tuple[str, ...] = ()) -> bool:
    """Logic, not language: a sentence that names only the client (or others)
    as actors is not the clinician's act, unless it is passive ("was told").
    `writers`: a practice's own names for its writer ("vrc"), learned from its corrections."""
    return facts_allow([f[2:] for f in feats if f.startswith("f:")], [f[2:] for f in feats if f.startswith("w:")], writers)


def facts_allow(facts, words=(), writers: tuple[str, ...] = ()) -> bool:
    fs = set(facts)
    if "said:client" in fs:
        return False
    if fs & {"t", "fp", "sec:clin", "passive", "elided", "said:clin"}:
        return True
    if writers and not set(writers).isdisjoint(words):
        return True  # the practice's own name for its writer (learned/adapt.py: writers)
    return not (fs & {"o", "sec:client"})


class NoteReading:
    def __init__(self, reader: "Reader", engine: "Engine", note: Note, sents: list, ndate: date | None,
                 shown: list[bool | None] | None = None):
        self.model, self.engine, self.note, self.sents, self.ndate = reader.model, engine, note, sents, ndate
        self.parts = note_parts(engine, note, sents, ndate, shown)
        # Scored from the words straight to the weight rows: no feature strings on the hot path.
        scores, bias, squash = self.model.rows.scores, self.model.bias, self.model.squash
        self.p = [squash(scores(*self.parts.args(k), bias)) for k in range(len(sents))]
        self._feats: list[list[str]] | None = None
        self._note_rows: list | None = None
        self._topics: dict[int, str] = {}  # sentence -> its topic (several items may act in one sentence)
        # A practice model's names for its writer (learned/adapt.py: writers).
        self.writers = tuple((self.model.meta.get("practice") or {}).get("writers", ()))

    @property
    def feats(self) -> list[list[str]]:
        """Every sentence's feature strings (learning from corrections; built on first use)."""
        if self._feats is None:
            self._feats = [self.parts.features(k) for k in range(len(self.sents))]
        return self._feats

    @property
    def probs(self) -> list[dict[str, float]]:
        return [dict(zip(self.model.labels, p)) for p in self.p]

    def prob(self, k: int, item_id: str, default: float = 0.0) -> float:
        i = self.model.column.get(item_id)
        return default if i is None else self.p[k][i]

    def _why(self, item_id: str, k: int) -> str:
        # Words a reader can find in the sentence (not stems, context or internal facts).
        # As `Model.why` over `Parts.readable(k)` (a test holds them equal), straight from the rows.
        top = self.model.rows.top_readable(self.parts.own[k], self.parts.quoted[k], self.model.column[item_id])
        p = self.prob(k, item_id)
        return f" [model {p:.2f}: {', '.join(top)}]" if top else f" [model {p:.2f}]"

    def _words_modified(self, item: "Item", k: int) -> bool:
        """ConText on the model's own evidence, for a review-of-systems denial ("The patient denies
        chest pain, bleeding gums, arm cramps"): the words that weighed most for the item, from the
        denial on, all sit under it (two at least). Only denials: "could not answer" is how a C5 is
        said, and "denies SI but has the pills" keeps its "pills"."""
        if "negated" not in item.context:
            return False
        text = self.sents[k].text
        d = _DENIAL.search(text)
        if d is None:
            return False
        top = self.model.rows.top_readable(self.parts.own[k], self.parts.quoted[k], self.model.column[item.id], 4)
        denied = 0
        for w in top:
            if sum(c.isalpha() for c in w) < 3:
                continue
            m = re.search(r"(?<!\w)" + r"\s+".join(map(re.escape, w.split())) + r"(?!\w)", text[d.end():], re.IGNORECASE)
            if not m:
                continue
            at = d.end() + m.start()
            cut = text.rfind(";", 0, at) + 1  # the word's own clause, as for a cue
            a = context.assess(text[cut:], at - cut, at + len(m.group()) - cut)
            if not (a.negated and any(c in _DENIALS for c in a.cues)):
                return False
            denied += 1
        return denied >= 2

    def _hits(self, item: "Item"):
        t = self.model.thresholds.get(item.id)
        i = self.model.column.get(item.id)
        if t is None or i is None:
            return
        for k, p in enumerate(self.p):
            if p[i] >= t:
                yield k

    def crisis(self, items: list["Item"]) -> list[Finding]:
        out = []
        for item in items:
            for k in self._hits(item):
                if self._crisis_stands(item, k):
                    out.append(self.engine._finding(self.note, item, self.sents[k], "present", item.topic,
                                                    made_by="model", why=self._why(item.id, k)))
        return out

    def _crisis_stands(self, item: "Item", k: int) -> bool:
        """The rules' logic over a crisis reading of sentence k: recency, the item's exceptions (in the
        sentence, and `unless_near` beside it), ConText."""
        from notesplugin.checklists import engine as E
        s = self.sents[k]
        age = self.engine.age_days(s.text, self.ndate)
        if item.max_age_days is not None and age is not None and age > item.max_age_days \
                and not E.still_current(age, s.text):
            return False  # recency is logic: an attempt in 2019 is history, whatever the words
        if self.engine.unless(item, s.text) or (item.unless_near and self.engine._near(item, self.sents, k)):
            return False
        return not (item.context and self._words_modified(item, k))

    def whole_note(self, found: list[Finding], items: list["Item"]) -> list[Finding]:
        """The crisis note head over the note's crisis findings (README: the crisis note head). A note
        it reads as no crisis note (under its veto) keeps none: the cues and sentence readings there
        were someone else's crisis, history or a denial. A note it reads as a crisis note (from `adds`
        up) where no sentence reached one gets the sentence and item the sentence heads read most like
        a crisis, where the rules' logic lets that reading stand."""
        head = self.model.crisis_note
        if not head:
            return found
        terms = note_terms(self.note.text)
        p = self.model.note_crisis(terms)
        if p is None:
            return found
        if p < head["veto"]:
            # but an item whose checklist entry says `note_veto = false` keeps a rule's finding of it
            return [f for f in found if f.item in self.engine.never_note_vetoed and f.made_by != "model"]
        if found or p < head["adds"]:
            return found
        ranked = sorted(((self.prob(k, i.id), i.id, k, i) for k in range(len(self.sents)) for i in items
                         if i.id in self.model.column), key=lambda x: (-x[0], x[1], x[2]))
        for q, _, k, item in ranked[:NOTE_TRIES]:
            if q < NOTE_LEAST:
                break
            if self._crisis_stands(item, k):
                top = ", ".join(self.model.note_crisis_why(terms))
                why = f" [model: the whole note reads as a crisis note {p:.2f} ({top}); this sentence most, {item.id} {q:.2f}]"
                return [self.engine._finding(self.note, item, self.sents[k], "present", item.topic, made_by="model", why=why)]
        return []

    def rescuing(self, items: list["Item"], crisis_ids: tuple[str, ...]) -> list[Finding]:
        out = []
        for item in items:
            for k in self._hits(item):
                if self._stands(item, k, crisis_ids, self.prob(k, item.id)):
                    out.append(self._rescue(item, k, crisis_ids, self._why(item.id, k)))
        return out + self._acts(items, crisis_ids)

    def _stands(self, item: "Item", k: int, crisis_ids: tuple[str, ...], sure: float) -> bool:
        """The rules' logic over a model reading: who acted, the item's exceptions, an emotion."""
        if item.actor != "any" and not facts_allow(self.parts.facts[k], self.parts.own[k], self.writers):
            return False
        if self.engine.unless(item, self.sents[k].text):
            return False  # the item's own exceptions (a stated rationale, the client's request)
        # no emotion the rules can see: only a sure reading stands
        return not (item.needs_emotion and not crisis_ids and "emo" not in self.parts.facts[k] and sure < SURE)

    def _rescue(self, item: "Item", k: int, crisis_ids: tuple[str, ...], why: str) -> Finding:
        exempt = crisis_ids if crisis_ids and item.exempt_in_crisis else ()
        return self.engine._finding(self.note, item, self.sents[k], "exempt" if exempt else "flagged",
                                    item.topic or self.topic(k), exempt, made_by="model", why=why)

    def margin(self, k: int, item_id: str) -> float:
        """How far the model's reading of an item is above (or below) its threshold, in log-odds."""
        return _logit(self.prob(k, item_id, 0.5)) - _logit(self.model.thresholds.get(item_id, 0.5))

    def _acts(self, items: list["Item"], crisis_ids: tuple[str, ...]) -> list[Finding]:
        """A sentence the act head reads as one of the therapist's acts, where no act item's own
        head reached its threshold, becomes the act item the model reads it most like, if that
        item reads no further than the model's floor below its threshold: two readings that
        agree stand where neither alone would (README: the act head)."""
        act, col = self.model.act, self.model.column.get("act")
        if not act or col is None or act["floor"] is None:
            return []
        t = self.model.thresholds.get("act", 1.0)
        cand = [i for i in items if i.act and i.id in act["items"] and i.id in self.model.column]
        # Items that are no act (R7: what the writer records about themself): a sentence one of
        # them reads as is that statement, however much its "I ... so I ..." reads like an act.
        said = [i for i in items if not i.act and i.id in self.model.column]
        out = []
        for k, p in enumerate(self.p):
            if p[col] < t or not cand or any(self.prob(k, i.id) >= self.model.thresholds.get(i.id, 1.0) for i in cand):
                continue
            if any(self.prob(k, i.id) >= self.model.thresholds.get(i.id, 1.0) for i in said):
                continue
            item = max(cand, key=lambda i: (self.margin(k, i.id), i.id))
            if self.margin(k, item.id) >= act["floor"] and self._stands(item, k, crisis_ids, p[col]):
                top = self.model.rows.top_readable(self.parts.own[k], self.parts.quoted[k], col)
                out.append(self._rescue(item, k, crisis_ids, f" [model: an act {p[col]:.2f}, most like {item.id} "
                                        f"{self.prob(k, item.id):.2f}" + (f": {', '.join(top)}]" if top else "]")))
        return out

    def one_act(self, found: list[Finding]) -> list[Finding]:
        """One sentence, one act: of the act items found on a sentence, one that reads more than
        the model's gap below the best of them is dropped (a redirect that is a fix is the fix),
        unless the rules and the model both found it: two readers agreeing on a second act ("told
        her there was nothing to worry about, then switched to her insurance appeal") keep it
        (README: one act per sentence)."""
        act = self.model.act
        if not act:
            return found
        at = {s.start: k for k, s in enumerate(self.sents)}
        by: dict[int, list[float]] = {}
        for f in found:
            if f.item in act["items"] and f.start in at:
                by.setdefault(f.start, []).append(self.margin(at[f.start], f.item))
        best = {st: max(ms) for st, ms in by.items() if len(ms) > 1}
        return [f for f in found if f.start not in best or f.item not in act["items"] or f.made_by == "rules+model"
                or self.margin(at[f.start], f.item) >= best[f.start] - act["gap"]]

    def topic(self, k: int) -> str:
        """The issue the client was in, read by the model from the sentence, its context
        and the whole note (leave-one-set-out: 0.79 right, against 0.67 for the rules' topic
        words and 0.64 for the same model on the sentence alone; README)."""
        got = self._topics.get(k)
        if got is None:
            m = self.model
            if self._note_rows is None:  # the whole note's part, shared by every act in it
                self._note_rows = add(m.topic_rows.note(sorted(set(tokens(self.note.text)))), m.topic_bias)
            got = self._topics[k] = m.topic_of(m.topic_rows.topic_scores(*self.parts.args(k), self._note_rows,
                                                                          self.rule_topics(k)))[0]
        return got

    def rule_topics(self, k: int) -> tuple[str, ...]:
        return rule_topics(self.engine, self.sents, k)

    def merge(self, rules: list[Finding], learned: list[Finding], items: list["Item"] | None = None) -> list[Finding]:
        """Rules and model together; a sentence both found is one finding, credited to both.
        With `items`, a finding only the rules made takes the model's topic as well, so
        one note's topics never depend on which path found the act."""
        seen = {(f.item, f.start): f for f in learned}
        free = {i.id for i in items or () if not i.topic}
        vetoes = {k: v for k, v in (self.model.vetoes or {}).items() if k not in self.engine.never_vetoed}
        at = {s.start: k for k, s in enumerate(self.sents)} if free or vetoes else {}
        out = []
        for f in rules:
            twin = seen.pop((f.item, f.start), None)
            if twin is not None:
                f = replace(f, made_by="rules+model", topic=twin.topic, reason=twin.reason)
            elif f.start in at and self.prob(at[f.start], f.item, 1.0) < vetoes.get(f.item, 0.0):
                continue  # a cue matched words the model is sure are no such act (README: vetoes)
            elif f.item in free and f.start in at:
                f = replace(f, topic=self.topic(at[f.start]))
            out.append(f)
        return out + [f for f in learned if (f.item, f.start) in seen]


class Reader:
    def __init__(self, model: Model):
        self.model = model

    _default: "Reader | None" = None

    @classmethod
    def default(cls) -> "Reader | None":
        """The shipped model, or None when none is shipped yet (rules alone)."""
        if cls._default is None:
            from importlib import resources
            if not resources.files("notesplugin").joinpath("data/model.json").is_file():
                return None
            cls._default = cls(Model.load())
        return cls._default

    def read(self, engine: "Engine", note: Note, sents: list, ndate: date | None,
             shown: list[bool | None] | None = None) -> NoteReading:
        return NoteReading(self, engine, note, sents, ndate, shown)


# What the facts the rules work out for a sentence mean, for `explain` (the model's own names stay in
# findings.jsonl's reasons, where they are keys).
FACTS = {
    "t": "the clinician named in it", "o": "someone else named in it (client, family, staff)",
    "s:t": "the clinician is its subject", "s:o": "someone else is its subject",
    "said:client": "the client's own quoted words", "said:clin": "the clinician's own quoted words",
    "elided": "opens on a verb with no subject (the writer's act)", "fp": "written in the first person",
    "passive": "written in the passive", "sec:client": "in a client section (Subjective, Data)",
    "sec:clin": "in a clinician section (Intervention, Plan)",
    "emo": "the client in a difficult emotion in or just before it",
    "age:0": "dated the session day", "age:7": "dated within a week before",
    "age:30": "dated within a month before", "age:old": "dated over a month before",
}


def _group_words(group: str, model: Model, n: int = 3) -> list[str]:
    """A few words of a word group, those the model weighs most on their own."""
    from notesplugin.learned.features import clusters
    weight = {f[2:]: sum(abs(w) for _, w in row) for f, row in model.weights.items() if f.startswith("w:")}
    members = [w for w, c in clusters().items() if c == group]
    return sorted(members, key=lambda w: (-weight.get(w, 0.0), len(w), w))[:n]


def _readable(feature: str, model: Model | None = None) -> str:
    kind, _, rest = feature.partition(":")
    if kind == "f":
        return FACTS.get(rest, "fact " + rest)
    if kind == "c":
        words = _group_words(rest, model) if model is not None else []
        return f"words like {'/'.join(words)}" if words else "a word group"
    if kind == "s":
        return rest + "..."  # a five-letter stem: "reass..." is reassure, reassurance, a typed reassurd
    where = {"w": "", "b": "", "q": "quoted ", "p1": "just before: ", "p": "before: ", "n": "after: ",
             "h": "section "}.get(kind, kind + " ")
    return where + rest.replace("_", " ")


def model_summary(item_id: str, n: int = 10) -> dict | None:
    """What the shipped model learned for one item: its threshold and heaviest features."""
    reader = Reader.default()
    if reader is None or item_id not in reader.model.labels:
        return None
    m = reader.model
    i = m.labels.index(item_id)
    ws = sorted(((w, f) for f, row in m.weights.items() for j, w in row if j == i and f != "bias"), key=lambda x: (-x[0], x[1]))
    act = m.act if m.act and item_id in m.act["items"] and m.act["floor"] is not None else None
    head = m.crisis_note
    return {"threshold": m.thresholds.get(item_id, 1.0), "veto": (m.vetoes or {}).get(item_id, 0.0),
            "note_head": {k: head[k] for k in ("veto", "adds", "min_terms", "max_terms")} if head else None,
            "act": {"threshold": m.thresholds.get("act", 1.0), "floor": act["floor"], "gap": act["gap"],
                    "items": act["items"]} if act else None,
            "notes": m.meta.get("notes", 0),
            "for": [_readable(f, m) for w, f in ws[:n] if w > 0],
            "against": [_readable(f, m) for w, f in reversed(ws[-n:]) if w < 0]}
