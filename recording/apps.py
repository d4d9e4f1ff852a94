from django.apps import AppConfig


class RecordingConfig(AppConfig):
    name = "recording"
    verbose_name = "Recording"

    def ready(self) -> None:
        from llmproxy import lifecycle
        from recording.maintenance import prune_periodically
        from recording.writer import writer

        lifecycle.on_start(writer.run)
        lifecycle.on_start(prune_periodically)
        lifecycle.on_shutdown(writer.close)
