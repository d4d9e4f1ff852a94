"""Admin pages for workflows (with their training data), the request log and captured
conversations."""

from __future__ import annotations

import contextlib
import json

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Subquery
from django.http import HttpRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from recording import admin_review  # noqa: F401  (registers the conversations' admin)
from recording.admin_filters import CappedPaginator, InputFilter, StatusFilter
from recording.export import iter_jsonl
from recording.models import Conversation, CurationRules, RequestBody, RequestLog, ReviewState
from recording.review import curate, training_stats
from routing.models import Workflow


def jsonl_download(conversations, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(iter_jsonl(conversations), content_type="application/x-ndjson")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class WorkflowForm(forms.ModelForm):
    class Meta:
        model = Workflow
        fields = ["name", "port", "description"]

    def clean_port(self) -> int | None:
        port = self.cleaned_data.get("port")
        taken = {settings.LISTEN_PORT: "the gateway's own port"}
        if settings.OLLAMA_PORT:
            taken[settings.OLLAMA_PORT] = "the Ollama port"
        if port in taken:
            raise forms.ValidationError(f"Port {port} is {taken[port]}.")
        if port is not None and not 1 <= port <= 65535:
            raise forms.ValidationError("A port is a number from 1 to 65535.")
        return port


class CurationRulesInline(admin.StackedInline):
    model = CurationRules
    can_delete = True
    max_num = 1
    verbose_name_plural = "curation rules (the defaults apply without them)"


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    form = WorkflowForm
    list_display = ["name", "port", "conversations", "source", "created_at"]
    search_fields = ["name"]
    actions = ["download_conversations", "show_counts", "apply_curation"]
    inlines = [CurationRulesInline]
    change_form_template = "admin/routing/workflow/change_form.html"

    def get_queryset(self, request: HttpRequest):
        counts = (
            Conversation.objects.filter(workflow=OuterRef("name"))
            .order_by()
            .values("workflow")
            .annotate(n=Count("id"))
            .values("n")
        )
        return super().get_queryset(request).annotate(n_conversations=Subquery(counts))

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.training_data_view)
        name = "routing_workflow_training_data"
        return [path("<int:pk>/training-data/", view, name=name), *super().get_urls()]

    @admin.display(description="conversations", ordering="n_conversations")
    def conversations(self, obj: Workflow) -> int:
        return obj.n_conversations or 0

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if "port" in form.changed_data and obj.port:
            self.message_user(
                request,
                f"Port {obj.port} is listened on after the gateway's "
                "next start; requests on ports already open follow at once.",
                messages.WARNING,
            )

    @admin.action(description="Download their conversations as ChatML JSONL (not rejected)")
    def download_conversations(self, request: HttpRequest, queryset) -> StreamingHttpResponse:
        names = list(queryset.values_list("name", flat=True))
        kept = Conversation.objects.filter(workflow__in=names).exclude(
            review_state=ReviewState.REJECTED
        )
        return jsonl_download(kept, "conversations.jsonl")

    def _training_data(self, request: HttpRequest, names: list[str]) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": "Training data",
            "rows": training_stats(names),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/recording/workflow_counts.html", context)

    @admin.action(description="Show their training data (reviews, tokens, lengths)")
    def show_counts(self, request: HttpRequest, queryset) -> TemplateResponse:
        return self._training_data(request, list(queryset.values_list("name", flat=True)))

    def training_data_view(self, request: HttpRequest, pk: int) -> TemplateResponse:
        workflow = get_object_or_404(Workflow, pk=pk)
        if not self.has_view_permission(request, workflow):
            raise PermissionDenied
        return self._training_data(request, [workflow.name])

    @admin.action(description="Apply their curation rules and mark duplicates")
    def apply_curation(self, request: HttpRequest, queryset) -> None:
        for name in queryset.values_list("name", flat=True):
            self.message_user(request, f"{name}: {curate(name, dedupe=True).line()}.")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(RequestLog)
class RequestLogAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at",
        "state",
        "status",
        "service",
        "kind",
        "endpoint",
        "models",
        "upstream",
        "workflow",
        "duration",
        "ttft",
        "tokens",
        "cache_hit",
    ]
    list_filter = [
        ("started_at", admin.DateFieldListFilter),
        "state",
        StatusFilter,
        "service",
        "kind",
        "cache_hit",
        InputFilter.for_field("model_in", "model"),
        InputFilter.for_field("workflow", "workflow"),
    ]
    show_full_result_count = False
    paginator = CappedPaginator
    list_per_page = 50
    ordering = ["-started_at"]
    actions = ["download_conversations"]
    exclude = []
    readonly_fields = ["request_headers", "request_body", "response_body", "conversation"]

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [f.name for f in RequestLog._meta.fields] + self.readonly_fields

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return self.get_fields(request, obj)

    @admin.display(description="model")
    def models(self, obj: RequestLog) -> str:
        if obj.model_out and obj.model_out != obj.model_in:
            return f"{obj.model_in} → {obj.model_out}"
        return obj.model_in

    @admin.display(description="duration", ordering="duration_ms")
    def duration(self, obj: RequestLog) -> str:
        return f"{obj.duration_ms:.0f} ms" if obj.duration_ms is not None else "-"

    @admin.display(description="TTFT")
    def ttft(self, obj: RequestLog) -> str:
        return f"{obj.ttft_ms:.0f} ms" if obj.ttft_ms is not None else "-"

    @admin.display(description="tokens in/out")
    def tokens(self, obj: RequestLog) -> str:
        if obj.prompt_tokens is None and obj.completion_tokens is None:
            return "-"
        mark = "≈" if obj.tokens_estimated else ""
        return f"{mark}{obj.prompt_tokens or 0}/{obj.completion_tokens or 0}"

    def _body(self, obj: RequestLog) -> RequestBody | None:
        if not hasattr(obj, "_body_row"):
            obj._body_row = RequestBody.objects.filter(pk=obj.pk).first()
        return obj._body_row

    def _pre(self, text: str) -> str:
        with contextlib.suppress(ValueError):  # JSON is shown indented, anything else as is
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        return format_html('<pre class="body">{}</pre>', text)

    @admin.display(description="request headers (redacted)")
    def request_headers(self, obj: RequestLog) -> str:
        body = self._body(obj)
        return self._pre(json.dumps(body.headers())) if body else "-"

    @admin.display(description="request body (redacted)")
    def request_body(self, obj: RequestLog) -> str:
        body = self._body(obj)
        return self._pre(body.request_text()) if body else "-"

    @admin.display(description="response as delivered (redacted)")
    def response_body(self, obj: RequestLog) -> str:
        body = self._body(obj)
        if not body:
            return "-"
        note = " (cut at MAX_BODY_LOG_BYTES)" if body.truncated else ""
        return format_html("{}{}", self._pre(body.response_text()), note)

    @admin.display(description="captured conversation")
    def conversation(self, obj: RequestLog) -> str:
        found = Conversation.objects.filter(request_id=obj.pk).first()
        if found is None:
            return "-"
        url = reverse("admin:recording_conversation_change", args=[found.pk])
        return format_html(
            '<a href="{}">{} messages in {}</a>', url, len(found.messages), found.workflow
        )

    @admin.action(description="Download their conversations as ChatML JSONL (not rejected)")
    def download_conversations(self, request: HttpRequest, queryset) -> StreamingHttpResponse:
        ids = list(queryset.values_list("pk", flat=True)[:100_000])
        kept = Conversation.objects.filter(request_id__in=ids).exclude(
            review_state=ReviewState.REJECTED
        )
        return jsonl_download(kept, "conversations.jsonl")
