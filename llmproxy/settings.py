"""All configuration, read from the environment in one place (defaults run a fresh clone)."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from llmproxy.env import (
    database_from_url,
    default_hosts,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_json_object,
    env_list,
    env_networks,
    env_path,
    env_str,
    env_url,
    sqlite_database,
    stored_secret_key,
)
from llmproxy.logging_config import logging_config
from llmproxy.private import keep_new_files_private
from llmproxy.tracing_env import read_tracing_config

keep_new_files_private()  # database, journal, metrics, exports: the owner's alone

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", default=str(BASE_DIR / "data")))


SECRET_KEY = env_str("SECRET_KEY") or stored_secret_key(DATA_DIR)
# Earlier keys: still open sessions and stored upstream keys (see rotate_upstream_keys).
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])
DEBUG = env_bool("DEBUG", False)

# --- the gateway -----------------------------------------------------------
LISTEN_HOST = env_str("LISTEN_HOST", default="127.0.0.1")
LISTEN_PORT = env_int("LISTEN_PORT", "PORT", default=1234, minimum=1, maximum=65535)
# One URL, or several separated by commas (tried as DEFAULT_STRATEGY says).
DEFAULT_UPSTREAM = env_url(
    "DEFAULT_UPSTREAM", "UPSTREAM_URL", "OPENAI_API_BASE_URL", default="http://localhost:8000"
)
DEFAULT_STRATEGY = env_choice(
    "DEFAULT_STRATEGY",
    "fallback",
    {"fallback": "fallback", "weighted": "weighted", "least_busy": "least_busy"},
)
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OLLAMA_UPSTREAM_URL = env_url("OLLAMA_UPSTREAM_URL", default="http://localhost:11434")
OLLAMA_PORT = env_int("OLLAMA_PORT", default=0, minimum=0, maximum=65535)  # 0: none
MODEL_MAP = env_json_object("MODEL_MAP")
ROUTES_CONFIG = env_path("ROUTES_CONFIG", "routes.yaml")
DEFAULT_MODEL = env_str("DEFAULT_MODEL")
# "strip" drops <think> blocks, "reasoning" moves them to reasoning_content, "keep" leaves them.
STRIP_THINKING = env_choice(
    "STRIP_THINKING",
    "strip",
    {
        "true": "strip",
        "1": "strip",
        "yes": "strip",
        "false": "keep",
        "0": "keep",
        "no": "keep",
        "reasoning": "reasoning",
    },
)
DISABLE_THINKING = env_bool("DISABLE_THINKING", False)
STRIP_JSON_MARKDOWN = env_bool("STRIP_JSON_MARKDOWN", False)
REQUEST_TIMEOUT = env_float("REQUEST_TIMEOUT", default=60.0, minimum=0.1)
CONNECT_TIMEOUT = env_float("CONNECT_TIMEOUT", default=min(10.0, REQUEST_TIMEOUT), minimum=0.1)
UPSTREAM_TRANSPORT = env_choice(
    "UPSTREAM_TRANSPORT", "aiohttp", {"aiohttp": "aiohttp", "httpx": "httpx"}
)
UPSTREAM_MAX_CONNECTIONS = env_int("UPSTREAM_MAX_CONNECTIONS", default=200, minimum=1)
MAX_REQUEST_BYTES = env_int("MAX_REQUEST_BYTES", default=10 * 1024 * 1024, minimum=1024)
# Pass-through uploads that are not JSON (audio files in multipart forms, ...) stream upstream.
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", default=100 * 1024 * 1024, minimum=1024)
# The server's: header bytes, seconds to send them, a body's pauses, idle kept-alive
# connections, open connections per process (past it, a 503).
MAX_HEADER_BYTES = env_int("MAX_HEADER_BYTES", default=64 * 1024, minimum=4096)
HEADER_TIMEOUT = env_float("HEADER_TIMEOUT", default=10.0, minimum=0.1)
BODY_TIMEOUT = env_float("BODY_TIMEOUT", default=15.0, minimum=0.1)
KEEPALIVE_TIMEOUT = env_float("KEEPALIVE_TIMEOUT", default=5.0, minimum=0.1)
MAX_CONNECTIONS = env_int("MAX_CONNECTIONS", default=1000, minimum=1)
# Bodies of pages (the admin's forms): refused past this before Django reads them.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_PAGE_BYTES", default=2_621_440, minimum=1024)
CONFIG_POLL_SECONDS = env_float("CONFIG_POLL_SECONDS", default=1.0, minimum=0.1)
# Resilience: tries per request, when an upstream is rested, how long a request queues.
MAX_ATTEMPTS = env_int("MAX_ATTEMPTS", default=3, minimum=1, maximum=10)
COOLDOWN_FAILURES = env_int("COOLDOWN_FAILURES", default=3, minimum=1)
COOLDOWN_SECONDS = env_float("COOLDOWN_SECONDS", default=30.0, minimum=0.1)
HEALTH_CHECK_SECONDS = env_float("HEALTH_CHECK_SECONDS", default=0.0, minimum=0.0)
QUEUE_TIMEOUT = env_float("QUEUE_TIMEOUT", default=10.0, minimum=0.0)
VERBOSE = env_bool("VERBOSE", False)
# Messages API streams send a ping after this many seconds of upstream silence.
ANTHROPIC_PING_SECONDS = env_float("ANTHROPIC_PING_SECONDS", default=10.0, minimum=0.05)


# --- protection ----------------------------------------------------------------
def _rate(name: str, default: str):
    from routing.rules.rates import parse_rate

    try:
        return parse_rate(env_str(name, default=default))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None


RATE_LIMIT = _rate("RATE_LIMIT", "1000/15m")
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")
REQUIRE_GATEWAY_KEY = env_bool("REQUIRE_GATEWAY_KEY", False)
CACHE_ENABLED = env_bool("CACHE_ENABLED", False)
CACHE_TTL = env_int("CACHE_TTL", default=3600, minimum=1)
# GET /metrics: these addresses (IPs or CIDR blocks) need no token; others need
# METRICS_TOKEN as "Authorization: Bearer …" (without a token they are refused).
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_ALLOW = env_networks("METRICS_ALLOW", default=["127.0.0.1", "::1"])

# --- recording ---------------------------------------------------------------
ENABLE_LOGGING = env_bool("ENABLE_LOGGING", True)
MAX_LOG_AGE_DAYS = env_float("MAX_LOG_AGE_DAYS", default=7.0, minimum=0.0)
MAPPINGS_FILE = env_path("MAPPINGS_FILE", "mappings.json")
NODE_NAME = env_str("NODE_NAME")  # runproxy defaults it to host:port
MAX_BODY_LOG_BYTES = env_int("MAX_BODY_LOG_BYTES", default=1024 * 1024, minimum=0)
RECORD_QUEUE_SIZE = env_int("RECORD_QUEUE_SIZE", default=20_000, minimum=100)
RECORD_FLUSH_SECONDS = env_float("RECORD_FLUSH_SECONDS", default=0.2, minimum=0.01)
RECORD_JOURNAL = env_bool("RECORD_JOURNAL", True)
PRUNE_INTERVAL_SECONDS = env_float("PRUNE_INTERVAL_SECONDS", default=3600.0, minimum=1.0)
TIKTOKEN_CACHE_DIR = Path(env_str("TIKTOKEN_CACHE_DIR", default=str(DATA_DIR / "tiktoken")))
# OpenTelemetry traces: off unless an OTLP endpoint is set (see llmproxy/tracing_env.py)
TRACING = read_tracing_config()

# --- Django ----------------------------------------------------------------
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default_hosts(LISTEN_HOST))
# Pages on other origins that may call the API paths from a browser (scheme://host[:port],
# comma-separated; `*` for any). Empty: only the gateway's own pages.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", [])

# daphne's app only replaces `runserver` (it imports Twisted, ~20 MB): load it just for that.
_RUNSERVER = sys.argv[1:2] == ["runserver"]
INSTALLED_APPS = [
    *(["daphne"] if _RUNSERVER else []),
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "ninja",  # serves the API docs' scripts itself instead of from a CDN
    "routing",
    "recording",
    "analytics",
    "llmproxy",  # the project: its runproxy command serves all of the above
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "llmproxy.urls"
ASGI_APPLICATION = "llmproxy.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_database_url = env_str("DATABASE_URL")
DATABASES = {
    "default": database_from_url(_database_url)
    if _database_url
    else sqlite_database(DATA_DIR / "llmproxy.sqlite3")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One process needs neither Redis nor a cache server. With REDIS_URL, live events,
# rate-limit counts and anything else shared go through Redis, so that several workers
# and several nodes behave as one gateway.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "llmproxy",
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
WORKERS = env_int("WORKERS", default=1, minimum=1, maximum=64)
SHUTDOWN_GRACE = env_float("SHUTDOWN_GRACE", default=10.0, minimum=0.0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Served by WhiteNoise straight from the apps' and the project's static folders: no
# collectstatic step, no CDN.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

NINJA_NUM_PROXIES = 0

# --- security ----------------------------------------------------------------
# Pages load only what the gateway serves itself: no inline script, no CDN.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# SECURE=true when the gateway is reached over HTTPS (directly or behind a proxy).
SECURE = env_bool("SECURE", False)
if SECURE:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
# Failed logins per account (four times as many per address) before a lock-out this long.
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", default=5, minimum=1)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", default=900, minimum=1)
ADMIN_USERNAME = env_str("ADMIN_USERNAME")
ADMIN_PASSWORD = env_str("ADMIN_PASSWORD")

LOGGING = logging_config(VERBOSE)
