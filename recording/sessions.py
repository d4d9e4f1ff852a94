"""Agent sessions as one training example each, whatever the client API.

An agent resends its whole conversation on every turn. A captured conversation whose prompt
begins with a conversation already captured in the same workflow (its chain digest is one
of the new row's `extends`) takes that row's place: a 40-turn session ends as one row
holding all 40 replies, not 40 overlapping rows. Only rows nobody has worked on yet are
replaced: a reviewed, edited or relabelled conversation stays, and the longer one is added.

The writer does this off the request path: rows of one batch are merged in memory, then
each row that may extend an older one looks for it with one query (on the database thread).
"""

from __future__ import annotations

from django.db.models import F, Value
from django.db.models.functions import Coalesce

from recording import bulk
from recording.models import Conversation, ReviewState

# Taken from the newer turn; tokens are summed (replies) or replaced (prompt), see _merged.
REPLACED = (
    "request_id",
    "model",
    "model_in",
    "created_at",
    "messages",
    "tools",
    "finish_reason",
    "gateway_key",
    "prompt_tokens",
    "digest",
    "chain_digest",
    "turns",
)


def _sum(a: int | None, b: int | None) -> int | None:
    return None if a is None and b is None else (a or 0) + (b or 0)


def merge_batch(rows: list[dict]) -> list[dict]:
    """Rows of one batch, in order, with each row that an later one extends left out (its
    replies' tokens counted in the later row)."""
    latest: dict[tuple[str, str], int] = {}  # (workflow, chain digest) -> position in out
    out: list[dict | None] = []
    for row in rows:
        for earlier in reversed(row.get("extends") or ()):  # the longest prefix first
            at = latest.pop((row["workflow"], earlier), None)
            if at is not None:
                row = {
                    **row,
                    "completion_tokens": _sum(
                        out[at]["completion_tokens"], row["completion_tokens"]
                    ),
                }
                out[at] = None
                break
        latest[row["workflow"], row["chain_digest"]] = len(out)
        out.append(row)
    return [row for row in out if row is not None]


def extendable(row: dict) -> int | None:
    """The conversation this row extends, if one is stored and still untouched: the one
    with the longest prefix (the newest of equals)."""
    order = {digest: i for i, digest in enumerate(row["extends"])}
    found = (
        Conversation.objects.filter(
            workflow=row["workflow"],
            chain_digest__in=list(order),
            review_state=ReviewState.NEW,
            edited_reply__isnull=True,
            alternatives__isnull=True,
        )
        .values_list("id", "chain_digest")
        .order_by()
    )
    best = max(found, key=lambda f: (order[f[1]], f[0]), default=None)
    return best[0] if best is not None else None


def replace(pk: int, row: dict) -> None:
    values = {name: row[name] for name in REPLACED}
    if row["completion_tokens"] is not None:
        values["completion_tokens"] = (
            Coalesce(F("completion_tokens"), Value(0)) + row["completion_tokens"]
        )
    Conversation.objects.filter(pk=pk).update(**values)


class SessionWrites:
    """The conversations of a batch as one step of the writer's transaction (it runs on the
    database thread): replacements first, then one INSERT for the new sessions."""

    def __init__(self, rows: list[dict]) -> None:
        self.rows = merge_batch(rows)

    def execute(self) -> None:
        fresh = []
        for row in self.rows:
            pk = extendable(row) if row.get("extends") else None
            if pk is None:
                fresh.append(row)
            else:
                replace(pk, row)
        for statement in bulk.insert(Conversation, bulk.values(Conversation, fresh)):
            statement.execute()
