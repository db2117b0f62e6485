"""Admission review of a proposed form: what the pool can already fill, which forms already ask
for the same things, and what merging would save.

Fields are compared by concept (what a field means), not by label, because old forms ask for
the same fact under many names (填表人 / 联系人 / 统计人).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from onceonly.contracts import feeds
from onceonly.forms.catalogue import FormDefinition

# An existing form that shares at least this share of a proposal's fields is a merge candidate.
MERGE_OVERLAP = 0.5


@dataclass(frozen=True, slots=True)
class Overlap:
    """How much of a proposal an existing form already asks for."""

    form_id: str
    title: str
    status: str
    shared: tuple[str, ...]  # concepts
    share: float  # shared concepts / the proposal's concepts


@dataclass(frozen=True, slots=True)
class ProposalReview:
    """One proposed form against the pool and the catalogue."""

    form_id: str
    title: str
    fields: int
    pool_fillable: tuple[str, ...]  # field ids the pool can fill
    pool_sources: dict[str, str]  # field id -> where the pool has it
    overlaps: tuple[Overlap, ...]  # largest first


@dataclass(frozen=True, slots=True)
class MergeProposal:
    """The proposals (and a close existing form, for a single proposal) as one form."""

    forms: tuple[str, ...]
    fields_before: int
    merged_concepts: tuple[str, ...]
    fields_saved: int
    reduction: float
    entered_before: int  # fields a worker types, summed over the forms
    entered_after: int  # fields a worker types on the merged form, the pool filling the rest
    covered_by: tuple[str, ...]  # active forms that already ask for every merged field

    @property
    def fields_after(self) -> int:
        return len(self.merged_concepts)


@dataclass(frozen=True, slots=True)
class Assessment:
    reviews: tuple[ProposalReview, ...]
    merge: MergeProposal | None


def pool_vocabulary(catalogue: Sequence[FormDefinition]) -> dict[str, str]:
    """Concept -> where the pool holds it: every feed column, and every measure a form prefills."""
    vocabulary: dict[str, str] = {}
    for feed in feeds():
        for table in feed.tables:
            for column in table.columns:
                vocabulary.setdefault(column.name, f"{feed.department}（{feed.id}.{column.name}）")
    for form in catalogue:
        if form.status == "retired":
            continue
        for f in form.prefilled:
            vocabulary.setdefault(f.concept, f"{f.source.department}（{f.source.feed}，"
                                             f"《{form.title}》预填）")
    return vocabulary


def _concepts(form: FormDefinition) -> list[str]:
    seen: list[str] = []
    for f in form.fields:
        if f.concept not in seen:
            seen.append(f.concept)
    return seen


def review(proposal: FormDefinition, catalogue: Sequence[FormDefinition],
           vocabulary: dict[str, str]) -> ProposalReview:
    """What the pool can fill of one proposal, and every existing form sharing its fields."""
    fillable = tuple(f.id for f in proposal.fields if f.concept in vocabulary)
    concepts = _concepts(proposal)
    overlaps = []
    for other in catalogue:
        if other.id == proposal.id:
            continue
        shared = tuple(c for c in concepts if c in set(_concepts(other)))
        if shared:
            overlaps.append(Overlap(other.id, other.title, other.status, shared,
                                    round(len(shared) / len(concepts), 4)))
    overlaps.sort(key=lambda o: (-len(o.shared), o.form_id))
    return ProposalReview(proposal.id, proposal.title, len(proposal.fields), fillable,
                          {f.id: vocabulary[f.concept] for f in proposal.fields
                           if f.concept in vocabulary}, tuple(overlaps))


def assess(proposals: Sequence[FormDefinition],
           catalogue: Sequence[FormDefinition]) -> Assessment:
    """Review each proposal; propose one merged form for several proposals, or for a single
    proposal and the active form that shares most of its fields."""
    vocabulary = pool_vocabulary(catalogue)
    reviews = tuple(review(p, catalogue, vocabulary) for p in proposals)
    group = list(proposals)
    if len(proposals) == 1:
        active = {f.id: f for f in catalogue if f.status in ("approved", "emergency")}
        close = [o for o in reviews[0].overlaps
                 if o.form_id in active and o.share >= MERGE_OVERLAP]
        if not close:
            return Assessment(reviews, None)
        group.append(active[close[0].form_id])
    merged: list[str] = []
    for form in group:
        merged += [c for c in _concepts(form) if c not in merged]
    before = sum(len(f.fields) for f in group)
    entered_before = sum(len(f.fields) - len(f.prefilled) for f in group)
    entered_after = sum(1 for c in merged if c not in vocabulary)
    covered_by = tuple(f.id for f in catalogue
                       if f.status in ("approved", "emergency") and f.id not in
                       {p.id for p in proposals} and set(merged) <= set(_concepts(f)))
    saved = before - len(merged)
    return Assessment(reviews, MergeProposal(
        tuple(f.id for f in group), before, tuple(merged), saved,
        round(saved / before, 4) if before else 0.0, entered_before, entered_after, covered_by))


def assessment_lines(result: Assessment, catalogue: Sequence[FormDefinition]) -> list[str]:
    """The assessment as text for the command line (field ids and titles only, no data)."""
    titles = {f.id: f.title for f in catalogue}
    lines: list[str] = []
    for r in result.reviews:
        lines.append(f"《{r.title}》({r.form_id}): {r.fields} fields, the pool can fill "
                     f"{len(r.pool_fillable)}: {', '.join(r.pool_fillable) or '-'}")
        for fid, where in r.pool_sources.items():
            lines.append(f"    {fid:<22} from {where}")
        for o in r.overlaps:
            lines.append(f"    overlaps 《{o.title}》({o.form_id}, {o.status}): {len(o.shared)} "
                         f"fields ({o.share:.0%}): {', '.join(o.shared)}")
    m = result.merge
    if m is None:
        lines.append("No merge proposed: no active form shares half of the proposal's fields.")
        return lines
    lines += [
        "",
        f"Merge proposal: {' + '.join(titles.get(f, f) for f in m.forms)}",
        f"  fields: {m.fields_before} -> {m.fields_after} ({m.fields_saved} fewer, "
        f"{m.reduction:.1%} reduction)",
        f"  typed by workers: {m.entered_before} -> {m.entered_after} (the pool fills the rest)",
        f"  merged fields: {', '.join(m.merged_concepts)}",
    ]
    if m.covered_by:
        lines.append("  already asked for in full by: "
                     + ", ".join(f"《{titles[f]}》({f})" for f in m.covered_by)
                     + " - issue that form instead of a new one.")
    return lines
