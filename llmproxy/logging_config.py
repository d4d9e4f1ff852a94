"""The gateway's logging: warnings and above on stderr, and with VERBOSE one line per request
(the logger llmproxy.traffic, which runproxy --verbose and the console switch on)."""

from __future__ import annotations


def logging_config(verbose: bool) -> dict:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
            "traffic": {"format": "%(asctime)s %(message)s", "datefmt": "%H:%M:%S"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "plain"},
            "traffic": {"class": "logging.StreamHandler", "formatter": "traffic"},
        },
        "root": {"handlers": ["console"], "level": "WARNING"},
        "loggers": {
            "llmproxy": {"level": "INFO"},
            "routing": {"level": "INFO"},
            # One line per request and response with VERBOSE=true or `runproxy --verbose`.
            "llmproxy.traffic": {
                "level": "INFO" if verbose else "WARNING",
                "handlers": ["traffic"],
                "propagate": False,
            },
        },
    }
