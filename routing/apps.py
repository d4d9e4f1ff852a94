from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "Routing"

    def ready(self) -> None:
        from llmproxy import lifecycle
        from routing import limits, rules, upstream

        lifecycle.on_start(rules.watch_config_version)
        lifecycle.on_shutdown(upstream.close_clients)
        lifecycle.on_shutdown(limits.close_clients)
