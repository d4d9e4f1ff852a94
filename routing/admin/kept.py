"""Admin pages for what the request path keeps: the response cache and the stored Responses."""

from __future__ import annotations

import json

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from routing.models import CachedResponse, StoredResponse


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
    return format_html("<pre>{}</pre>", text)
