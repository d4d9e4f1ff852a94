from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        from analytics import metrics
        from analytics.broadcast import publish_request_events
        from recording.tracing.runtime import on_dropped
        from recording.writer import writer
        from routing.core import lifecycle

        writer.on_written(publish_request_events)
        writer.on_written(metrics.count_written_requests)
        on_dropped(metrics.count_dropped_spans)
        lifecycle.on_start(metrics.follow_in_flight)
