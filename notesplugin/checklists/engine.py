"""The checklist engine: sentences -> cues -> who acted, during what, in what
context -> findings. Rules live in the TOML files; this file holds only the
mechanics that every rule shares."""
from __future__ import annotations

import calendar
import re
from functools import lru_cache
from dataclasses import dataclass
from datetime import date, timedelta

from notesplugin import context
from notesplugin.checklists import FLAGS, Checklists, Item, lexicon, load
from notesplugin.checklists.gate import Gate, LiteralIndex, fold, literals
from notesplugin.checklists.prefix import WORD_START, at_word_starts, guarded
from notesplugin.dates import full_year
from notesplugin.model import Finding, Note
from notesplugin.learned.reader import Reader

TOPIC_ORDER = ["trauma", "grief", "substance", "sexuality", "relationship", "anger", "fear", "shame", "sadness"]
EMOTION_WINDOW = 3  # sentences before the act in which the client's emotion counts

_PLAIN = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-", "\u00a0": " "})
_PASSIVE = re.compile(r"(?:was|were|is|are|been|being)\s+(?:\w+ly\s+|instead\s+|then\s+|also\s+)?"
                      r"(?:\w+ed|taught|given|shown|told|sent|brought|made|put|set|cut|led|left|kept|held|taken)\b", FLAGS)
# Headings under which an act with no subject is the clinician's ("Clinician reflection:").
_CLINICIAN_SECTION = re.compile(r"\b(?:clinician|therapist|counsell?or|writer|provider|self)\b|reflection", FLAGS)
# A terse "felt unprepared; no trauma training" is the writer's own; "posture was tense" is not.
_OWN_FEELING = re.compile(r"(?:felt|feel|feeling|never|no|little|limited|not|lack\w*|unsure|uneasy|out\s+of)\b", FLAGS)
# The writer speaking of themself; "you/your" in notes written to oneself.
_FIRST_PERSON = re.compile(r"(?-i:\b(?:my|I|me|myself|you|your|you've|yourself)\b)")
_AUX_TAIL = re.compile(r"(?:\b(?:had|has|have|then|also|just|did|would)\s+)+$")
# Double quotes, and single quotes as UK/AU notes use them ('I've had enough'):
# an opening ' after a non-word, inner apostrophes only inside words.
_QUOTE = re.compile(r'"[^"\n]{0,400}"|“[^”\n]{0,400}”|(?<![\w\'])\'(?:[^\'\n]|\'(?=\w)){1,400}\'(?!\w)')
_SPEECH = re.compile(r"\b(?:said|told|explained|suggested|stated|remarked|mentioned|replied|agreed|added)\b", FLAGS)
_NEG_BEFORE = re.compile(
    r"(?:\b(?:did\s+not|didn'?t|does\s+not|doesn'?t|do\s+not|don'?t|never|without|rather\s+than|instead\s+of|not|no|"
    r"avoid(?:ed|ing)?|refrain\w*\s+from|chose\s+not\s+to|careful\s+not\s+to|resisted)|\bw/o)\s+(?:\w+\s+){0,3}$", FLAGS)
_EMO_NEG = re.compile(r"\b(?:no|not|denies|denied|without|nor|never)\s+(?:\w+\s+){0,2}$", FLAGS)
_CLAUSE_OPEN = re.compile(r"(?:[,;:(]|\b(?:and|but|so|then))\s*$", FLAGS)
_COORD = re.compile(r"(?:\b(?:and|then|but|or|so)\s*|[,;]\s*(?:and\s+|then\s+|so\s+)?)$", FLAGS)
_LEADING_CLAUSE = re.compile(
    r"^\s*(?:[A-Z][\w ]{0,25}:\s*)?(?:(?:As|When|While|After|Before|Once|Although|Though|Because|Since|If|Until|About|"
    r"Toward|Towards|Near|During|Later|At|Halfway|Midway|Whenever)\b[^,]{0,160},\s*)?")
_LABEL_ONLY = re.compile(r"^\s*(?:[A-Z][\w /&'-]{0,30}:)?\s*(?:then\s+|also\s+|\w+ly\s+)?$")
_ADVERBS = r"(?:then|also|quickly|immediately|just|again|gently|briefly|instead|had|has|have|was|were|did|would|eventually|soon|further|abruptly|promptly|\w+ly|notes?|noted|reports?|reported|states?|stated|admits?|admitted|acknowledges?|acknowledged|recognizes?|recognized)"
_ADV_TAIL = re.compile(rf"\s+(?:{_ADVERBS}\s+){{0,3}}", FLAGS)
_OBJECT_BEFORE = re.compile(
    r"\b(?:told|tell|asked|ask|reassured|reminded|helped|encouraged|invited|with|to|for|gave|handed|stopped|"
    r"redirected|informed|assured|let|made|offered|showed|taught|urged|from|about|of|by|at|that|saw|see|met|"
    r"called|than|whom|as|like)\s+(?:the\s+|a\s+|an\s+|her\s+|his\s+|their\s+|my\s+)?$", FLAGS)

# A time said by pointing back ("and at that time she made an attempt"): the previous
# sentence's time is the one meant.
_THEN = re.compile(r"\b(?:at|and)\s+(?:that|the)\s+time\b(?!\s+of\b)|\b(?:back|around)\s+then\b|\bin\s+those\s+days\b", FLAGS)
_DATE_MD = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?(?![\d/])")
# A rating written like a date ("intent 8/10", "SUDS 9/10", "mood 2/5") names no time, nor
# does "24/7": read as dates, "SI with plan tonight, intent 8/10" was last August's, history.
_RATING = re.compile(
    r"\b(?:pain|cravings?|urges?|mood|distress|anxiety|anger|confidence|readiness|rated|rates|rating|suds|"
    r"intent|intensity|importance|scaling|nrs|vas|level|severity|stress|energy|motivation|ruler|score|sleep|"
    r"hope|hopelessness|safety)\b[^\d\n.;]{0,14}?(\d{1,3}/(?:4|5|10|100))(?![/\d])|\b(24/7)\b", FLAGS)


def _dates_in(text: str):
    """_DATE_MD matches that are dates, not ratings."""
    if "/" not in text:
        return []
    dates = _date_matches(text)
    if not dates:
        return []  # most slashes are "SI/HI" or "w/": no rating to look for
    # Every _RATING match opens at a word start (a word of its list, or "24/7").
    rated = [m.span(1) if m.group(1) else m.span(2) for m in _at_word_starts(_RATING, text, 0, len(text))]
    return [m for m in dates if not any(a <= m.start() < b for a, b in rated)]


def _date_matches(text: str) -> list[re.Match]:
    """_DATE_MD.finditer(text), tried only where a match can open: one or two digits
    before a slash (re would try the lookbehind at every position)."""
    out, last, match = [], 0, _DATE_MD.match
    i = text.find("/")
    while i != -1:
        for j in (i - 2, i - 1):  # leftmost first: candidates rise slash by slash
            if j >= last and j >= 0:
                m = match(text, j)
                if m:
                    out.append(m)
                    last = m.end()
                    break
        i = text.find("/", i + 1)
    return out


