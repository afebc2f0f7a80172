from __future__ import annotations

import pytest

from notesplugin.context import (
    Assessment,
    ConText,
    assess,
    assess_in_text,
    sentence_at,
    split_sentences,
)


def ctx(sentence: str, target: str, nth: int = 0) -> Assessment:
    """assess() on the nth occurrence of target in sentence."""
    i = -1
    for _ in range(nth + 1):
        i = sentence.index(target, i + 1)
    return assess(sentence, i, i + len(target))


def flags(a: Assessment) -> str:
    return "".join(c if v else "." for c, v in zip("NHYO", (a.negated, a.historical, a.hypothetical,
                                                          a.other_experiencer)))


# (sentence, target, expected "NHYO" flags; "." = not set)
CASES = [
    # negation, including screening list forms
    ("Denies SI/HI", "SI", "N..."),
    # ages said as a span of life are the past; mates and colleagues are other people
    ("He also described cutting his forearms in his early twenties.", "cutting his forearms", ".H.."),
    ("She cut her thighs on and off between the ages of 15 and 19.", "cut her thighs", ".H.."),
    ("Took 3 doses between 8 and 10 tonight.", "Took 3 doses", "...."),
    ("Swallowed between 15 and 20 tablets last night.", "Swallowed", "...."),
    ("His mate Tyson tried to end his life.", "tried to end his life", "...O"),
    ("She talked to a colleague about her suicidal thoughts.", "suicidal thoughts", "...."),
    ("Denies SI/HI", "HI", "N..."),
    ("SI/HI: denied", "SI", "N..."),
    ("SI/HI: denied", "HI", "N..."),
    ("Suicidal ideation: none", "Suicidal ideation", "N..."),
    ("Suicidal ideation: none reported.", "Suicidal ideation", "N..."),
    ("Risk: low", "Risk", "N..."),
    ("SI: no", "SI", "N..."),
    ("HI - neg", "HI", "N..."),
    ("[ ] SI  [x] none", "SI", "N..."),
    # a screening question's answer after the question; "says no thoughts of ..." is the forward "no"
    ("Asked about thoughts of harming himself - says no, \"I'm just fed up\"", "thoughts of harming himself", "N..."),
    ("Risk: asked about thoughts of ending life - she said \"no, I have children\"", "thoughts of ending life", "N..."),
    ("Risk: Jamie says no thoughts of harming himself", "thoughts of harming himself", "N..."),
    ("He wants to die, says no one would notice", "wants to die", "...."),
    ("[x] SI  [ ] none", "SI", "...."),
    ("no plan or intent", "plan", "N..."),
    ("no plan or intent", "intent", "N..."),
    ("Client denies current SI, HI, plan or intent.", "intent", "N..."),
    ("Client stated that she is not suicidal.", "suicidal", "N..."),
    ("She doesn't want to hurt herself.", "hurt herself", "N..."),
    ("Client won’t act on urges to self-harm.", "self-harm", "N..."),
    ("Mood: anxious SI/HI: denied", "anxious", "...."),
    # terminators and pseudo-triggers
    ("denies HI but endorses SI with plan", "SI", "...."),
    ("denies HI but endorses SI with plan", "HI", "N..."),
    ("Denies HI, endorses SI with plan to overdose.", "overdose", "...."),
    ("no increase in SI", "SI", "...."),
    ("SI: no change since last session", "SI", "...."),
    ("Not only SI but also HI", "SI", "...."),
    ("In general, no change in mood", "change in mood", "N..."),
    # historical vs current
    ("Hx of SA in 2019", "SA", ".H.."),
    ("Previous overdose years ago.", "overdose", ".H.."),
    ("Suicide attempt at age 17, none since.", "Suicide attempt", ".H.."),
    ("Remote hx of cutting.", "cutting", ".H.."),
    ("reports SI with plan to overdose last night", "SI", "...."),
    ("reports SI with plan to overdose last night", "overdose", "...."),
    ("Client cut herself 2 days ago.", "cut herself", "...."),
    ("History of SI, reports SI today with plan", "SI", ".H.."),
    ("History of SI, reports SI today with plan", "SI", "....", 1),
    ("Past SI; this week endorses SI with intent", "SI", "....", 1),
    ("Patient has no known history of self-harm", "self-harm", "NH.."),
    ("Two-day history of panic attacks.", "panic attacks", "...."),
    ("She drank heavily until about 1998 and made a suicide attempt.", "suicide attempt", ".H.."),
    # hypothetical
    ("if SI returns she will call 988", "SI", "..Y."),
    ("Would call 988 if suicidal thoughts return.", "suicidal thoughts", "..Y."),
    ("Return to ED if any suicidal ideation.", "suicidal ideation", "..Y."),
    ("Safety plan reviewed in case urges to self-harm arise.", "self-harm", "..Y."),
    ("She should return to the clinic should the panic return.", "panic", "..Y."),
    # other experiencer
    ("mother attempted suicide in 2010", "attempted suicide", ".H.O"),
    ("Her brother cut himself last week.", "cut himself", "...O"),
    ("Family history of suicide (uncle).", "suicide", ".H.O"),
    ("FHx: depression in her father", "depression", ".H.O"),
    ("client's mother died; client reports SI", "SI", "...."),
    ("Client's mother died last year and client reports SI with plan.", "SI", "...."),
    ("Argument with her mother, then took 30 pills.", "took 30 pills", "...."),
    ("Fight with boyfriend last night, cut herself afterwards.", "cut herself", "...."),
    ("Another patient on the unit assaulted a staff member.", "assaulted a staff member", "...O"),
    ("The patient struck another patient in the day room.", "struck another patient", "...."),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]} [{c[1]}]" for c in CASES])
