"""Admin pages for the routing configuration (saving one reaches every worker within seconds),
the response cache and the stored Responses."""

from __future__ import annotations

import ipaddress
import json
import time

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from routing.config.current import build_rules
from routing.models import (
    CachedResponse,
    GatewayKey,
    ModelMapping,
    Route,
    RouteTarget,
    StoredResponse,
    Upstream,
    validate_workflow_name,
)
from routing.rules.explain import explain
from routing.upstreams.health import health


class ExplainForm(forms.Form):
    model = forms.CharField(max_length=300, help_text="The model name a client would send.")
    client = forms.CharField(label="client address", initial="127.0.0.1", max_length=64)
    workflow = forms.CharField(
        required=False,
        max_length=64,
        validators=[validate_workflow_name],
        help_text="Optional: the workflow_id the client would send.",
    )

    def clean_client(self) -> str:
        try:
            return str(ipaddress.ip_address(self.cleaned_data["client"].strip()))
        except ValueError:
            raise forms.ValidationError("Enter an IP address.") from None


class UpstreamForm(forms.ModelForm):
    api_key = forms.CharField(
        label="API key",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Leave empty to keep the current key. Stored server-side, never shown.",
    )
    clear_api_key = forms.BooleanField(required=False, label="Remove the stored key")

    class Meta:
        model = Upstream
        fields = ["name", "base_url", "api", "api_key", "timeout", "max_concurrency", "enabled"]

    def clean_api_key(self) -> str:
        key = self.cleaned_data.get("api_key", "")
        if self.cleaned_data.get("clear_api_key"):
            return ""
        return key or (self.instance.api_key if self.instance.pk else "")


@admin.register(Upstream)
class UpstreamAdmin(admin.ModelAdmin):
    form = UpstreamForm
    list_display = [
        "name",
        "base_url",
        "has_key",
        "timeout",
        "max_concurrency",
        "api",
        "health",
        "enabled",
        "source",
    ]
    list_filter = ["enabled", "source"]
    search_fields = ["name", "base_url"]

    @admin.display(boolean=True, description="key")
    def has_key(self, obj: Upstream) -> bool:
        return bool(obj.api_key)

    @admin.display(description="health (this process)")
    def health(self, obj: Upstream) -> str:
        state = health.state(obj.name)
        status = state.status(time.time())
        return f"{status}: {state.last_error}" if state.last_error and status != "ok" else status