# "Suicide attempt 09/2020": a month and a four-digit year (_DATE_MD reads day and month only).
_MONTH_YEAR = re.compile(r"(?<![\d/])(\d{1,2})/((?:19|20)\d\d)(?![\d/])")
# "14 Jul 2026", "July 14, 2026", "3rd March": a day and a month name (and a year).
_MONTH_NAME = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH_NAME}(?![a-z])(?:,?\s+((?:19|20)\d\d)(?!\d))?", FLAGS)
_MONTH_DAY = re.compile(rf"\b{_MONTH_NAME}\s+(\d{{1,2}})(?:st|nd|rd|th)?(?![\d:])(?:,?\s+((?:19|20)\d\d)(?!\d))?", FLAGS)
_YEAR = re.compile(r"(?:\b(?:in|since|during|from|of)\s+|(?<![\d/.\-]))((?:19[5-9]|20\d)\d)(?![\d/.\-])", FLAGS)
_AGO = re.compile(r"\b(\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|several|few)\s+(day|night|week|month|year)s?\s+ago\b", FLAGS)
_OLD = re.compile(r"\b(?:(?:at\s+)?age\s+\d+|in\s+(?:high\s+school|college|middle\s+school)|when\s+(?:she|he|they|cl|pt|[A-Z][a-z]+)\s+was\s+(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\w+teen|little|young|small|a\s+(?:child|teen\w*|kid|baby|toddler|girl|boy))|as\s+a\s+(?:child|teen\w*|kid)|years\s+ago|last\s+year|in\s+childhood|growing\s+up)\b", FLAGS)
_WEEKDAY = re.compile(r"\b(?:(last|this|past)\s+)?(monday|tuesday|wednesday|thursday|friday|saturday|sunday)(?:'s)?\b", FLAGS)
_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTH_REF = re.compile(r"\b(?:in|since|during|from|of|last)\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b(?!\s+\d)", FLAGS)
_LAST_MONTH = re.compile(r"\blast\s+month\b|\ba\s+month\s+ago\b", FLAGS)
_LAST_WEEK = re.compile(r"\blast\s+week\b|\bthe\s+week\s+before\b|\bthe\s+other\s+day\b", FLAGS)
# The words the time patterns above are made of. A sentence whose letter runs hold none
# of them (and no digit) names no time: most sentences, so most skip the eight regexes.
_TIME_WORDS = ("ago", "age", "school", "college", "when", "child", "teen", "kid", "growing", "last", "week", "day",
               "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_TIME_RUNS = frozenset({"ago", "age", "school", "college", "when", "child", "childhood", "kid", "growing", "last",
                        "week", "day"} | {d for d in ("monday tuesday wednesday thursday friday saturday sunday").split()})
_PREFIXES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", "teen")
_RUN = re.compile(r"[a-z]+")
_DIGIT = re.compile(r"\d")
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_WORDNUM = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
            "nine": 9, "ten": 10, "several": 3, "few": 3}
_UNIT = {"day": 1, "night": 1, "week": 7, "month": 30, "year": 365}


def _word_ages(sentence: str, note_date: date | None) -> list[int]:
    """Ages from time said in words ("two weeks ago", "last March", "as a child")."""
    ages = []
    if _OLD.search(sentence):
        ages.append(10_000)
    for m in _AGO.finditer(sentence):
        n = m.group(1).lower()
        ages.append((int(n) if n.isdigit() else _WORDNUM.get(n, 1)) * _UNIT[m.group(2).lower()])
    if _LAST_MONTH.search(sentence):
        ages.append(30)
    if _LAST_WEEK.search(sentence):
        ages.append(7)
    if note_date:
        for m in _MONTH_REF.finditer(sentence):
            # "the pileup in March": the middle of the latest such month before the session
            mo = _MONTHS.index(m.group(1).lower()) + 1
            year = note_date.year if mo < note_date.month else note_date.year - 1
            if mo != note_date.month:
                ages.append((note_date - date(year, mo, 15)).days)
        for m in _WEEKDAY.finditer(sentence):
            back = (note_date.weekday() - _DAYS.index(m.group(2).lower())) % 7
            ages.append(back or (7 if (m.group(1) or "").lower() == "last" else 0))
    return ages


def _digit_ages(sentence: str, note_date: date) -> list[int]:
    """Ages from years and dates written in digits ("in 2019", "on 3/4")."""
    ages = []
    for m in _YEAR.finditer(sentence):
        if int(m.group(1)) < note_date.year:
            ages.append((note_date - date(int(m.group(1)), 12, 31)).days)
    for m in _MONTH_YEAR.finditer(sentence):
        mo, y = int(m.group(1)), int(m.group(2))
        if 1 <= mo <= 12 and date(y, mo, 1) <= note_date:
            # the month's last day: the youngest the event can be
            ages.append(max(0, (note_date - date(y, mo, calendar.monthrange(y, mo)[1])).days))
    for rx, day, mon in ((_DAY_MONTH, 1, 2), (_MONTH_DAY, 2, 1)):
        for m in rx.finditer(sentence):
            if m.group(mon).lower() == "may" and not m.group(3) and not m.group(mon)[0].isupper():
                continue  # "took 2 may have": the verb, not the month
            when = _named_date(int(m.group(day)), _MONTHS.index(m.group(mon)[:3].lower()) + 1, m.group(3), note_date)
            if when is not None:
                ages.append((note_date - when).days)
    for m in _dates_in(sentence):
        mo, d, y = int(m.group(1)), int(m.group(2)), m.group(3)
        if not (1 <= mo <= 12 and 1 <= d <= 31):
            continue
        year = full_year(int(y)) if y else note_date.year  # "3/4/98" is 1998, as the readers read it
        try:
            when = date(year, mo, d)
        except ValueError:
            continue
        if not y and when > note_date + timedelta(days=1):
            when = date(year - 1, mo, d)
        if when <= note_date:
            ages.append((note_date - when).days)
    return ages


def _named_date(day: int, month: int, year: str | None, note_date: date) -> date | None:
    """The date of "14 Jul (2026)" on or before the session: a year left out is the latest one that fits."""
    try:
        when = date(int(year) if year else note_date.year, month, day)
    except ValueError:
        return None
    if not year and when > note_date + timedelta(days=1):
        try:
            when = date(when.year - 1, month, day)
        except ValueError:
            return None
    return when if when <= note_date else None


@lru_cache(maxsize=65536)
def _age_days(sentence: str, note_date: date | None) -> int | None:
    # Cached: a sentence is asked about by the rules and the model, and template lines repeat.
    low = sentence.lower()
    wordy = False
    if any(w in low for w in _TIME_WORDS):  # a cheap look first, then the words themselves
        runs = set(_RUN.findall(low))
        wordy = not runs.isdisjoint(_TIME_RUNS) or any(r.startswith(_PREFIXES) for r in runs)
    digit = _DIGIT.search(sentence) is not None
    if not (wordy or digit):
        return None
    ages = []
    if wordy:
        ages += _word_ages(sentence, note_date)
    if note_date and digit:
        ages += _digit_ages(sentence, note_date)
    return max(ages) if ages else None


