"""What the gateway records: request logs, their bodies and captured conversations."""

from __future__ import annotations

import orjson
from django.core.exceptions import ValidationError
from django.db import models

from recording.curation import (
    DEFAULT_PATTERNS,
    RuleError,
    Rules,
    compile_rules,
    final_reply,
    split_patterns,
    stored_tags,
)
from routing.models import Workflow, decompress


class State(models.TextChoices):
    IN_PROGRESS = "in_progress", "in progress"
    OK = "ok", "ok"
    ERROR = "error", "error"
    CANCELLED = "cancelled", "cancelled by client"
    INTERRUPTED = "interrupted", "interrupted"


class RequestLog(models.Model):
    """One row per request, narrow: list views never touch the bodies."""

    id = models.UUIDField(primary_key=True, editable=False)
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.IN_PROGRESS)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    service = models.CharField(max_length=16)  # the client API: "openai", "ollama", ...
    kind = models.CharField(max_length=16, blank=True)  # "chat", "text", "embeddings", ...
    endpoint = models.CharField(max_length=64)
    client = models.CharField(max_length=64, blank=True)
    node = models.CharField(max_length=128, blank=True)
    workflow = models.CharField(max_length=64, blank=True)
    upstream = models.CharField(max_length=100, blank=True)
    route = models.CharField(max_length=100, blank=True)
    model_in = models.CharField("model asked", max_length=200, blank=True)
    model_out = models.CharField("model used", max_length=200, blank=True)
    stream = models.BooleanField(default=False)
    duration_ms = models.FloatField(null=True, blank=True)
    ttft_ms = models.FloatField("time to first token (ms)", null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    tokens_estimated = models.BooleanField(default=False)
    bytes_in = models.PositiveIntegerField(default=0)
    bytes_out = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    cache_hit = models.BooleanField(default=False)
    gateway_key = models.CharField(max_length=100, blank=True)
    attempts = models.JSONField(null=True, blank=True)  # when more than one upstream was tried
    # What only some kinds have: inputs and dimensions of embeddings, method and path of a
    # pass-through.
    details = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["state", "started_at"], name="log_state_started"),
            models.Index(fields=["model_in", "started_at"], name="log_model_started"),
            models.Index(fields=["workflow", "started_at"], name="log_workflow_started"),
            models.Index(fields=["gateway_key", "started_at"], name="log_key_started"),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.model_in} {self.state}"


class RequestBody(models.Model):
    """Bodies of one request, redacted and compressed, read only when that request is opened."""

    request = models.OneToOneField(
        RequestLog, primary_key=True, on_delete=models.CASCADE, related_name="body"
    )
    request_headers = models.BinaryField(blank=True)
    request_body = models.BinaryField(blank=True)
    response_body = models.BinaryField(blank=True)
    truncated = models.BooleanField(default=False)

    def headers(self) -> dict:
        raw = decompress(self.request_headers)
        return orjson.loads(raw) if raw else {}

    def request_text(self) -> str:
        return decompress(self.request_body).decode("utf-8", errors="replace")

    def response_text(self) -> str:
        return decompress(self.response_body).decode("utf-8", errors="replace")


class ReviewState(models.TextChoices):
    NEW = "new", "to review"
    APPROVED = "approved", "approved"
    REJECTED = "rejected", "rejected"


class Chosen(models.TextChoices):
    ORIGINAL = "original", "the original reply"
    EDITED = "edited", "the edited reply"
    ALTERNATIVE = "alternative", "an alternative reply"


