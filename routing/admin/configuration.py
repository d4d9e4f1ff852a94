"""Admin pages for the routing configuration (saving one reaches every worker within
seconds)."""

from __future__ import annotations

import ipaddress
import time

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from routing.config.current import build_rules
from routing.models import (
    GatewayKey,
    ModelMapping,
    Route,
    RouteTarget,
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

    list_display = [
        "name",
        "key_start",
        "enabled",
        "rate_limit",
        "manage_models",
        "expires_at",
        "created_at",
    ]
    list_filter = ["enabled", "manage_models"]
    search_fields = ["name"]
    fields = [
        "name",
        "key_start",
        "allowed_models",
        "rate_limit",
        "manage_models",
        "enabled",
        "expires_at",
        "created_at",
    ]
    readonly_fields = ["key_start", "created_at"]
    actions = ["issue_new_secret"]

    # A new secret is shown on the answer page itself: never in a message, which would
    # carry it in a cookie (signed, not encrypted) or the session table.
    def save_model(self, request, obj: GatewayKey, form, change: bool) -> None:
        secret = None if change else obj.issue()
        super().save_model(request, obj, form, change)
        if secret:
            request.issued_keys = [(obj, secret)]

    def response_add(self, request, obj: GatewayKey, post_url_continue=None) -> HttpResponse:
        if issued := getattr(request, "issued_keys", None):
            return self.show_once(request, issued)
        return super().response_add(request, obj, post_url_continue)

    def show_once(self, request, issued: list[tuple[GatewayKey, str]]) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": "Copy the new key now",
            "issued": issued,
            "opts": self.model._meta,
        }
        response = TemplateResponse(request, "admin/routing/gatewaykey/issued.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Issue a new secret (the old one stops working)")
    def issue_new_secret(self, request, queryset) -> HttpResponse:
        issued = []
        for obj in queryset:
            secret = obj.issue()
            obj.save(update_fields=["key_hash", "key_start"])
            issued.append((obj, secret))
        return self.show_once(request, issued)