@dataclass(frozen=True)
class _Sent:
    start: int
    end: int
    text: str
    masked: str  # quotes blanked: quoted speech is the client's, not the clinician's act
    section: str = ""  # the "Label:" heading the sentence sits under, lower-cased
    present: frozenset[str] = frozenset()  # gate literals found in the sentence
    client_line: bool = False  # on a line labeled as the client's words ("Cl: ...", "Client: ...")
    clinician_line: bool = False  # on a line labeled as the clinician's words ("T: ...", "[12:04] Dr. K: ...")
    long: bool = True  # six words or more: uses up the emotion window (see _window_start)


# Sections that record what the client said or did: an act written there with
# no subject ("Moved on to his kids' schedule.") is the client's.
_CLIENT_SECTION = re.compile(
    r"^(?:s|r|b|subjective|response|(?:cl|client|pt|patient)(?:'s)?\s+(?:response|report|statement)s?|"
    r"behaviou?rs?|presenting(?:\s+\w+)*|client\s+report\w*|chief\s+complaint|cc|content)$")
_SPEAKER_CLIENT = re.compile(r"^(?:cl|clt|client|pt|patient|member|couple|family|cl said|client said|pt said)$")
# A speaker label opening a line of dialogue, after an optional timestamp: "T:", "Therapist:",
# "00:14:32 Dana:", "[12:04] Dr. K:", "<v Dana Whitfield>" (Teams), "Clinician (me):".
_SPEAKER_LINE = re.compile(r"[ \t]*(?:[\[(]?\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?[\])]?\s*)?"
                           r"(?:<v\s+([^>]{1,40})>|([A-Za-z][A-Za-z .'()-]{0,30}?)\s*:)")
_SPEAKER_CLINICIAN = re.compile(r"^(?:t|th|ther|therapist|clinician|counsell?or|writer|me|provider|interviewer|"
                                r"dr\.?\s.*|(?:therapist|clinician|counsell?or) \(me\))$")
_CREDENTIAL = re.compile(r"^(?:lpc|lcsw|lmft|lmhc|lpcc|phd|psyd|md|do|ms|ma|msw|rn|np|pmhnp|mft|aprn|ncc|lcpc|lmsw|"
                         r"mhc|bcba|cadc|lcdc|llp|lp|amft|apcc|asw|intern|trainee)$")
_SECTION = re.compile(r"(?m)^[ \t]*([A-Za-z][A-Za-z /&'-]{0,30}):")
_FEELING = re.compile(r"\b(?:felt|feel|feeling|feels|was|am|notes?|noticed?)\s+(?:\w+\s+){0,2}(?:anxious|nervous|uneasy|tense|scared|afraid|overwhelmed|lost|sad|rattled|uncomfortable|discomfort)\b", FLAGS)


# An unchecked box and the option after it ("[ ] SI w/ plan", "☐ HI") say nothing
# happened: blanked before anything reads the line, so no cue or model sees it.
_UNCHECKED = re.compile(r"(?:\[ ?\]|\( ?\)|\u2610)[^\[\]\u2610\u2611\u2612|;\n]*")


def _names(note: Note) -> tuple[frozenset[str], frozenset[str]]:
    """(clinician's name words, client's name words): a speaker label may be either's name."""
    def words(name: str) -> frozenset[str]:
        return frozenset(w for w in re.findall(r"[a-z]+", (name or "").lower()) if len(w) > 1 and not _CREDENTIAL.match(w))
    return words(note.clinician), words(note.client)


def _speaker(line: str, names: tuple[frozenset[str], frozenset[str]]) -> str:
    """'client', 'clinician' or '' for a line of dialogue, from its speaker label."""
    m = _SPEAKER_LINE.match(line)
    if not m:
        return ""
    label = (m.group(1) or m.group(2)).strip().lower()
    said = set(re.findall(r"[a-z]+", label)) - {"dr", "mr", "ms", "mrs"}
    if _SPEAKER_CLIENT.match(label) or (said and said <= names[1]):
        return "client"
    if _SPEAKER_CLINICIAN.match(label) or (said and said <= names[0]):
        return "clinician"
    return ""


def _plain(text: str) -> str:
    """Typographic quotes and dashes as ASCII, same length, so offsets still hold."""
    return _UNCHECKED.sub(lambda m: " " * len(m.group()), text.translate(_PLAIN))


def _dates_month_first(text: str, day_first: bool = False, note_date: date | None = None) -> str:
    """The note's digit dates as month/day, same length, so one reading of time serves every
    rule and the model: a note whose own dates say day-first ("14/03", none like "03/14", or
    "Friday 03/04" where only 3 April is a Friday) has each day/month swapped (ratings such as
    "8/10" are left alone); a note that says neither, or both, keeps the practice's order (`day_first`)."""
    dates = _dates_in(text)
    votes = [int(m[1]) > 12 for m in dates if (int(m[1]) > 12) != (int(m[2]) > 12) and max(int(m[1]), int(m[2])) <= 31]
    if note_date:
        votes += _weekday_votes(text, dates, note_date)
    if votes and all(votes) != any(votes):
        pass  # both orders written: the practice's order decides
    elif votes:
        day_first = votes[0]
    if not day_first or not dates:
        return text
    out, at = [], 0
    for m in dates:
        out += [text[at:m.start()], m[2], "/", m[1], text[m.end(2):m.end()]]
        at = m.end()
    return "".join(out) + text[at:]


# The session's own time ("tonight", "this morning", "about 10 min in", "during the call"): what a
# sentence places there is current, whatever older time it also names ("strangled her on Sunday;
# she is terrified to go home tonight").
_NOW = re.compile(r"\b(?:tonight|today|this\s+(?:morning|afternoon|evening)|right\s+now|at\s+present|currently|"
                  r"in[-\s]session|mid[-\s]?(?:session|call)|during\s+(?:the|this|today'?s)\s+(?:session|call|visit|"
                  r"appointment|consultation|meeting)|\d+\s*min(?:ute)?s?\s+in(?:to)?\b)", re.IGNORECASE)


NOW_REACH = 14  # days: beside the session's time, an older event is an anniversary or history ("today is 3 years since")


def still_current(age: int, text: str) -> bool:
    """An event of the last fortnight in a sentence that also names the session's own time."""
    return age <= NOW_REACH and _NOW.search(text) is not None


# A weekday named just before a date ("Sat 11/04", "Saturday night (9/5)"): the date's order is
# the one that falls on that day.
_DAY_BEFORE = re.compile(r"\b(mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?|sat(?:urday)?|"
                         r"sun(?:day)?)\.?,?\s+(?:(?:night|morning|evening|afternoon|am|pm)\s+)?\(?$",
                         re.IGNORECASE)