class RouteTargetInline(admin.TabularInline):
    model = RouteTarget
    extra = 0
    fields = ["position", "upstream", "model", "weight"]


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    inlines = [RouteTargetInline]
    change_list_template = "admin/routing/route/change_list.html"
    list_display = [
        "position",
        "name",
        "match_model",
        "match_source",
        "upstream",
        "rewrite_model",
        "enabled",
        "source",
    ]
    list_display_links = ["name"]
    list_editable = ["position", "enabled"]
    list_filter = ["enabled", "source", "upstream"]
    search_fields = ["name", "match_model", "rewrite_model"]
    readonly_fields = ["source"]

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.explain_view)
        return [path("explain/", view, name="routing_route_explain"), *super().get_urls()]

    def explain_view(self, request: HttpRequest) -> TemplateResponse:
        """Try a request: which rule matches and why, without sending anything."""
        form = ExplainForm(request.GET or None)
        result = None
        if form.is_valid():
            data = form.cleaned_data
            result = explain(build_rules(), data["model"], data["client"])
        context = {
            **self.admin_site.each_context(request),
            "title": "Try a request",
            "form": form,
            "result": result,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/routing/explain.html", context)


@admin.register(ModelMapping)
class ModelMappingAdmin(admin.ModelAdmin):
    list_display = ["position", "pattern", "replacement", "enabled", "source"]
    list_display_links = ["pattern"]
    list_editable = ["position", "enabled"]
    list_filter = ["enabled", "source"]
    search_fields = ["pattern", "replacement"]
    readonly_fields = ["source"]


@admin.register(GatewayKey)
class GatewayKeyAdmin(admin.ModelAdmin):
    """Keys are generated here and shown once; the database keeps only their hash."""

    list_display = ["name", "key_start", "enabled", "rate_limit", "expires_at", "created_at"]
    list_filter = ["enabled"]
    search_fields = ["name"]
    fields = [
        "name",
        "key_start",
        "allowed_models",
        "rate_limit",
        "enabled",
        "expires_at",
        "created_at",
    ]
    readonly_fields = ["key_start", "created_at"]
    actions = ["issue_new_secret"]

    def save_model(self, request, obj: GatewayKey, form, change: bool) -> None:
        secret = None if change else obj.issue()
        super().save_model(request, obj, form, change)
        if secret:
            self._show_once(request, obj, secret)

    def _show_once(self, request, obj: GatewayKey, secret: str) -> None:
        self.message_user(
            request,
            f"The key of {obj.name!r} is {secret} . Copy it now: it is "
            "not stored and will not be shown again.",
            messages.WARNING,
        )

    @admin.action(description="Issue a new secret (the old one stops working)")
    def issue_new_secret(self, request, queryset) -> None:
        for obj in queryset:
            secret = obj.issue()
            obj.save(update_fields=["key_hash", "key_start"])
            self._show_once(request, obj, secret)


@admin.register(CachedResponse)
class CachedResponseAdmin(admin.ModelAdmin):
    list_display = ["created_at", "path", "model", "status", "hits", "expires_at", "fresh"]
    list_filter = ["path", ("created_at", admin.DateFieldListFilter)]
    exclude = ["body", "key"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    change_list_template = "admin/routing/cachedresponse/change_list.html"

    @admin.display(boolean=True)
    def fresh(self, obj: CachedResponse) -> bool:
        return obj.expires_at > timezone.now()

    def get_urls(self) -> list:
        purge = self.admin_site.admin_view(self.purge_view)
        return [path("purge/", purge, name="routing_cachedresponse_purge"), *super().get_urls()]

    def purge_view(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and self.has_delete_permission(request):
            rows = CachedResponse.objects.all()
            if request.POST.get("what") != "all":
                rows = rows.filter(expires_at__lte=timezone.now())
            deleted, _ = rows.delete()
            self.message_user(request, f"Purged {deleted} cached responses.")
        return redirect("admin:routing_cachedresponse_changelist")


@admin.register(StoredResponse)
class StoredResponseAdmin(admin.ModelAdmin):
    """Responses kept for the Responses API (store); pruned with the logs (MAX_LOG_AGE_DAYS)."""

    list_display = ["id", "created_at", "model", "status", "caller", "upstream", "request"]
    list_filter = ["status", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["id", "previous_response_id", "model", "gateway_key"]
    fields = [
        "id",
        "created_at",
        "model",
        "status",
        "caller",
        "previous_response_id",
        "upstream",
        "request",
        "output",
        "conversation",
    ]
    readonly_fields = fields
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="caller")
    def caller(self, obj: StoredResponse) -> str:
        kind, _, who = obj.owner.partition(":")
        names = {"key": f"gateway key {who}", "auth": "an Authorization token", "ip": who}
        return names.get(kind, "")

    @admin.display(description="request")
    def request(self, obj: StoredResponse) -> str:
        if obj.request_id is None:
            return ""
        url = reverse("request", args=[obj.request_id])
        return format_html('<a href="{}">{}</a>', url, obj.request_id)

    @admin.display(description="response")
    def output(self, obj: StoredResponse) -> str:
        return _pretty(obj.unpack("response"))

    @admin.display(description="items before the output")
    def conversation(self, obj: StoredResponse) -> str:
        return _pretty(obj.unpack("context"))


def _pretty(value: object) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False) if value is not None else "kept upstream"
    return format_html('<pre style="white-space: pre-wrap">{}</pre>', text)
