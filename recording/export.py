"""Export of captured conversations as training files, streamed from the database.

By default DIR/<workflow>/conversations.jsonl in ChatML; with a split,
DIR/<workflow>/train.jsonl and validation.jsonl. Memory stays constant whatever the
row count (except --dedupe, which keeps one small signature per distinct prompt).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import orjson

from recording.curation import call_text, content_text
from recording.dedupe import DEFAULT_THRESHOLD, Deduper, first_like_conversation
from recording.formats import Candidate, build_record, chatml_record, pick_reply, split_of
from recording.models import Alternative, Conversation, ReviewState
from recording.scrub import scrub_messages
from routing.core.redaction import redact_json

SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
CHUNK = 2000
BATCH = 500  # rows whose alternatives are read with one query


@dataclass
class FileSummary:
    records: int = 0  # one per session: a conversation holds all the turns of its session
    turns: int = 0
    tokens: int = 0


@dataclass
class ExportSummary(FileSummary):  # the files' sums
    skipped: int = 0
    files: list[Path] = field(default_factory=list)
    per_file: dict[Path, FileSummary] = field(default_factory=dict)
    reasons: Counter = field(default_factory=Counter)  # why records were skipped
    fell_back: int = 0  # exported with the original reply for want of the kind asked

    def skip(self, reason: str) -> None:
        self.skipped += 1
        self.reasons[reason] += 1

    def line(self) -> str:
        files, skipped = len(self.files), self.skipped
        text = f"{self.records} sessions ({self.turns} turns) in {files} files, {skipped} skipped"
        if self.reasons:
            text += f" ({', '.join(f'{n} {why}' for why, n in sorted(self.reasons.items()))})"
        if self.fell_back:
            text += f", {self.fell_back} with the original reply instead"
        return text

    def file_lines(self) -> list[str]:
        return [
            f"{path}: {s.records} sessions, {s.turns} turns, {s.tokens} tokens"
            for path, s in self.per_file.items()
        ]


@dataclass(frozen=True)
class ExportFilter:
    workflow: str = ""
    since: datetime | None = None
    until: datetime | None = None
    model: str = ""
    gateway_key: str = ""
    approved_only: bool = False

    def queryset(self):
        """The rows to export: rejected ones never are."""
        rows = Conversation.objects.exclude(review_state=ReviewState.REJECTED)
        if self.approved_only:
            rows = rows.filter(review_state=ReviewState.APPROVED)
        if self.workflow:
            rows = rows.filter(workflow=self.workflow)
        if self.since:
            rows = rows.filter(created_at__gte=self.since)
        if self.until:
            rows = rows.filter(created_at__lt=self.until)
        if self.model:
            rows = rows.filter(model=self.model) | rows.filter(model_in=self.model)
        if self.gateway_key:
            rows = rows.filter(gateway_key=self.gateway_key)
        return rows


@dataclass(frozen=True)
class ExportOptions:
    format: str = "chatml"  # one of formats.FORMATS
    choose: str = "reviewed"  # one of formats.CHOICES
    dedupe: bool = False
    similarity: float = DEFAULT_THRESHOLD
    scrub: bool = False
    split: float | None = None  # the share of records in train.jsonl
    seed: int = 0


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _meta(row: dict, model: str) -> dict:
    return {
        "timestamp": timestamp(row["created_at"]),
        "model": model,
        "workflow_id": row["workflow"],
    }


CHATML_FIELDS = ("workflow", "created_at", "model", "messages", "tools")


def iter_jsonl(conversations) -> Iterator[bytes]:
    """ChatML JSONL lines of a Conversation queryset as captured, streamed from the database."""
    rows = conversations.order_by("workflow", "created_at", "id").values(*CHATML_FIELDS)
    for row in rows.iterator(chunk_size=CHUNK):
        messages, tools = redact_json(row["messages"], []), redact_json(row["tools"], [])
        record = chatml_record(messages, tools, _meta(row, row["model"]))
        yield orjson.dumps(record) + b"\n"


class _Files:
    """Output files, opened on a workflow's first record (both halves of a split at once)."""

    def __init__(self, out_dir: Path, split: bool, summary: ExportSummary) -> None:
        self.out_dir, self.split, self.summary = out_dir, split, summary
        self.handles: dict[tuple[str, str], tuple[IO[bytes], FileSummary]] = {}

    def _open(self, workflow: str) -> None:
        for part in ("train", "validation") if self.split else ("conversations",):
            path = self.out_dir / workflow / f"{part}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            counts = self.summary.per_file[path] = FileSummary()
            self.handles[workflow, part] = (path.open("wb"), counts)
            self.summary.files.append(path)

    def write(self, workflow: str, part: str | None, line: bytes, tokens: int, turns: int) -> None:
        key = (workflow, part or "conversations")
        if key not in self.handles:
            self._open(workflow)
        handle, counts = self.handles[key]
        handle.write(line)
        counts.records += 1
        counts.turns += turns
        counts.tokens += tokens
        self.summary.records += 1
        self.summary.turns += turns

    def close(self) -> None:
        for handle, _ in self.handles.values():
            handle.close()


