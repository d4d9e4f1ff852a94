from django.apps import AppConfig


class RecordingConfig(AppConfig):
    name = "recording"
    verbose_name = "Recording"

    def ready(self) -> None:
        import asyncio

        from llmproxy import lifecycle
        from recording.maintenance import prune_periodically
        from recording.writer import writer

        async def flush_writer() -> None:
            await asyncio.to_thread(writer.close, 10.0)

        lifecycle.on_start(prune_periodically)
        lifecycle.on_shutdown(flush_writer)