def test_context_cases(case):
    sentence, target, expected, *nth = case
    assert flags(ctx(sentence, target, *nth)) == expected


def test_plain_crisis_statement_is_unmodified():
    a = ctx("Client reports SI with plan to overdose on her pills tonight.", "SI")
    assert not a.modified
    assert a == Assessment(cues=a.cues)


def test_cues_name_the_rule_not_the_note():
    a = ctx("Denies SI/HI", "SI")
    assert a.cues == ("NEGATED_EXISTENCE:denies",)


def test_target_span_is_checked():
    with pytest.raises(ValueError, match="outside"):
        assess("Denies SI", 7, 20)
    with pytest.raises(ValueError):
        assess("Denies SI", 5, 5)


def test_scope_stops_at_sentence_boundary():
    text = "Client denies HI. She reports SI with plan."
    i = text.index("SI")
    assert not assess(text, i, i + 2).negated


def test_max_scope_limits_a_trigger():
    # "[ ]" reaches 3 tokens only
    assert ctx("[ ] SI", "SI").negated
    assert not ctx("[ ] reviewed with client the current SI", "SI").negated


SPLIT = "Dr. Smith saw pt. at 9 a.m. Pt reports SI. A&O x4. Temp 98.6 today!\nS: sad O: flat A: MDD P: f/u e.g. CBT"


def test_split_sentences():
    parts = [SPLIT[a:b] for a, b in split_sentences(SPLIT)]
    assert parts == [
        "Dr. Smith saw pt. at 9 a.m. Pt reports SI.",
        "A&O x4. Temp 98.6 today!",
        "S: sad", "O: flat", "A: MDD", "P: f/u e.g. CBT",
    ]


def test_a_score_ends_a_sentence_a_list_number_does_not():
    # "14." read as a list marker once joined a score to the denial after it,
    # and the denial no longer negated the SI in front of it (a false C1)
    text = "PHQ-9 = 14. SI/HI denied, no plan.\nPlan:\n1. Meet weekly. 2. Call if worse. Seen by J. Smith."
    parts = [text[a:b] for a, b in split_sentences(text)]
    assert parts == ["PHQ-9 = 14.", "SI/HI denied, no plan.", "Plan:", "1. Meet weekly.", "2. Call if worse.",
                     "Seen by J. Smith."]


def test_split_sentences_labels_and_questions():
    text = "PAST MEDICAL HISTORY: MDD. Is she safe? Yes\n\nData: calm SI/HI: denied"
    parts = [text[a:b] for a, b in split_sentences(text)]
    assert parts == ["PAST MEDICAL HISTORY: MDD.", "Is she safe?", "Yes", "Data: calm", "SI/HI: denied"]
    assert split_sentences("") == []


def test_assess_in_text_reads_only_the_sentence():
    note = "Client denies HI. Reports SI with plan last night.\nHx of overdose in 2015."
    i = note.index("SI")
    assert not assess_in_text(note, i, i + 2).modified
    j = note.index("overdose")
    assert assess_in_text(note, j, j + 8).historical
    assert sentence_at(note, i) == (18, 50)


def test_engine_from_custom_rules():
    engine = ConText.from_toml('''
[[rule]]
category = "NEGATED_EXISTENCE"
direction = "backward"
literal = "ruled out"
max_scope = 2
[[rule]]
category = "TERMINATE"
literal = "but"
''')
    s = "SI ruled out"
    assert engine.assess(s, 0, 2).negated
    assert not engine.assess("SI and more words here ruled out", 0, 2).negated
    assert not engine.assess("Denies SI", 7, 9).negated  # "denies" is not in this rule set