def _weekday_votes(text: str, dates: list, note_date: date) -> list[bool]:
    """Day-first (True) or month-first (False), per date whose named weekday only one order gives."""
    votes = []
    for m in dates:
        day = _DAY_BEFORE.search(text, max(0, m.start() - 24), m.start())
        if day is None:
            continue
        want = [d[:3] for d in _DAYS].index(day.group(1)[:3].lower())
        a, b = int(m[1]), int(m[2])
        year = str(full_year(int(m[3]))) if m[3] else None
        fits = [_named_date(d, mo, year, note_date) for mo, d in ((a, b), (b, a)) if 1 <= mo <= 12]
        hits = [w is not None and w.weekday() == want for w in fits]
        if len(hits) == 2 and hits[0] != hits[1]:
            votes.append(hits[1])
    return votes


def _mask(text: str) -> str:
    if '"' not in text and "'" not in text and "\u201c" not in text:
        return text  # every quote _QUOTE finds opens on one of these
    masked = _QUOTE.sub(lambda m: " " * len(m.group()), text)
    # A quote split across sentences ('... my exam? I'm not ready."'): blank the open end.
    if masked.count('"') % 2:
        q = masked.index('"')
        masked = " " * (q + 1) + masked[q + 1:] if q > len(masked) / 2 else masked[:q] + " " * (len(masked) - q)
    return masked


def _initials(name: str) -> str | None:
    words = [w for w in re.split(r"[\s,]+", name) if w[:1].isalpha() and w[:1].isupper() and not w.isupper()]
    return "".join(w[0] for w in words[:2]) if len(words) >= 2 else None


# Degrees that name no one in a sentence ("MS" is also multiple sclerosis, "ED" a department).
_NOT_TITLES = frozenset("MS MA MSC MED BA BS BSC MC ED MPH MBA PHD".split())


def _is_title(w: str) -> bool:
    """A word that can be a writer's credential or role ("VIS", "KW", "LCSW-A"), not a degree."""
    return (re.fullmatch(r"[A-Z][A-Za-z-]{1,7}", w) is not None and sum(c.isupper() for c in w) >= 2
            and w.upper().replace("-", "") not in _NOT_TITLES)


def _titles(name: str) -> list[str]:
    """The writer's own credentials after their name ("Marcus Bell, VIS"): notes use them as the
    writer's name ("VIS validated ..."), so they name the clinician as actor."""
    _, comma, rest = name.partition(",")
    if not comma:
        return []
    words = (w.strip(".") for w in re.split(r"[\s,/;]+", rest))
    return [w for w in words if _is_title(w)]


_HEAD = 600  # where a note's header names its writer
# How notes name the client ("CL: ...", "YP: ..."): never the writer's title.
_CLIENT_WORDS = frozenset("CL CLT PT PTS CT YP MBR CG SU".split())


def _header_titles(text: str, name: str) -> tuple[str, ...]:
    """The writer's title as the note's own header gives it beside their name ("KW: Precious Adeyemi",
    "Worker: Kirsty Haldane, SW"): the note then names its writer by that title ("KW said ...")."""
    name = name.partition(",")[0].strip()
    if len(name) < 4 or " " not in name:
        return ()
    head = text[:_HEAD]
    found = []
    for m in re.finditer(re.escape(name), head):
        before = re.search(r"\b([A-Z][A-Za-z-]{1,7})\s*:\s*$", head[max(0, m.start() - 12):m.start()])
        after = re.match(r"\s*,\s*([A-Z][A-Za-z-]{1,7})\b(?![-\d])", head[m.end():m.end() + 12])
        found += [g.group(1) for g in (before, after) if g]
    return tuple(dict.fromkeys(w for w in found if _is_title(w) and not w.endswith("-")
                               and w.upper().replace("-", "") not in _CLIENT_WORDS))


@lru_cache(maxsize=8192)
def _name_rx(pattern: str, side: str) -> tuple[re.Pattern, frozenset[str] | None]:
    """One person's name as an actor pattern, with the literals any match holds
    (None: unknown); cached, names repeat across notes."""
    t, o = (pattern, "(?!x)x") if side == "t" else ("(?!x)x", pattern)
    return re.compile(rf"(?P<t>{t})|(?P<o>{o})", FLAGS), literals(pattern)


# The pronoun a person word takes when its sex is known (words not here take any pronoun).
_OTHER_SEX = {w: "she" for w in ("mum", "mam", "nan", "gran", "nana", "aunty", "auntie", "aunt", "mother", "mom",
                                  "sister", "daughter", "niece", "grandmother", "grandma", "stepmother", "stepmom",
                                  "stepdaughter", "stepsister", "wife", "girlfriend", "fiancee", "fiancée")} | \
    {w: "he" for w in ("uncle", "father", "dad", "brother", "son", "nephew", "grandfather", "grandpa", "stepfather",
                       "stepdad", "stepson", "stepbrother", "husband", "boyfriend", "fiance", "fiancé")}
_DONE_TO = re.compile(r"\b(?:her|him|them)\b", FLAGS)
_RELATIVE = re.compile(r"(?:\s+\w+)?,?\s+who\b", FLAGS)  # "a friend who ...", "his son Rhodri, who ..."
_CLIENT_OBJECT = re.compile(r"\b(?:her|him|them|herself|himself|themselves)\b", FLAGS)


def is_subject(text: str, m: re.Match) -> bool:
    """An actor mention that can be a subject: not possessive, not right after a verb or preposition."""
    if text[m.end():m.end() + 2] in ("'s", "’s"):
        return False
    return not _OBJECT_BEFORE.search(text[max(0, m.start() - 20):m.start()])


_WORD_START = re.compile(r"\b\w")


def _at_word_starts(rx: re.Pattern, text: str, pos: int, end: int) -> list[re.Match]:
    """rx.finditer for a pattern whose every match opens at a word start (an actor
    alternation): tried only there, twice as fast as letting re try every position."""
    fast = guarded(rx, WORD_START)
    if fast is not None:
        # The word starts and the pattern's first letters are checked in C: rx runs at
        # the few word starts that open like one of its words, and Python sees only matches.
        return list(_matches(fast, text, pos, end))
    out, last, match = [], pos, rx.match
    for w in _WORD_START.finditer(text, pos, end):
        if w.start() >= last:
            m = match(text, w.start(), end)
            if m:
                out.append(m)
                last = m.end()
    return out


def _matches(fast: re.Pattern, text: str, pos: int, end: int):
    """The matches of a word-start pattern from prefix.guarded/at_word_starts, one after another
    as finditer would find them (each search skips in C to the next place it can match)."""
    search = fast.search
    m = search(text, pos, end)
    while m:
        yield m
        at = m.end()
        m = search(text, at if at > m.start() else at + 1, end)


