"""Line breaks that only wrap a sentence: a soft break in Word (Shift+Enter), Alt+Enter in a
workbook cell, a hard-wrapped CSV field, a printed line end in a PDF. The checklists read a line
break as the end of a sentence (terse notes are written a line per finding), so a break inside
a sentence would cut "I reassured him it would all" from "work out." The readers read such a
break as a space, which keeps every offset, so findings still map to the same characters."""
from __future__ import annotations

import re

_MIN_WORDS = 6  # a terse line ("mood low", "denies SI/HI") is shorter: it stays a line of its own
_BREAK = re.compile(r"\r\n|\r|\n")


def continues_sentence(before: str, after: str) -> bool:
    """Whether the line `after` goes on with the sentence of the line `before`: that line is
    prose (6+ words) that ends on no punctuation, and the next opens on a lowercase letter."""
    b = before.rstrip()
    return len(b.split()) >= _MIN_WORDS and b[-1] not in ".!?:;" and after.lstrip()[:1].islower()


def unwrap(text: str) -> str:
    """text with each line break inside a sentence as spaces (the same length)."""
    if "\n" not in text and "\r" not in text:
        return text
    out, at = [], 0
    for m in _BREAK.finditer(text):
        line_start = max(text.rfind("\n", 0, m.start()), text.rfind("\r", 0, m.start())) + 1
        nxt = _BREAK.search(text, m.end())
        if continues_sentence(text[line_start:m.start()], text[m.end():nxt.start() if nxt else len(text)]):
            out += [text[at:m.start()], " " * (m.end() - m.start())]
            at = m.end()
    return "".join(out) + text[at:] if out else text
