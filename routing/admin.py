"""Admin pages for the routing configuration (saving one reaches every worker within seconds)."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from routing.models import ModelMapping, Route, Upstream


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
        fields = ["name", "base_url", "api_key", "timeout", "enabled"]

    def clean_api_key(self) -> str:
        key = self.cleaned_data.get("api_key", "")
        if self.cleaned_data.get("clear_api_key"):
            return ""
        return key or (self.instance.api_key if self.instance.pk else "")


@admin.register(Upstream)
class UpstreamAdmin(admin.ModelAdmin):
    form = UpstreamForm
    list_display = ["name", "base_url", "has_key", "timeout", "enabled", "source"]
    list_filter = ["enabled", "source"]
    search_fields = ["name", "base_url"]

    @admin.display(boolean=True, description="key")
    def has_key(self, obj: Upstream) -> bool:
        return bool(obj.api_key)


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
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


@admin.register(ModelMapping)
class ModelMappingAdmin(admin.ModelAdmin):
    list_display = ["position", "pattern", "replacement", "enabled", "source"]
    list_display_links = ["pattern"]
    list_editable = ["position", "enabled"]
    list_filter = ["enabled", "source"]
    search_fields = ["pattern", "replacement"]
