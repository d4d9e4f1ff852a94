"""Admin list helpers that stay fast on millions of rows: no full counts, no DISTINCT scans."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import BadRequest
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Q
from django.utils.functional import cached_property

COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    """Counts at most COUNT_CAP rows: page links reach far enough, the query stays cheap."""

    @cached_property
    def count(self) -> int:
        return len(self.object_list.values_list("pk", flat=True)[:COUNT_CAP])


class InputFilter(admin.SimpleListFilter):
    """A free-text filter on one column (exact match), without listing its values."""

    template = "admin/input_filter.html"
    field = ""

    @classmethod
    def for_field(cls, field: str, title: str) -> type[InputFilter]:
        return type(
            f"{field.title()}InputFilter",
            (cls,),
            {"field": field, "title": title, "parameter_name": field},
        )

    def lookups(self, request, model_admin) -> list:
        return [("", "")]  # the admin shows a filter only if it has lookups

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(**{self.field: value}) if value else queryset

    def choices(self, changelist):
        query = changelist.get_filters_params()
        query.pop(self.parameter_name, None)
        yield {
            "value": self.value() or "",
            "parameter_name": self.parameter_name,
            "others": [(k, v) for k, values in query.items() for v in values],
        }


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"
    STATUSES = (200, 400, 401, 403, 404, 413, 429, 499, 500, 502, 503, 504)

    def lookups(self, request, model_admin) -> list:
        return [(str(s), str(s)) for s in self.STATUSES]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit() or len(value) > 3:
            raise BadRequest("The status filter takes an HTTP status such as 404.")
        return queryset.filter(status=int(value))


class TagFilter(InputFilter):
    """Conversations carrying one tag (tags are stored as ",a,b,")."""

    title = "tag"
    parameter_name = "tag"

    def queryset(self, request, queryset):
        value = " ".join((self.value() or "").split()).lower()
        return queryset.filter(tags__contains=f",{value},") if value else queryset


class WorkflowFilter(admin.SimpleListFilter):
    """Workflows from their table (plus `default`), not from a DISTINCT scan of the rows."""

    title = "workflow"
    parameter_name = "workflow"

    def lookups(self, request, model_admin) -> list:
        from routing.models import Workflow

        names = set(Workflow.objects.values_list("name", flat=True)) | {"default"}
        return [(n, n) for n in sorted(names)]

    def queryset(self, request, queryset):
        return queryset.filter(workflow=self.value()) if self.value() else queryset


class FinishReasonFilter(admin.SimpleListFilter):
    title = "finish reason"
    parameter_name = "finish"
    REASONS = ("stop", "tool_calls", "length", "end_turn", "function_call")

    def lookups(self, request, model_admin) -> list:
        return [(r, r) for r in self.REASONS] + [("-", "none")]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(finish_reason="" if value == "-" else value)


class LengthFilter(admin.SimpleListFilter):
    """Reply length in completion tokens."""

    title = "reply length (tokens)"
    parameter_name = "length"
    BUCKETS = {"short": (0, 64), "medium": (64, 512), "long": (512, 2048), "huge": (2048, None)}

    def lookups(self, request, model_admin) -> list:
        return [
            (k, f"{low}-{high - 1}" if high else f"{low}+")
            for k, (low, high) in self.BUCKETS.items()
        ]

    def queryset(self, request, queryset):
        if self.value() not in self.BUCKETS:
            return queryset
        low, high = self.BUCKETS[self.value()]
        queryset = queryset.filter(completion_tokens__gte=low)
        return queryset.filter(completion_tokens__lt=high) if high else queryset


class YesNoFilter(admin.SimpleListFilter):
    """A yes/no filter on one condition, `when` (a Q)."""

    when = None

    def lookups(self, request, model_admin) -> list:
        return [("yes", "yes"), ("no", "no")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(self.when)
        if self.value() == "no":
            return queryset.exclude(self.when)
        return queryset


class RuleFilter(YesNoFilter):
    title = "a rule fired"
    parameter_name = "rule"
    when = ~Q(rule="")


class DuplicateFilter(YesNoFilter):
    title = "duplicate"
    parameter_name = "duplicate"
    when = Q(duplicate_of__isnull=False)


class EditedFilter(YesNoFilter):
    title = "edited"
    parameter_name = "edited"
    when = Q(edited_reply__isnull=False)


class RelabelledFilter(YesNoFilter):
    title = "relabelled"
    parameter_name = "relabelled"

    @property
    def when(self) -> Exists:  # EXISTS: one row per conversation, however many answers
        from recording.models import Alternative

        return Exists(Alternative.objects.filter(conversation=OuterRef("pk")))