FIELDS = (
    "id",
    "request_id",
    *CHATML_FIELDS,
    "prompt_tokens",
    "completion_tokens",
    "edited_reply",
    "chosen",
    "chosen_alternative_id",
    "turns",
)


def _alternatives(ids: list[int]) -> dict[int, list[Candidate]]:
    found: dict[int, list[Candidate]] = {}
    rows = (
        Alternative.objects.filter(conversation_id__in=ids)
        .order_by("created_at", "id")
        .values_list("conversation_id", "id", "message", "model", "model_used", "completion_tokens")
    )
    for conversation, pk, message, model, used, tokens in rows:
        found.setdefault(conversation, []).append(Candidate(message, used or model, tokens, pk))
    return found


def reply_tokens(reply: Candidate) -> int:
    if reply.completion_tokens is not None:
        return reply.completion_tokens
    from routing.streams import tokens  # the tokenizer loads only when a count is missing

    text = content_text(reply.message.get("content")) + call_text(reply.message)
    return tokens.count_text(text, reply.model)


class _Exporter:
    def __init__(self, out_dir: Path, options: ExportOptions) -> None:
        self.options = options
        self.summary = ExportSummary()
        self.files = _Files(out_dir, options.split is not None, self.summary)
        self.dedupers: dict[str, Deduper] = {}

    def wants_alternatives(self, batch: list[dict]) -> bool:
        if self.options.choose == "reviewed":
            return any(row["chosen"] == "alternative" for row in batch)
        return self.options.choose == "relabelled"

    def export(self, row: dict, alternatives: list[Candidate]) -> None:
        options, workflow = self.options, row["workflow"]
        if not SAFE_NAME.fullmatch(workflow):
            return self.summary.skip("with an unsafe workflow name")
        original = Candidate(row["messages"][-1], row["model"], row["completion_tokens"])
        edited = row["edited_reply"]
        edited = Candidate(edited, row["model"], None) if edited else None
        picked = row["chosen_alternative_id"]
        reply, fell_back = pick_reply(
            options.choose, row["chosen"], original, edited, alternatives, picked
        )
        # Rows kept before the redaction grew are redacted again on their way out.
        messages = redact_json([*row["messages"][:-1], reply.message], [])
        if options.scrub:
            messages = scrub_messages(messages)
        record, reason = build_record(
            options.format, messages, redact_json(row["tools"], []), _meta(row, reply.model)
        )
        if record is None:
            return self.summary.skip(reason)
        if options.dedupe:
            deduper = self.dedupers.setdefault(workflow, Deduper(options.similarity))
            if first_like_conversation(deduper, row["id"], row["messages"]) is not None:
                return self.summary.skip("duplicates")
        self.summary.fell_back += fell_back
        part = (
            split_of(str(row["request_id"]), options.seed, options.split) if options.split else None
        )
        tokens = (row["prompt_tokens"] or 0) + reply_tokens(reply)
        self.files.write(workflow, part, orjson.dumps(record) + b"\n", tokens, row["turns"])


def _batches(rows: Iterator[dict]) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def export_conversations(
    out_dir: Path,
    filters: ExportFilter,
    options: ExportOptions | None = None,
    progress: Callable[[int], None] | None = None,
) -> ExportSummary:
    """Write the training files; see ExportOptions for formats, replies, dedupe and split."""
    exporter = _Exporter(out_dir, options or ExportOptions())
    rows = filters.queryset().order_by("workflow", "created_at", "id").values(*FIELDS)
    done = 0
    try:
        for batch in _batches(rows.iterator(chunk_size=CHUNK)):
            wanted = exporter.wants_alternatives(batch)
            alternatives = _alternatives([r["id"] for r in batch]) if wanted else {}
            for row in batch:
                exporter.export(row, alternatives.get(row["id"], []))
            done += len(batch)
            if progress:
                progress(done)
    finally:
        exporter.files.close()
    return exporter.summary


def export_chatml(
    out_dir: Path,
    filters: ExportFilter,
    dedupe: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ExportSummary:
    return export_conversations(out_dir, filters, ExportOptions(dedupe=dedupe), progress)