class _Actors:
    """Actor mentions from the shared pattern plus a small per-note name pattern,
    merged in text order (compiling one big pattern per name pair was slow)."""

    def __init__(self, base: re.Pattern, names: list[tuple[re.Pattern, frozenset[str] | None]], tail: bool = False):
        self.base, self.names, self.tail = base, names, tail

    def finditer(self, text: str, pos: int = 0, endpos: int | None = None) -> list[re.Match]:
        end = len(text) if endpos is None else endpos
        found = _at_word_starts(self.base, text, pos, end)
        if self.names:
            folded = fold(text)
            named = []
            for rx, lits in self.names:
                if lits is None or any(w in folded for w in lits):  # the name is rarely there: skip the scan
                    named += rx.finditer(text, pos, end)
            if not named:
                return found  # the shared pattern's matches alone are in order, none nested
            found += named
            found.sort(key=lambda m: (m.start(), -m.end()))
            kept, last = [], -1
            for m in found:  # drop a mention nested inside a longer one
                if m.start() >= last:
                    kept.append(m)
                    last = m.end()
            found = kept
        return found

    def search(self, text: str) -> re.Match | None:
        """The actor right at the end of text (only adverbs after it)."""
        hit = (at_word_starts(self.base) or self.base).search(text)  # tried at word starts only where sound
        if self.tail:
            folded = fold(text)
            for rx, lits in self.names:
                if lits is not None and not any(w in folded for w in lits):
                    continue
                last = None
                for last in rx.finditer(text):
                    pass
                if last and _ADV_TAIL.fullmatch(text, last.end()) and (hit is None or last.start() > hit.start()):
                    hit = last
        return hit


