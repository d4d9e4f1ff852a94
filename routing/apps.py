from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "Routing"

    def ready(self) -> None:
        from django.conf import settings

        from routing.apis.responses.store import store as responses_store
        from routing.config import current
        from routing.core import hooks, lifecycle
        from routing.core.shared_redis import close_redis
        from routing.guard import cache
        from routing.guard.cache_store import store
        from routing.pipeline import console
        from routing.streams import tokens
        from routing.upstreams import client, health

        tokens.use_cache_dir(settings.TIKTOKEN_CACHE_DIR)
        hooks.on_started(console.print_started)
        hooks.on_finished(console.print_finished)
        hooks.on_finished(cache.remember)
        lifecycle.on_start(current.watch_config_version)
        lifecycle.on_start(health.follow_shared_health)
        lifecycle.on_start(health.check_actively)
        lifecycle.on_start(store.run)
        lifecycle.on_shutdown(store.close)
        lifecycle.on_start(responses_store.run)
        lifecycle.on_shutdown(responses_store.close)
        lifecycle.on_shutdown(client.close_clients)
        lifecycle.on_shutdown(close_redis)
