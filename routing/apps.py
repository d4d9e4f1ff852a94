from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "Routing"

    def ready(self) -> None:
        from llmproxy import lifecycle
        from routing import health, limits, rules, upstream

        lifecycle.on_start(rules.watch_config_version)
        lifecycle.on_start(health.follow_shared_health)
        lifecycle.on_start(health.check_actively)
        lifecycle.on_shutdown(upstream.close_clients)
        lifecycle.on_shutdown(limits.close_clients)