@pytest.mark.parametrize("toml, message", [
    ("", "no \\[\\[rule\\]\\]"),
    ('[[rule]]\ncategory = "NOPE"\nliteral = "x"', "category"),
    ('[[rule]]\ncategory = "HISTORICAL"\nliteral = "x"\ndirection = "sideways"', "direction"),
    ('[[rule]]\ncategory = "HISTORICAL"\npattern = "(x)"', "groups"),
    ('[[rule]]\ncategory = "HISTORICAL"\npattern = "Hx"', "lower case"),
    ('[[rule]]\ncategory = "HISTORICAL"\npattern = "x?"', "empty"),
    ('[[rule]]\ncategory = "HISTORICAL"\nliteral = "x"\npattern = "x"', "exactly one"),
    ('[[rule]]\ncategory = "HISTORICAL"\nliteral = "x"\nmax_scpe = 2', "unknown key"),
    ('[[rule]]\ncategory = "HISTORICAL"\npattern = "(?:x"', "bad regex"),
    ("[[rule]\n", "not valid TOML"),
])
def test_bad_rules_are_rejected(toml, message):
    with pytest.raises(ValueError, match=message):
        ConText.from_toml(toml, "rules.toml")


def test_scans_are_cached_per_sentence():
    s = "Denies SI, HI, plan or intent; reports self-harm urges."
    first = ctx(s, "HI")
    assert ctx(s, "HI") == first
    assert ctx(s, "self-harm") == Assessment(cues=ctx(s, "self-harm").cues)


def test_past_time_is_a_date_or_age_not_a_history_word():
    from notesplugin.context import past_time
    assert past_time("She was a heavy drinker until about 1998 or 1999.")
    assert past_time("He cut himself at age 13.")
    assert not past_time("She has a history of depression.")
    assert not past_time("She argued with her husband last night.")


def test_unproofread_dictation_splits_at_its_spoken_stops():
    # voice dictation keeps its commands as words: without them the note is one sentence, and a
    # finding in it would point at the whole note (and the model would read it as one)
    text = ("client presented for individual session period he began talking about his dad and his voice broke "
            "period then writer shifted the conversation over to work period client talked about workload "
            "new paragraph S I H I denied comma no plan or intent period end of dictation")
    parts = [text[a:b] for a, b in split_sentences(text)]
    assert parts == ["client presented for individual session period",
                     "he began talking about his dad and his voice broke period",
                     "then writer shifted the conversation over to work period",
                     "client talked about workload", "new paragraph",
                     "S I H I denied comma no plan or intent period", "end of dictation"]


def test_the_word_period_alone_does_not_split():
    # "period" is an ordinary word in typed notes; only beside a command no one types does it stop
    text = ("A difficult period followed the loss, a period of low mood. "
            "Grace period on rent ends this week and the probation period ends in May")
    parts = [text[a:b] for a, b in split_sentences(text)]
    assert parts == ["A difficult period followed the loss, a period of low mood.",
                     "Grace period on rent ends this week and the probation period ends in May"]
    for typed in ("A period of low mood, comma splice noted. Period pain. Period tracker.",
                  "Period pain; new line manager; period tracker app"):
        assert [typed[a:b] for a, b in split_sentences(typed)] == [x.strip() for x in typed.replace(". ", ".|").split("|")]
    # a spoken stop the transcriber also typed a full stop after stays one sentence end
    text = "he said sorry period. writer reassured him period, comma then moved on"
    assert [text[a:b] for a, b in split_sentences(text)] == ["he said sorry period.", "writer reassured him period,",
                                                            "comma then moved on"]


def test_dictation_in_full_stops_or_periods_alone_splits_too():
    # UK speakers say "full stop"; some speakers say nothing but "period" (no comma, no new paragraph)
    uk = "visit to mrs marsh full stop new line she cried about ken full stop i moved us on to the bins full stop"
    assert [uk[a:b] for a, b in split_sentences(uk)] == ["visit to mrs marsh full stop", "new line",
                                                          "she cried about ken full stop",
                                                          "i moved us on to the bins full stop"]
    bare = "sofia session period she was crying about her friend period i said it would all work out period"
    assert len(split_sentences(bare)) == 3
    # with no command word, a typed full stop anywhere means the note is typed, not dictated
    assert len(split_sentences(bare.replace(" period", ".", 1))) == 1
