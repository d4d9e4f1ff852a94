from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        from analytics.broadcast import publish_request_events
        from recording.writer import writer

        writer.on_written(publish_request_events)
