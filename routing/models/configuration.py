"""Routing configuration stored in the database and edited in the admin."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models.functions import Cast

from routing.core.redaction import GATEWAY_KEY_PREFIX
from routing.models.sealed import SealedField, UnsealError, unseal_strictly
from routing.rules.engine import UPSTREAM_APIS
from routing.rules.patterns import (
    PatternError,
    check_template,
    compile_model_pattern,
    parse_network,
)
from routing.streams.chunks import THINK_MODES


class Source(models.TextChoices):
    """Where a row came from: rows loaded from a file or a variable are replaced at start."""

    ADMIN = "admin", "admin"
    FILE = "file", "routes file"
    ENV = "env", "MODEL_MAP"
    IMPORT = "import", "import_routes"


def validate_model_pattern(value: str) -> None:
    try:
        compile_model_pattern(value)
    except PatternError as exc:
        raise ValidationError(str(exc)) from None


def validate_network(value: str) -> None:
    try:
        parse_network(value)
    except PatternError as exc:
        raise ValidationError(str(exc)) from None


validate_http_url = URLValidator(schemes=["http", "https"], message="Enter an http(s) URL.")


class Upstream(models.Model):
    name = models.CharField(max_length=100, unique=True)
    base_url = models.CharField(
        "base URL",
        max_length=500,
        validators=[validate_http_url],
        help_text="For example http://gpu-box:8000 (a trailing /v1 is accepted).",
    )
    api_key = SealedField(
        "API key",
        blank=True,
        help_text="Sent to this upstream as a bearer token. Kept encrypted (SECRET_KEY); "
        "never shown or logged.",
    )
    timeout = models.FloatField(
        null=True, blank=True, help_text="Seconds to the first byte and between chunks."
    )
    max_concurrency = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Requests sent to it at once; more wait QUEUE_TIMEOUT, then get a 503.",
    )
    api = models.CharField(
        "API",
        max_length=12,
        choices=[(api, api) for api in UPSTREAM_APIS],
        default="openai",
        help_text="Every upstream speaks OpenAI's chat completions; one that also speaks "
        "Anthropic's Messages or OpenAI's Responses natively gets those requests untranslated.",
    )
    enabled = models.BooleanField(default=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.ADMIN)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def reseal_keys(cls) -> tuple[int, int]:
        """Encrypt every stored key again under the current SECRET_KEY; (done, unreadable)."""
        done = unreadable = 0
        raw = Cast("api_key", models.TextField())  # the column as stored
        for pk, stored in cls.objects.annotate(raw=raw).values_list("pk", "raw"):
            if not stored:
                continue
            try:
                plain = unseal_strictly(stored)
            except UnsealError:
                unreadable += 1
                continue
            cls.objects.filter(pk=pk).update(api_key=plain)
            done += 1
        return done, unreadable


class Route(models.Model):
    THINK_CHOICES = [("", "inherit"), *[(mode, mode) for mode in THINK_MODES]]

    STRATEGIES = [
        ("fallback", "ordered fallback"),
        ("weighted", "weighted random"),
        ("least_busy", "least requests in flight"),
    ]

    position = models.PositiveIntegerField(default=0, db_index=True)
    name = models.CharField(max_length=100, blank=True)
    enabled = models.BooleanField(default=True)
    match_model = models.CharField(
        "model",
        max_length=300,
        blank=True,
        validators=[validate_model_pattern],
        help_text="Exact name, or /regex/ found anywhere in the name (^ and $ anchor it).",
    )
    match_source = models.CharField(
        "client address",
        max_length=100,
        blank=True,
        validators=[validate_network],
        help_text="IP address or CIDR block.",
    )
    upstream = models.ForeignKey(
        Upstream,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Empty: the default upstream. Several targets below replace it.",
    )
    strategy = models.CharField(
        max_length=12,
        choices=STRATEGIES,
        default="fallback",
        help_text="How the targets below are chosen.",
    )
    rewrite_model = models.CharField(
        max_length=300, blank=True, help_text="New model name; \\1 refers to a regex group."
    )
    strip_thinking = models.CharField(max_length=10, blank=True, choices=THINK_CHOICES)
    disable_thinking = models.BooleanField(null=True, blank=True)
    strip_json_markdown = models.BooleanField(null=True, blank=True)
    cache = models.BooleanField(
        null=True, blank=True, help_text="Cache answers of this route (empty: CACHE_ENABLED)."
    )
    cache_tool_calls = models.BooleanField(
        default=False, help_text="Also cache answers that call tools."
    )
    reasoning_effort = models.BooleanField(
        default=False,
        help_text="Pass a Responses request's reasoning.effort on as reasoning_effort "
        "(only for upstreams that take it: others may refuse the request).",
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.ADMIN)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name or f"route {self.pk}"

    def clean(self) -> None:
        if self.rewrite_model and self.match_model:
            try:
                check_template(self.rewrite_model, compile_model_pattern(self.match_model))
            except PatternError as exc:
                raise ValidationError({"rewrite_model": str(exc)}) from None


class ModelMapping(models.Model):
    position = models.PositiveIntegerField(default=0, db_index=True)
    pattern = models.CharField(
        max_length=300,
        validators=[validate_model_pattern],
        help_text="Exact name, or /regex/ matched from the start of the name.",
    )
    replacement = models.CharField(
        max_length=300, help_text="The whole new model name; \\1 refers to a regex group."
    )
    enabled = models.BooleanField(default=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.ADMIN)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.pattern} → {self.replacement}"

    def clean(self) -> None:
        try:
            check_template(self.replacement, compile_model_pattern(self.pattern))
        except PatternError as exc:
            raise ValidationError({"replacement": str(exc)}) from None


class ConfigVersion(models.Model):
    """One row whose number goes up on every configuration change; workers poll it."""

    version = models.BigIntegerField(default=0)


def validate_rate(value: str) -> None:
    from routing.rules.rates import parse_rate

    try:
        parse_rate(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def validate_model_patterns(value: str) -> None:
    for line in value.splitlines():
        if line.strip():
            validate_model_pattern(line)


class GatewayKey(models.Model):
    """A key clients present to use the gateway; only its hash is kept."""

    PREFIX = GATEWAY_KEY_PREFIX

    name = models.CharField(max_length=100, unique=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_start = models.CharField("key", max_length=16, editable=False)
    allowed_models = models.TextField(
        blank=True,
        validators=[validate_model_patterns],
        help_text="One exact name or /regex/ (found anywhere in the name) per line; "
        "empty allows every model.",
    )
    rate_limit = models.CharField(
        max_length=32,
        blank=True,
        validators=[validate_rate],
        help_text="For example 100/1m; empty: RATE_LIMIT; 0: no limit.",
    )
    manage_models = models.BooleanField(
        "may manage models",
        default=False,
        help_text="May pull, create, copy, push and delete models on the Ollama behind the "
        "gateway.",
    )
    enabled = models.BooleanField(default=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def hash(key: str) -> str:
        import hashlib

        return hashlib.sha256(key.encode()).hexdigest()

    def issue(self) -> str:
        """Make a new secret for this key, keep its hash, and return it (shown once)."""
        import secrets

        key = self.PREFIX + secrets.token_urlsafe(32)
        self.key_hash = self.hash(key)
        self.key_start = key[:12] + "…"
        return key


class RouteTarget(models.Model):
    """One of several upstreams a route sends to, with its own model name and weight."""

    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="targets")
    position = models.PositiveIntegerField(default=0)
    upstream = models.ForeignKey(Upstream, on_delete=models.PROTECT)
    model = models.CharField(
        max_length=300, blank=True, help_text="The model name on this upstream; empty: the route's."
    )
    weight = models.FloatField(default=1.0, help_text="For weighted random: its share.")

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.upstream} ({self.weight:g})"

    def clean(self) -> None:
        if self.weight <= 0:
            raise ValidationError({"weight": "A weight must be above 0."})
