"""The admin's review of captured conversations: transcript, verdicts, tags, edits, replies.

Whatever a model or a client wrote is shown as text: transcripts and replies are
rendered by templates with autoescaping, never marked safe.
"""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.http import HttpRequest, StreamingHttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from recording.admin_filters import (
    CappedPaginator,
    DuplicateFilter,
    EditedFilter,
    FinishReasonFilter,
    InputFilter,
    LengthFilter,
    RelabelledFilter,
    RuleFilter,
    TagFilter,
    WorkflowFilter,
)
from recording.admin_forms import ConversationForm, TagActionForm
from recording.curation import content_text, parse_tags
from recording.export import iter_jsonl
from recording.models import Chosen, Conversation, ReviewState
from recording.review import apply_rules, change_tags, mark_duplicates, set_review

CAPTURED = [
    *("workflow", "model", "model_in", "created_at", "finish_reason"),
    *("prompt_tokens", "completion_tokens", "request_link", "duplicate"),
]
EDITABLE = ["tags_text", "reply_text", "export_reply"]
ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
PREVIEW = 80


def pretty(text: object) -> str:
    """JSON arguments indented when they parse, as written otherwise."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(text)


def shown_message(message: dict) -> dict:
    """What the templates need of a message (plain values, escaped there)."""
    role = str(message.get("role", ""))
    functions = [
        c.get("function") or {} for c in message.get("tool_calls") or () if isinstance(c, dict)
    ]
    calls = [
        {"name": f.get("name", ""), "arguments": pretty(f.get("arguments", ""))} for f in functions
    ]
    return {
        "role": role,
        "css": role if role in ROLES else "other",
        "name": message.get("name", ""),
        "tool_call_id": message.get("tool_call_id", ""),
        "text": content_text(message.get("content")),
        "calls": calls,
    }


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    form = ConversationForm
    action_form = TagActionForm
    list_display = [
        "created_at",
        "workflow",
        "model",
        "prompt",
        "tokens",
        "review_state",
        "rule",
        "tag_text",
        "chosen",
    ]
    list_filter = [
        ("created_at", admin.DateFieldListFilter),
        WorkflowFilter,
        "review_state",
        InputFilter.for_field("model", "model"),
        FinishReasonFilter,
        LengthFilter,
        TagFilter,
        RuleFilter,
        DuplicateFilter,
        EditedFilter,
        RelabelledFilter,
    ]
    ordering = ["-created_at"]
    show_facets = admin.ShowFacets.NEVER  # counts per filter value would scan millions of rows
    show_full_result_count = False
    paginator = CappedPaginator
    list_per_page = 50
    actions = [
        "approve",
        "reject",
        "clear_review",
        "add_tags",
        "remove_tags",
        "run_rules",
        "find_duplicates",
        "download",
    ]
    readonly_fields = ["transcript", "replies", "rule", "reviewed", *CAPTURED]
    fieldsets = [
        (None, {"fields": ["transcript"]}),
        ("Replies", {"fields": ["replies"]}),
        ("Review", {"fields": ["review_state", "rule", "reviewed", *EDITABLE]}),
        ("Captured", {"fields": CAPTURED}),
    ]

    class Media:
        css = {"all": ["recording/curation.css"]}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj, form, change) -> None:
        if "review_state" in form.changed_data:
            reviewed = obj.review_state != ReviewState.NEW
            obj.reviewed_by = request.user.get_username() if reviewed else ""
            obj.reviewed_at = timezone.now() if reviewed else None
            obj.rule = obj.rule if reviewed else ""
        super().save_model(request, obj, form, change)

    # --- columns and read-only fields ------------------------------------------------
    @admin.display(description="prompt")
    def prompt(self, obj: Conversation) -> str:
        users = [m for m in obj.messages[:-1] if isinstance(m, dict) and m.get("role") == "user"]
        text = " ".join(content_text(users[-1].get("content")).split()) if users else ""
        return text[:PREVIEW] + ("…" if len(text) > PREVIEW else "")

    @admin.display(description="tokens", ordering="completion_tokens")
    def tokens(self, obj: Conversation) -> str:
        return "-" if obj.completion_tokens is None else str(obj.completion_tokens)

    @admin.display(description="tags")
    def tag_text(self, obj: Conversation) -> str:
        return ", ".join(obj.tag_list())

    @admin.display(description="reviewed")
    def reviewed(self, obj: Conversation) -> str:
        if obj.reviewed_at is None:
            return "-"
        return f"by {obj.reviewed_by or '?'} on {obj.reviewed_at:%Y-%m-%d %H:%M}"

    @admin.display(description="transcript")
    def transcript(self, obj: Conversation) -> str:
        tools = obj.tools or []
        context = {
            "messages": [shown_message(m) for m in obj.messages[:-1] if isinstance(m, dict)],
            "tools": json.dumps(tools, indent=2, ensure_ascii=False) if tools else "",
            "tool_count": len(tools),
        }
        return render_to_string("admin/recording/conversation/transcript.html", context)

    @admin.display(description="replies")
    def replies(self, obj: Conversation) -> str:
        original = {
            **shown_message(obj.reply()),
            "title": "original",
            "meta": f"{obj.model}, {obj.completion_tokens or '?'} tokens, {obj.finish_reason}",
            "chosen": obj.chosen == Chosen.ORIGINAL,
        }
        shown = [original]
        if obj.edited_reply:
            shown.append(
                {
                    **shown_message(obj.edited_reply),
                    "title": "edited",
                    "meta": "the reviewer's version",
                    "chosen": obj.chosen == Chosen.EDITED,
                }
            )
        for alternative in obj.alternatives.all():
            meta = f"{alternative.model_used or alternative.model}, "
            meta += f"{alternative.completion_tokens or '?'} tokens, {alternative.finish_reason}"
            shown.append(
                {
                    **shown_message(alternative.message),
                    "title": f"alternative from {alternative.model}",
                    "meta": meta,
                    "chosen": obj.chosen == Chosen.ALTERNATIVE
                    and obj.chosen_alternative_id == alternative.pk,
                }
            )
        return render_to_string("admin/recording/conversation/replies.html", {"replies": shown})

    @admin.display(description="request")
    def request_link(self, obj: Conversation) -> str:
        url = reverse("admin:recording_requestlog_change", args=[obj.request_id])
        return format_html('<a href="{}">{}</a>', url, obj.request_id)

    @admin.display(description="duplicate of")
    def duplicate(self, obj: Conversation) -> str:
        if obj.duplicate_of_id is None:
            return "-"
        url = reverse("admin:recording_conversation_change", args=[obj.duplicate_of_id])
        return format_html('<a href="{}">conversation {}</a>', url, obj.duplicate_of_id)

    # --- actions ---------------------------------------------------------------------
    def _verdict(self, request: HttpRequest, queryset, state: str, done: str) -> None:
        n = set_review(queryset, state, request.user.get_username())
        self.message_user(request, f"{done} {n} conversations.")

    @admin.action(description="Approve")
    def approve(self, request: HttpRequest, queryset) -> None:
        self._verdict(request, queryset, ReviewState.APPROVED, "Approved")

    @admin.action(description="Reject")
    def reject(self, request: HttpRequest, queryset) -> None:
        self._verdict(request, queryset, ReviewState.REJECTED, "Rejected")

    @admin.action(description="Clear the review (back to review)")
    def clear_review(self, request: HttpRequest, queryset) -> None:
        self._verdict(request, queryset, ReviewState.NEW, "Cleared the review of")

    @admin.action(description="Add the tags typed beside the action")
    def add_tags(self, request: HttpRequest, queryset) -> None:
        tags = parse_tags(request.POST.get("tags", ""))
        if not tags:
            self.message_user(request, "Type the tags to add beside the action.", messages.ERROR)
            return
        n = change_tags(queryset, add=tags)
        self.message_user(request, f"Tagged {n} conversations with {', '.join(tags)}.")

    @admin.action(description="Remove the tags typed beside the action (all when empty)")
    def remove_tags(self, request: HttpRequest, queryset) -> None:
        n = change_tags(queryset, remove=parse_tags(request.POST.get("tags", "")))
        self.message_user(request, f"Removed tags from {n} conversations.")

    @admin.action(description="Apply their workflows' curation rules")
    def run_rules(self, request: HttpRequest, queryset) -> None:
        summary = apply_rules(queryset)
        self.message_user(request, f"Rules: {summary.line()}.")

    @admin.action(description="Mark duplicates in their workflows")
    def find_duplicates(self, request: HttpRequest, queryset) -> None:
        names = sorted(set(queryset.values_list("workflow", flat=True)))
        found = [f"{name}: {mark_duplicates(name)}" for name in names]
        self.message_user(request, f"Duplicates now marked: {'; '.join(found)}.")

    @admin.action(description="Download them as ChatML JSONL (as captured)")
    def download(self, request: HttpRequest, queryset) -> StreamingHttpResponse:
        response = StreamingHttpResponse(iter_jsonl(queryset), content_type="application/x-ndjson")
        response["Content-Disposition"] = 'attachment; filename="conversations.jsonl"'
        return response