class Engine:
    def __init__(self, checklists: Checklists | None = None, lex: dict | None = None, model: "Reader | None | bool" = True,
                 cues: bool = True, day_first: bool = False):
        self.checklists = checklists or load()
        self.day_first = day_first  # the practice's date order where a note's own dates do not say
        # The learned reader of language; False runs the rules alone (training, comparisons).
        self.model = Reader.default() if model is True else (model or None)
        self.cues = cues  # False: the model alone reads the language (comparisons)
        lex = lex or lexicon()
        self.therapist_re = lex["actors"]["therapist"]
        self.other_re = lex["actors"]["other"]
        acts = lex["actors"]
        never = "(?!x)x"  # a lexicon without these words: no crisis is read as someone else's
        self._someone_else = re.compile(acts.get("someone_else", never), FLAGS)
        self._spouse = re.compile(acts.get("spouse", never), FLAGS)
        self._the_client = re.compile(acts.get("the_client", never), FLAGS)
        self.emotions = [(re.compile(e["re"], FLAGS), e.get("topic")) for e in lex["emotion"]["patterns"]]
        self.topics = [(t.get("topic", name), float(t.get("weight", 1.0)), re.compile(t["re"], FLAGS))
                       for name, t in lex["topics"].items()]
        # A shown emotion ("raised his voice", "could barely look at me") also names its topic.
        self.shown = [(topic, 1.0, rx) for rx, topic in self.emotions if topic]
        self.rescuing = self.checklists.by_checklist("rescuing")
        self.crisis = self.checklists.by_checklist("crisis")
        self.never_vetoed = frozenset(i.id for i in self.checklists.items if not i.model_veto)
        self.never_note_vetoed = frozenset(i.id for i in self.checklists.items if not i.note_veto)
        self._actor_cache: dict[str, tuple[_Actors, _Actors, None]] = {}
        self._people: dict[tuple[str, str], tuple[_Actors, _Actors, None]] = {}
        self._topic_memo: dict[tuple[str, bool], dict[str, float]] = {}
        self._emotion_memo: dict[str, bool] = {}
        self._unless_memo: dict[tuple[str, str], bool] = {}
        t = "|".join([self.therapist_re, r"(?-i:\bI\b|\b[Ww]e\b)"])
        self._base_actor = re.compile(rf"(?P<t>{t})|(?P<o>{self.other_re})", FLAGS)
        self._base_imm = re.compile(rf"(?:(?P<t>{t})|(?P<o>{self.other_re}))\s+(?:{_ADVERBS}\s+){{0,3}}$", FLAGS)
        # Their word-start forms (prefix.py) are compiled now too, not on the first note.
        guarded(self._base_actor, WORD_START), at_word_starts(self._base_imm), guarded(_RATING, WORD_START)
        # Literal gates: skip a regex on a sentence that lacks every literal it needs.
        self._cue_gates = {i.id: [(c, Gate([c.pattern])) for c in i.cues] for i in self.checklists.items}
        self._emotion_gates = [(rx, Gate([rx.pattern])) for rx, _ in self.emotions]
        self._topic_gates = {id(rx): Gate([rx.pattern]) for _, _, rx in self.topics + self.shown}
        gates = [g for cg in self._cue_gates.values() for _, g in cg] + [g for _, g in self._emotion_gates] \
            + list(self._topic_gates.values())
        self._index = LiteralIndex({w for g in gates for w in g.words})
        # Cues are numbered; a literal of a cue's best clause opens it, so a
        # sentence only visits cues it can match. Other clauses are checked after.
        self._cue_ids = [(iid, n) for iid, cg in self._cue_gates.items() for n in range(len(cg))]
        self._cue_item = [iid for iid, _ in self._cue_ids]
        self._cue_rx = [self._cue_gates[iid][n][0] for iid, n in self._cue_ids]
        cue_gates = [self._cue_gates[iid][n][1] for iid, n in self._cue_ids]
        opens: dict[str, set[int]] = {}
        for g, gate in enumerate(cue_gates):
            for w in gate.lits or ():
                opens.setdefault(w, set()).add(g)
        self._opens = {w: frozenset(v) for w, v in opens.items()}
        self._always = frozenset(g for g, gate in enumerate(cue_gates) if gate.lits is None)
        self._rest = {g: gate.rest for g, gate in enumerate(cue_gates) if gate.rest}
        self._rest_ids = frozenset(self._rest)

    # ------------------------------------------------------------ actors
    def _actor_res(self, note: Note) -> tuple[_Actors, _Actors, None]:
        # who() asks for every act; the answer depends on the two names only
        people = (note.clinician, note.client, _header_titles(note.text, note.clinician))
        got = self._people.get(people)
        if got is None:
            if len(self._people) > 4096:
                self._people.clear()
            got = self._people[people] = self._actor_res_for(note, people[2])
        return got

    def _actor_res_for(self, note: Note, header: tuple[str, ...] = ()) -> tuple[_Actors, _Actors, None]:
        extra_t, extra_o = [], []
        ini = _initials(note.clinician)
        if ini:
            extra_t.append(rf"(?-i:\b{ini}\b)")
        titles = dict.fromkeys([*_titles(note.clinician), *header])
        extra_t += [rf"(?-i:\b{re.escape(t)}\b)" for t in titles]
        # Clinicians write their own first or last name too ("Anjali told Lena ...").
        for part in re.split(r"[\s,]+", note.clinician)[:3]:
            if len(part) > 2 and part[0].isupper() and not part.isupper() and not part.endswith("."):
                extra_t.append(rf"(?-i:\b{re.escape(part)}\b)")
        first = re.split(r"[\s,]+", note.client.strip())[0] if note.client.strip() else ""
        if len(first) > 1 and first[0].isupper():
            extra_o.append(rf"\b{re.escape(first.rstrip('.'))}\b")
        key = "|".join(extra_t + extra_o)
        if key not in self._actor_cache:
            if len(self._actor_cache) > 4096:  # a huge export with many names: stay bounded
                self._actor_cache.clear()
            # The big name-free patterns are compiled once; only the names are per note.
            names = [_name_rx(p, "t") for p in extra_t] + [_name_rx(p, "o") for p in extra_o]
            self._actor_cache[key] = (_Actors(self._base_actor, names), _Actors(self._base_imm, names, tail=True), None)
        return self._actor_cache[key]

    def _subjects(self, actor_re: _Actors, text: str, pos: int = 0):
        """Actor mentions that can be a subject: not possessive, not right after a verb or preposition."""
        return (m for m in actor_re.finditer(text, pos) if is_subject(text, m))

    def who(self, note: Note, masked: str, cue_start: int, self_report: bool = False, _depth: int = 0) -> str:
        """'therapist', 'other', or 'unnamed' (no actor written: usually the writer) for the act at cue_start."""
        actor_re, immediate, _ = self._actor_res(note)
        if 0 < cue_start < len(masked) and masked[cue_start] == " " and _depth < 2:
            # The cue is inside quoted speech: the act is the speaker's ("she said, '...'").
            q = len(masked[:cue_start].rstrip())
            speakers = list(self._subjects(actor_re, masked[:q]))
            return self._side(speakers[-1], masked, actor_re, self_report) if speakers else "unnamed"
        prefix = masked[:cue_start]
        m = immediate.search(prefix)
        if m and not _OBJECT_BEFORE.search(prefix[max(0, m.start() - 20):m.start()]):
            return self._side(m, masked, actor_re, self_report)
        if _LABEL_ONLY.match(prefix):
            return "unnamed"  # telegraphic: "Redirected cl to ..." is usually the writer's own act
        if _COORD.search(_AUX_TAIL.sub("", prefix)):  # ", had given her ..." coordinates too
            # "X did A and then B": B's subject is the subject that opened the
            # last coordinated clause, not a pronoun inside a "that ..." clause.
            clause = max(prefix.rfind(";"), prefix.rfind(":"), prefix.rfind(" - ")) + 1
            lead = clause + _LEADING_CLAUSE.match(masked[clause:]).end()
            subjects = list(self._subjects(actor_re, masked[:cue_start], lead))
            opening = [x for x in subjects if x.start() == lead or _CLAUSE_OPEN.search(masked[lead:x.start()])]
            pick = opening[-1] if opening else (subjects[0] if subjects else None)
            if pick is None:  # "Cl engaged w/ court prep; did not return to ...": subject carried over
                head = _LEADING_CLAUSE.match(masked).end()
                earlier = list(self._subjects(actor_re, masked[:clause], head))
                pick = earlier[0] if earlier else None  # the main clause's subject, not one inside a quote
            return self._side(pick, masked, actor_re, self_report) if pick else "unnamed"
        last = None
        for s in self._subjects(actor_re, prefix):
            last = s
        speech = None
        for speech in _SPEECH.finditer(prefix):
            pass
        if speech and (last is None or last.start() > speech.start()) and _depth < 2:
            # "GL told her that was something they could get into later": an act
            # inside reported speech belongs to whoever spoke.
            return self.who(note, masked, speech.start(), self_report, _depth + 1)
        if last is None:
            return "unnamed"
        return self._side(last, masked, actor_re, self_report)

    def _side(self, m: re.Match, masked: str, actor_re: _Actors, self_report: bool) -> str:
        if m.group("t"):
            return "therapist"
        pron = (m.group("o") or "").strip().lower()
        if pron == "they" or (self_report and pron in ("she", "he")):
            # "they" is often clinician and client together ("GL told her they could
            # get into it later"); in a clinician's self-report ("GL notes feeling
            # rattled; he has had little training") he/she refers back to the clinician.
            nouns = [x for x in actor_re.finditer(masked, 0, m.start("o")) if x.group().lower() not in ("she", "he", "they")]
            if nouns and nouns[-1].group("t"):
                return "therapist"
        return "other"

    # ------------------------------------------------------------ emotion and topic
    def _emotion_in(self, s: _Sent) -> bool:
        # By text: template lines ("Pt tearful at times.") repeat note after note, and the
        # literals present are the text's own.
        got = self._emotion_memo.get(s.text)
        if got is None:
            if len(self._emotion_memo) > 50_000:  # stay bounded on a huge, varied export
                self._emotion_memo.clear()
            got = self._emotion_memo[s.text] = self._emotion_seen(s)
        return got

    def _emotion_seen(self, s: _Sent) -> bool:
        text = s.text
        for rx, gate in self._emotion_gates:
            if not gate.open(s.present):
                continue
            for m in rx.finditer(text):
                if not _EMO_NEG.search(text[max(0, m.start() - 30):m.start()]):
                    return True
        return False

    def _emotional(self, sents: list[_Sent], j: int, memo: list[bool | None]) -> bool:
        got = memo[j]
        if got is None:
            got = memo[j] = self._emotion_in(sents[j])
        return got

    def _topic_counts(self, text: str, present: frozenset[str], shown: bool) -> dict[str, float]:
        key = (text, shown)
        got = self._topic_memo.get(key)
        if got is None:
            got = {}
            for name, w, rx in (self.topics + self.shown if shown else self.topics):
                if self._topic_gates[id(rx)].open(present):
                    n = len(rx.findall(text))
                    if n:
                        got[name] = got.get(name, 0.0) + n * w
            if len(self._topic_memo) > 20_000:
                self._topic_memo.clear()
            self._topic_memo[key] = got
        return got

    def topic_of(self, texts: list[tuple[str, float, frozenset[str]]], shown: bool = True) -> str | None:
        scores: dict[str, float] = {}
        for text, weight, present in texts:
            for name, v in self._topic_counts(text, present, shown).items():
                scores[name] = scores.get(name, 0.0) + v * weight
        if not scores:
            return None
        best = max(scores.values())
        return next(t for t in TOPIC_ORDER + sorted(scores) if scores.get(t) == best)

    # ------------------------------------------------------------ recency
    @staticmethod
    def age_days(sentence: str, note_date: date | None) -> int | None:
        """The oldest time reference in a sentence, in days before the session (None: none found)."""
        return _age_days(sentence, note_date)

    # ------------------------------------------------------------ the note
    @property
    def version(self) -> str:
        """The checklists' versions and the model's fingerprint: what the ledger and run.json record."""
        return self.checklists.version + (f"+model:{self.model.model.fingerprint}" if self.model else "")

    def check(self, note: Note) -> list[Finding]:
        sents, opened, ndate = self._prepare(note)
        shown: list[bool | None] = [None] * len(sents)  # sentence -> an emotion shown in it; rules and model share it
        crisis = self._crisis(note, sents, opened, ndate) if self.cues else []
        learned = self.model.read(self, note, sents, ndate, shown) if self.model else None
        if learned:
            crisis = learned.merge(crisis, learned.crisis(self.crisis))
            crisis = learned.whole_note(crisis, self.crisis)
        crisis_ids = tuple(sorted({f.item for f in crisis}))
        rescuing = self._rescuing(note, sents, opened, crisis_ids, shown) if self.cues else []
        if learned:
            rescuing = learned.one_act(learned.merge(rescuing, learned.rescuing(self.rescuing, crisis_ids), self.rescuing))
        return crisis + rescuing

    def _prepare(self, note: Note) -> tuple[list[_Sent], dict[str, list[tuple[int, list[re.Pattern]]]], date | None]:
        """The note's sentences and, per item, the sentences whose literals let its cues run."""
        text = note.text
        try:
            ndate = date.fromisoformat(note.date) if note.date else None
        except ValueError:
            ndate = None
        plain = _dates_month_first(_plain(text), self.day_first, ndate)
        heads = [(m.start(), m.group(1).strip().lower()) for m in _SECTION.finditer(plain)]
        spans = context.split_sentences(plain)
        present = self._index.present(fold(plain), spans)
        sents = []
        # item id -> [(sentence index, the item's cues its literals allow there)], in sentence order
        opened: dict[str, list[tuple[int, list[re.Pattern]]]] = {}
        opens, rest, rest_ids, cue_item, cue_rx = self._opens, self._rest, self._rest_ids, self._cue_item, self._cue_rx
        h, section, head_at = 0, "", 0
        names, spoken_at, speaker = _names(note), -1, ""
        for k, ((a, b), found) in enumerate(zip(spans, present)):
            while h < len(heads) and heads[h][0] <= a:  # the last heading at or before the sentence
                head_at, section = heads[h]
                h += 1
            # "Cl: I don't know who I am anymore" in a verbatim exchange: the client speaking.
            client_line = bool(section) and _SPEAKER_CLIENT.match(section) is not None and "\n" not in plain[head_at:a]
            line_at = plain.rfind("\n", 0, a) + 1
            if line_at != spoken_at:  # one look per line: every sentence on it has that line's speaker
                spoken_at, speaker = line_at, _speaker(plain[line_at:line_at + 80], names)
            client_line = client_line or speaker == "client"
            ids = set(self._always)
            for w in found:
                got = opens.get(w)
                if got:
                    ids |= got
            for g in rest_ids.intersection(ids):
                for c in rest[g]:
                    if c.isdisjoint(found):
                        ids.discard(g)
                        break
            for g in sorted(ids):  # cues are numbered item by item
                runs = opened.setdefault(cue_item[g], [])
                if runs and runs[-1][0] == k:
                    runs[-1][1].append(cue_rx[g])
                else:
                    runs.append((k, [cue_rx[g]]))
            said = plain[a:b]
            sents.append(_Sent(a, b, said, _mask(said), section, frozenset(found), client_line,
                               speaker == "clinician" and not client_line, len(said.split()) >= 6))
        return sents, opened, ndate

    def _finding(self, note: Note, item: Item, s: _Sent, status: str, topic: str | None,
                 exempt_by: tuple[str, ...] = (), made_by: str = "rules", why: str = "",
                 cue: re.Pattern | None = None) -> Finding:
        reason = item.reason + (f" (exempt: crisis {', '.join(exempt_by)})" if exempt_by else "") + why
        # Which rule made it: the item's cue by its index (as `explain --trace` lists them), or the model.
        rule = f"{item.id} cues[{item.cues.index(cue)}]" if cue is not None and cue in item.cues else f"{item.id} model"
        stage = f"{item.checklist}-{'model' if cue is None else 'rules'}"
        return Finding(made_by=made_by, rule=rule, stage=stage, note_id=note.note_id, file=note.file,
                       checklist=item.checklist, item=item.id,
                       name=item.name, status=status, topic=topic, evidence=note.text[s.start:s.end],
                       start=s.start, end=s.end,
                       location=note.location_of(s.start, s.end), reason=reason, exempt_by=exempt_by,
                       clinician=note.clinician, client=note.client, date=note.date)

    def _crisis(self, note: Note, sents: list[_Sent], opened: dict[str, list[tuple[int, list[re.Pattern]]]],
                ndate: date | None) -> list[Finding]:
        out = []
        for item in self.crisis:
            for k, cues in opened.get(item.id, ()):
                s = sents[k]
                cue = self._crisis_hit(item, s.text if item.quoted else s.masked, cues, ndate, note)
                if cue is None or self.unless(item, s.text):
                    continue
                if k and self._then_was_past(item, s.text, sents[k - 1].text, ndate):
                    continue
                if item.unless_near and self._near(item, sents, k):
                    continue  # another explanation next to it ("somnolent during interview")
                if item.also:
                    lo, hi = max(0, k - item.also_window), min(len(sents), k + item.also_window + 1)
                    if not any(a.search(x.text) for x in sents[lo:hi] for a in item.also):
                        continue
                out.append(self._finding(note, item, s, "present", item.topic, cue=cue))
        return out

    def unless(self, item: Item, text: str) -> bool:
        """One of the item's `unless` patterns in text. Kept by item and text: the rules and
        the model ask about the same sentences, and template lines repeat note after note."""
        key = (item.id, text)
        got = self._unless_memo.get(key)
        if got is None:
            if len(self._unless_memo) > 50_000:  # stay bounded on a huge, varied export
                self._unless_memo.clear()
            got = self._unless_memo[key] = any(u.search(text) for u in item.unless)
        return got

    @staticmethod
    def _near(item: Item, sents: list[_Sent], k: int) -> bool:
        """One of the item's `unless_near` patterns in sentence k or the one before or after it."""
        return any(u.search(x.text) for x in sents[max(0, k - 1):k + 2] for u in item.unless_near)

    def _then_was_past(self, item: Item, sentence: str, before: str, ndate: date | None) -> bool:
        """A sentence with no time of its own that points back ("at that time") takes the time
        of the sentence before: "a heavy drinker until about 1998. She stopped, and at that time
        she made a suicide attempt" is history."""
        if "historical" not in item.context or not _THEN.search(sentence) or self.age_days(sentence, ndate) is not None:
            return False
        age = self.age_days(before, ndate)
        return (age is not None and item.max_age_days is not None and age > item.max_age_days) or context.past_time(before)

    def _crisis_hit(self, item: Item, sentence: str, cues: list[re.Pattern], ndate: date | None,
                    note: Note | None = None) -> re.Pattern | None:
        """The cue that found a current, affirmed crisis in the sentence, or None."""
        # Cue by cue: one greedy cue must not hide another's separate match.
        for m in (m for cue in cues for m in cue.finditer(sentence)):
            # A cue may mark the event itself with (?P<event>...): the words it matched around
            # it ("was admitted following an overdose") are then context like any other, so
            # "with a history of asthma, who presented after an overdose" ends the history at
            # "presented". By number: RE2's matches (a practice's cues) take no group names.
            ev = m.re.groupindex.get("event")
            start, end = (m.start(ev), m.end(ev)) if ev and m.group(ev) else (m.start(), m.end())
            if item.context:
                # ConText within the cue's own clause: "could not finish a sentence; she did
                # not respond to questions" must not read the first negation onto the second.
                cut = sentence.rfind(";", 0, start) + 1
                a = context.assess(sentence[cut:], start - cut, end - cut)
                if any(getattr(a, kind) for kind in item.context):
                    continue
                if note is not None and item.subject_is_experiencer and self.someone_elses(note, sentence, start, end):
                    continue
            if item.max_age_days is not None:
                # The time said nearest the cue counts: "cutting 2 nights ago, first time
                # since 2025" is recent. The cue's clause first, else the whole sentence.
                lo = max(sentence.rfind(";", 0, start), sentence.rfind(",", 0, start)) + 1
                hi = min([i for i in (sentence.find(";", end), sentence.find(",", end)) if i >= 0] or [len(sentence)])
                age = self.age_days(sentence[lo:hi], ndate)
                if age is None:
                    age = self.age_days(sentence, ndate)
                if age is not None and age > item.max_age_days and not still_current(age, sentence[lo:hi]):
                    continue
            return m.re
        return None

    def someone_elses(self, note: Note, text: str, at: int, end: int | None = None) -> bool:
        """Whether the crisis at `at` happened to someone other than the client: the nearest
        subject before it in its clause is a person who is never the client ("His younger
        brother Eric was hospitalized after a suicide attempt"). Logic, not language: who."""
        lo, hi = max(text.rfind(";", 0, at), text.rfind(":", 0, at)) + 1, at
        couple = "&" in note.client or " and " in note.client.lower()
        found = [(m, "other") for m in self._someone_else.finditer(text, lo, hi)]
        found += [(m, "client" if couple else "other") for m in self._spouse.finditer(text, lo, hi)]
        found += [(m, "client") for m in self._the_client.finditer(text, lo, hi)]
        first = re.split(r"[\s,]+", note.client.strip())[0].rstrip(".") if note.client.strip() else ""
        if len(first) > 1 and first[0].isupper():
            found += [(m, "client") for m in re.finditer(rf"\b{re.escape(first)}\b", text[:hi]) if m.start() >= lo]
        # "stayed up with a friend who texted that she wanted to die": a person a relative clause
        # opens on is that clause's subject, wherever the person stands in the sentence.
        subjects = sorted(((m.start(), kind, m) for m, kind in found
                           if is_subject(text, m) or (kind == "other" and _RELATIVE.match(text, m.end()))),
                          key=lambda x: x[0])
        if not subjects or subjects[-1][1] != "other":
            return False
        # "A friend took a knife away from her to keep her from cutting herself": the client
        # named after that subject (as an object too) may be the one it happened to.
        who = subjects[-1][2]
        after = who.start() + 1
        named = sorted((m for m, kind in found if kind == "client" and m.start() >= after), key=lambda m: m.start())
        # ... but "Mom shared that she was hospitalized after a suicide attempt": a pronoun right
        # after that person, before anyone else is named, is that person when its sex allows,
        # unless the cue names whom it happened to ("he restrained her from jumping").
        sex_of = _OTHER_SEX.get(who.group(0).lower().split()[-1])
        done_to = end is not None and _DONE_TO.search(text, at, end) is not None
        while not done_to and named and named[0].group(0).lower() in ("she", "he", "they") and \
                (sex_of is None or named[0].group(0).lower() in (sex_of, "they")):
            named.pop(0)
        return not named and not _CLIENT_OBJECT.search(text, after, hi)

    def _rescuing(self, note: Note, sents: list[_Sent], opened: dict[str, list[tuple[int, list[re.Pattern]]]],
                  crisis_ids: tuple[str, ...], shown: list[bool | None]) -> list[Finding]:
        out = []
        emotional: dict[int, bool] = {}  # sentence -> emotion in its window; read only where a cue opens
        for item in self.rescuing:
            for k, cues in opened.get(item.id, ()):
                s = sents[k]
                # In a crisis note the client is in acute distress by definition.
                # Checked first: it is cheap, and the act's regexes are not.
                if item.needs_emotion and not crisis_ids:
                    felt = emotional.get(k)
                    if felt is None:
                        felt = emotional[k] = any(self._emotional(sents, j, shown)
                                                  for j in range(self._window_start(sents, k), k + 1))
                    if not felt:
                        continue
                cue = self._act(note, item, s, cues)
                if cue is None or self.unless(item, s.text):
                    continue
                topic = item.topic or self._topic_for(item, sents, k)
                exempt = crisis_ids if crisis_ids and item.exempt_in_crisis else ()
                out.append(self._finding(note, item, s, "exempt" if exempt else "flagged", topic, exempt, cue=cue))
        return out

    def _act(self, note: Note, item: Item, s: _Sent, cues: list[re.Pattern]) -> re.Pattern | None:
        """The cue whose match is the therapist's act, or None."""
        text = s.text if item.quoted else s.masked
        for m in (m for cue in cues for m in cue.finditer(text)):
            # A cue may mark where the act's verb is with (?P<act>...); who acted is read there.
            # by number: RE2's matches (a practice's cues) take no group names in start()
            act = m.re.groupindex.get("act")
            at = m.start(act) if act and m.group(act) else m.start()
            if item.negatable and _NEG_BEFORE.search(s.masked[max(0, at - 40):at]):
                continue
            if item.actor != "any" and s.client_line:
                return None
            if item.actor != "any":
                # "Cl was instead taught box breathing": a passive act is done to the client.
                side = "unnamed" if _PASSIVE.match(m.group()) else self.who(note, s.masked, at, item.actor == "clinician")
                if side == "unnamed" and (_FIRST_PERSON.search(m.group()) or _CLINICIAN_SECTION.search(s.section)
                                          or (item.actor == "clinician" and _OWN_FEELING.match(m.group()))):
                    side = "therapist"  # "... is not my area", or under a "Clinician reflection:" heading
                # "clinician" items (R7) need the clinician named or "I": a bare
                # "posture was tense" is an observation of the client.
                if side == "other" or (side == "unnamed" and (item.actor == "clinician" or _CLIENT_SECTION.match(s.section))):
                    continue
            return m.re
        return None

    @staticmethod
    def _window_start(sents: list[_Sent], k: int) -> int:
        """Index of the first sentence in the emotion window: EMOTION_WINDOW real
        sentences back; short fragments ("A&Ox4.", "Denies SI/HI.") do not use it up."""
        j, counted = k, 0
        while j > 0 and counted < EMOTION_WINDOW:
            j -= 1
            if sents[j].long:
                counted += 1
        return j

    def _topic_for(self, item: Item, sents: list[_Sent], k: int) -> str:
        if item.actor == "clinician":  # the issue the clinician names as outside their training
            # The feelings in that sentence are the clinician's own: score the issue words only.
            own = self.topic_of([(_FEELING.sub(" ", sents[k].text), 1.0, sents[k].present)], shown=False)
            if own:
                return own
        window = [(sents[j].text, 1.5 if j == k else 1.0, sents[j].present)
                  for j in range(self._window_start(sents, k), k + 1)]
        # Crying with no named loss or issue is sadness (spec's topic list).
        crying = self.emotions[0][0]
        return (self.topic_of(window)
                or self.topic_of([(x.text, 1.0, x.present) for x in sents])
                or ("sadness" if any(crying.search(t) for t, _, _ in window) else "other"))


_DEFAULT: Engine | None = None


def check_note(note: Note, engine: Engine | None = None) -> list[Finding]:
    global _DEFAULT
    if engine is None:
        if _DEFAULT is None:
            _DEFAULT = Engine()
        engine = _DEFAULT
    return engine.check(note)
