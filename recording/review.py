"""Curation on the database: rules and duplicates applied to many rows, reviews, statistics.

The decisions are pure (recording.curation, recording.dedupe); this module reads
rows in chunks, asks them, and writes the verdicts back in few statements.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from recording.curation import (
    CompiledRules,
    Rules,
    compile_rules,
    final_reply,
    fired_rule,
    join_tags,
    review_update,
    stored_tags,
)
from recording.dedupe import DEFAULT_THRESHOLD, Deduper, first_like_conversation
from recording.models import Alternative, Conversation, CurationRules, ReviewState

CHUNK = 1000
# Reply lengths in completion tokens: [low, high) for the histogram.
LENGTH_BUCKETS = ((0, 16), (16, 64), (64, 256), (256, 1024), (1024, 4096), (4096, None))


@dataclass
class CurateSummary:
    checked: int = 0
    rejected: Counter = field(default_factory=Counter)  # by rule
    cleared: int = 0
    duplicates: int | None = None  # None when duplicates were not looked for

    def line(self) -> str:
        rejected = sum(self.rejected.values())
        text = f"checked {self.checked}, rejected {rejected}, back to review {self.cleared}"
        if self.duplicates is not None:
            text += f", {self.duplicates} duplicates"
        return text


def rules_for(workflow: str) -> Rules:
    row = CurationRules.objects.filter(workflow__name=workflow).first()
    return row.as_rules() if row else Rules()


def _chunks(items: Iterable, size: int = CHUNK) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _verdicts(rows, compiled: CompiledRules, summary: CurateSummary) -> Iterator[tuple]:
    for pk, messages, finish, tokens, state, rule in rows:
        summary.checked += 1
        fired = fired_rule(compiled, final_reply(messages), finish, tokens)
        update = review_update(state, rule, reviewed=False, fired=fired)
        if update is not None:
            yield pk, update


def apply_rules(conversations) -> CurateSummary:
    """Pre-mark the rows nobody reviewed yet with their workflow's rules."""
    summary = CurateSummary()
    rows = conversations.filter(reviewed_at__isnull=True)
    workflows = rows.order_by().values_list("workflow", flat=True).distinct()
    for workflow in list(workflows):
        compiled = compile_rules(rules_for(workflow))
        values = (
            rows.filter(workflow=workflow)
            .order_by("pk")
            .values_list(
                "pk", "messages", "finish_reason", "completion_tokens", "review_state", "rule"
            )
        )
        changes = _verdicts(values.iterator(chunk_size=CHUNK), compiled, summary)
        for batch in _chunks(changes):
            by_update: dict[tuple[str, str], list] = {}
            for pk, update in batch:
                by_update.setdefault(update, []).append(pk)
            for (state, rule), pks in by_update.items():
                Conversation.objects.filter(pk__in=pks).update(review_state=state, rule=rule)
                if rule:
                    summary.rejected[rule] += len(pks)
                else:
                    summary.cleared += len(pks)
    return summary


def mark_duplicates(workflow: str, threshold: float = DEFAULT_THRESHOLD) -> int:
    """Mark each conversation whose prompt repeats an earlier one's (the first is kept);
    rejected rows take no part. Returns how many are duplicates now."""
    deduper = Deduper(threshold)
    rows = (
        Conversation.objects.filter(workflow=workflow)
        .order_by("created_at", "pk")
        .values_list("pk", "messages", "review_state", "duplicate_of_id")
    )
    marked, changes = 0, []
    for pk, messages, state, current in rows.iterator(chunk_size=CHUNK):
        first = None
        if state != ReviewState.REJECTED:
            first = first_like_conversation(deduper, pk, messages)
        marked += first is not None
        if first != current:
            changes.append(Conversation(pk=pk, duplicate_of_id=first))
    Conversation.objects.bulk_update(changes, ["duplicate_of"], batch_size=500)
    return marked


def curate(workflow: str, dedupe: bool = False, threshold: float = DEFAULT_THRESHOLD):
    summary = apply_rules(Conversation.objects.filter(workflow=workflow))
    if dedupe:
        summary.duplicates = mark_duplicates(workflow, threshold)
    return summary


def set_review(conversations, state: str, who: str) -> int:
    """A person's verdict; `new` clears the review (the rules may judge the rows again)."""
    if state == ReviewState.NEW:
        return conversations.update(review_state=state, rule="", reviewed_by="", reviewed_at=None)
    return conversations.update(review_state=state, reviewed_by=who, reviewed_at=timezone.now())


def change_tags(conversations, add: tuple[str, ...] = (), remove: list[str] | None = None) -> int:
    """Add tags to every row, and remove some (`remove=None`: none; `[]`: all)."""
    changed = []
    for row in conversations.only("pk", "tags").iterator(chunk_size=CHUNK):
        tags = stored_tags(row.tags)
        if remove == []:
            tags = []
        elif remove:
            tags = [t for t in tags if t not in remove]
        tags += [t for t in add if t not in tags]
        if join_tags(tags) != row.tags:
            row.tags = join_tags(tags)
            changed.append(row)
    Conversation.objects.bulk_update(changed, ["tags"], batch_size=500)
    return len(changed)


def _bucket_label(low: int, high: int | None) -> str:
    return f"{low}+" if high is None else f"{low}-{high - 1}"


def _bucket_filter(low: int, high: int | None) -> Q:
    found = Q(completion_tokens__gte=low)
    return found & Q(completion_tokens__lt=high) if high is not None else found


def training_stats(workflows: list[str]) -> list[dict]:
    """Per workflow: counts by review state, tokens, and a histogram of reply lengths."""
    aggregates = {
        "records": Count("id"),  # one per session
        "turns": Sum("turns"),
        "prompt_total": Sum("prompt_tokens"),
        "completion_total": Sum("completion_tokens"),
        "models": Count("model", distinct=True),
        "first": Min("created_at"),
        "last": Max("created_at"),
        "edited": Count("id", filter=Q(edited_reply__isnull=False)),
        "duplicates": Count("id", filter=Q(duplicate_of__isnull=False)),
        "unknown_length": Count("id", filter=Q(completion_tokens__isnull=True)),
    }
    for state in ReviewState:
        aggregates[state.value] = Count("id", filter=Q(review_state=state))
    for i, (low, high) in enumerate(LENGTH_BUCKETS):
        aggregates[f"bucket{i}"] = Count("id", filter=_bucket_filter(low, high))
    rows = (
        Conversation.objects.filter(workflow__in=workflows)
        .values("workflow")
        .annotate(**aggregates)
        .order_by("workflow")
    )
    relabelled = dict(
        Alternative.objects.filter(conversation__workflow__in=workflows)
        .values("conversation__workflow")
        .annotate(n=Count("conversation", distinct=True))
        .values_list("conversation__workflow", "n")
    )
    stats = []
    for row in rows:
        counts = [row.pop(f"bucket{i}") for i in range(len(LENGTH_BUCKETS))]
        row["relabelled"] = relabelled.get(row["workflow"], 0)
        row["histogram"] = [
            {"label": _bucket_label(low, high), "count": n, "max": max(counts) or 1}
            for (low, high), n in zip(LENGTH_BUCKETS, counts, strict=True)
        ]
        stats.append(row)
    return stats