class Conversation(models.Model):
    """A successful exchange as ChatML training data; kept when old logs are pruned."""

    request_id = models.UUIDField(db_index=True)
    workflow = models.CharField(max_length=64)
    model = models.CharField(max_length=200)
    model_in = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    messages = models.JSONField()
    tools = models.JSONField(null=True, blank=True)
    finish_reason = models.CharField(max_length=32, blank=True)
    gateway_key = models.CharField(max_length=100, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    digest = models.CharField(max_length=40, db_index=True)  # sha1 of messages, for --dedupe
    # An agent resends its whole conversation each turn: a later turn whose prompt begins
    # with this conversation (same chain digest) replaces it, so a session is one row.
    chain_digest = models.CharField(max_length=40, blank=True, default="")
    turns = models.PositiveIntegerField(default=1)  # the model's replies in the conversation
    # Curation: a person's review (or the rule that rejected it), tags, an edited reply
    # (the original stays in `messages`) and which reply to export.
    review_state = models.CharField(
        "review", max_length=10, choices=ReviewState.choices, default=ReviewState.NEW
    )
    rule = models.CharField("rule fired", max_length=100, blank=True)
    reviewed_by = models.CharField(max_length=150, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    tags = models.CharField(max_length=500, blank=True)  # ",a,b,": one tag is `contains=",a,"`
    edited_reply = models.JSONField(null=True, blank=True)
    chosen = models.CharField(
        "reply to export", max_length=12, choices=Chosen.choices, default=Chosen.ORIGINAL
    )
    chosen_alternative = models.ForeignKey(
        "Alternative", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["workflow", "created_at"], name="conv_workflow_created"),
            models.Index(
                fields=["workflow", "review_state", "created_at"], name="conv_workflow_review"
            ),
            models.Index(fields=["created_at"], name="conv_created"),  # the admin's newest first
            models.Index(fields=["workflow", "chain_digest"], name="conv_workflow_chain"),
        ]

    def __str__(self) -> str:
        return f"{self.workflow} {self.model} {self.created_at:%Y-%m-%d %H:%M}"

    def reply(self) -> dict:
        """The original assistant reply (the last message)."""
        return final_reply(self.messages)

    def tag_list(self) -> list[str]:
        return stored_tags(self.tags)


class Alternative(models.Model):
    """Another model's answer to a conversation's prompt (`manage.py relabel`)."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="alternatives"
    )
    model = models.CharField("model asked", max_length=200)
    model_used = models.CharField(max_length=200, blank=True)
    message = models.JSONField()
    finish_reason = models.CharField(max_length=32, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # One answer per model: a resumed relabelling run skips what is done.
            models.UniqueConstraint(fields=["conversation", "model"], name="alternative_per_model")
        ]

    def __str__(self) -> str:
        return f"{self.model} for #{self.conversation_id}"


def default_patterns() -> str:
    return "\n".join(DEFAULT_PATTERNS)


class CurationRules(models.Model):
    """A workflow's automatic rules; a workflow without a row gets the defaults."""

    workflow = models.OneToOneField(Workflow, on_delete=models.CASCADE, related_name="curation")
    reject_cut_off = models.BooleanField(
        "reject cut-off replies", default=True, help_text='finish_reason "length"'
    )
    reject_empty = models.BooleanField("reject empty replies", default=True)
    patterns = models.TextField(
        "reject replies matching",
        blank=True,
        default=default_patterns,
        help_text="One RE2 regex per line, case-insensitive, searched in the reply text.",
    )
    min_chars = models.PositiveIntegerField("at least characters", null=True, blank=True)
    max_chars = models.PositiveIntegerField("at most characters", null=True, blank=True)
    min_tokens = models.PositiveIntegerField("at least tokens", null=True, blank=True)
    max_tokens = models.PositiveIntegerField("at most tokens", null=True, blank=True)

    class Meta:
        verbose_name_plural = "curation rules"

    def __str__(self) -> str:
        return f"rules of {self.workflow}"

    def as_rules(self) -> Rules:
        return Rules(
            reject_cut_off=self.reject_cut_off,
            reject_empty=self.reject_empty,
            patterns=split_patterns(self.patterns),
            min_chars=self.min_chars,
            max_chars=self.max_chars,
            min_tokens=self.min_tokens,
            max_tokens=self.max_tokens,
        )

    def clean(self) -> None:
        try:
            compile_rules(self.as_rules())
        except RuleError as exc:
            raise ValidationError({"patterns": str(exc)}) from None


class HourlyStat(models.Model):
    """Finished requests summed per hour, service and model: statistics without scanning logs.

    The writer adds to these with one UPSERT per key, so several writers (workers,
    nodes) can add at the same time without losing counts.
    """

    hour = models.DateTimeField()
    service = models.CharField(max_length=16)
    model = models.CharField(max_length=200)
    gateway_key = models.CharField(max_length=100, blank=True, default="")
    requests = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    duration_ms_sum = models.FloatField(default=0)
    duration_count = models.PositiveIntegerField(default=0)
    ttft_ms_sum = models.FloatField(default=0)
    ttft_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "service", "model", "gateway_key"], name="hourly_stat_key_v2"
            )
        ]
        indexes = [models.Index(fields=["hour"], name="hourly_stat_hour")]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}h {self.service} {self.model}: {self.requests}"
