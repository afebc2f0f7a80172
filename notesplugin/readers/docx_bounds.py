"""Which `Label: value` blocks of a multi-note DOCX start a note, and which are note text.

A note body may hold its own label lines (a contact log with `Date:` and `Member:`,
a pasted form with `Client Name:`); cutting there makes phantom notes that take the
real note's findings. So a block starts a note only when it repeats the identity
fields (client, date, clinician, note ID) of the file's first header block, or all
but one of them right after a page/section break, a rule or a title line. Blocks in
a row (nothing but blank lines and titles between) are judged together, as the
reader merges them into one header. Anything else stays note text: when unsure,
fewer and longer notes.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Block:
    first: int  # index of its first and last item
    last: int
    roles: frozenset[str]  # identity fields it names
    labels: frozenset[str]  # its labels, normalised
    form: bool  # it also holds labels that name no identity field ("DOB", "Contact #")
    goes_on: bool = False  # label lines naming no identity field follow it ("Medication: ...")


def _groups(blocks: list[Block], gap) -> list[list[Block]]:
    """Blocks with only blank lines and titles between them; a second note ID starts a new group."""
    out: list[list[Block]] = []
    for b in blocks:
        if out and all(gap(k) for k in range(out[-1][-1].last + 1, b.first)) \
                and not ("note_id" in b.roles and "note_id" in _roles(out[-1])):
            out[-1].append(b)
        else:
            out.append([b])
    return out


def _roles(group: list[Block]) -> frozenset[str]:
    return frozenset().union(*(b.roles for b in group))


def _labels(group: list[Block]) -> frozenset[str]:
    return frozenset().union(*(b.labels for b in group))


def _strip_forms(group: list[Block], ok, known: frozenset[str] | None = None,
                 lead: bool = True) -> tuple[list[Block], int]:
    """Drop form-like blocks at either end of a header group while the rest still makes a
    header: a log or form ending the previous note (`lead`), a form opening this one. A
    trailing block whose labels are all header labels (`known`, else the rest's) is the
    header's own tail ("DOS: ...", "Clinician: ...") and stays."""
    dropped = 0
    while lead and len(group) > 1 and (group[0].form or group[0].goes_on) and ok(group[1:]):
        group, dropped = group[1:], dropped + 1
    while len(group) > 1:
        last, rest = group[-1], group[:-1]
        own = last.labels <= (known if known is not None else _labels(rest))
        if not ((last.form or last.goes_on) and last.roles & _roles(rest) and not own and ok(rest)):
            break
        group, dropped = rest, dropped + 1
    return group, dropped


def note_starts(blocks: list[Block], n_items: int, gap, signal) -> tuple[list[Block], int]:
    """The blocks kept as headers, and how many label blocks were judged note text.

    gap(i): item i is blank, a title or a rule (may sit inside a header group);
    signal(i): item i is a page/section break, rule or title (a note boundary mark)."""
    groups = _groups(blocks, gap)
    if not groups:
        return [], 0
    first, dropped = _strip_forms(groups[0], lambda g: True, lead=False)
    ref, ref_labels = _roles(first), _labels(first)
    kept = list(first)
    for group in groups[1:]:
        k = group[0].first - 1
        while k >= 0 and gap(k) and not signal(k):
            k -= 1
        marked = k < 0 or signal(k) or signal(group[0].first)

        def ok(g: list[Block]) -> bool:
            found = _roles(g)
            return found >= ref or (marked and len(found & ref) >= max(2, len(ref) - 1))

        if ok(group):
            group, n = _strip_forms(group, ok, ref_labels)
            kept.extend(group)
            dropped += n
        elif not any(b.form or b.goes_on for b in group) and all(gap(k) for k in range(group[-1].last + 1, n_items)):
            kept.extend(group)  # a signature block ("Clinician: ...", "Date: ...") ending the file
        else:
            dropped += len(group)
    return kept, dropped
