from django.apps import AppConfig


class RecordingConfig(AppConfig):
    name = "recording"
    verbose_name = "Recording"

    def ready(self) -> None:
        from recording.maintenance import prune_periodically
        from recording.tracing.runtime import close_tracing, run_tracing
        from recording.writer import writer
        from routing.core import hooks, lifecycle

        # The request path announces; recording listens (routing never calls up here).
        hooks.on_started(writer.request_started)
        hooks.on_finished(writer.request_finished)
        lifecycle.on_start(writer.run)
        lifecycle.on_start(prune_periodically)
        lifecycle.on_shutdown(writer.close)
        lifecycle.on_start(run_tracing)  # only where an OTLP endpoint is set
        lifecycle.on_shutdown(close_tracing)
