"""Typed readers for environment variables.

Each reader raises ImproperlyConfigured with a message that names the variable,
so a bad value stops start-up with one clear line.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


def env_str(*names: str, default: str = "") -> str:
    """The first of `names` that is set, else `default`."""
    for name in names:
        value = os.environ.get(name)
        if value is not None:
            return value.strip()
    return default


def stored_secret_key(data_dir: Path) -> str:
    """The SECRET_KEY generated once and kept in DATA_DIR (when none is set)."""
    path = data_dir / "secret_key"
    if path.is_file():
        return path.read_text().strip()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    path.chmod(0o600)
    return key


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.strip().lower() in TRUE:
        return True
    if value.strip().lower() in FALSE:
        return False
    raise ImproperlyConfigured(f"{name}: expected true or false, got {value!r}")


def env_choice(name: str, default: str, choices: dict[str, str]) -> str:
    """Map a value through `choices` (keys lower-case), e.g. true/false/reasoning."""
    value = os.environ.get(name)
    if value is None:
        return default
    key = value.strip().lower()
    if key not in choices:
        allowed = ", ".join(sorted(choices))
        raise ImproperlyConfigured(f"{name}: expected one of {allowed}, got {value!r}")
    return choices[key]


def env_float(*names: str, default: float, minimum: float = 0.0) -> float:
    raw = env_str(*names)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{names[0]}: expected a number, got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{names[0]}: must be at least {minimum}, got {raw!r}")
    return value


def env_int(*names: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    raw = env_str(*names)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{names[0]}: expected an integer, got {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ImproperlyConfigured(f"{names[0]}: must be {bound}, got {raw!r}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def default_hosts(listen_host: str) -> list[str]:
    """ALLOWED_HOSTS when it is not set: loopback names and the address listened on, any
    port; every name when listening on all interfaces."""
    if listen_host in ("0.0.0.0", "::", ""):
        return ["*"]
    bare_ipv6 = ":" in listen_host and not listen_host.startswith("[")
    host = f"[{listen_host}]" if bare_ipv6 else listen_host
    return list(dict.fromkeys(["localhost", "127.0.0.1", "[::1]", host]))


def env_json_object(name: str) -> dict[str, str]:
    """A JSON object of string to string, such as MODEL_MAP."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(
            f"{name}: not valid JSON ({exc.msg} at position {exc.pos})"
        ) from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ImproperlyConfigured(f"{name}: expected a JSON object of strings to strings")
    return value


def env_url(*names: str, default: str) -> str:
    """An http(s) URL, or several separated by commas (each checked)."""
    raw = env_str(*names, default=default)
    urls = [url.strip().rstrip("/") for url in raw.split(",") if url.strip()]
    for url in urls or [raw]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ImproperlyConfigured(f"{names[0]}: expected an http(s) URL, got {url!r}")
    return ",".join(urls)


def env_path(name: str, default: str) -> Path | None:
    """An optional file: the default is used only if it exists; a named file must exist."""
    raw = os.environ.get(name)
    if raw is None:
        path = Path(default)
        return path if path.is_file() else None
    if not raw.strip():
        return None
    path = Path(raw.strip())
    if not path.is_file():
        raise ImproperlyConfigured(f"{name}: file {raw!r} does not exist or is not readable")
    return path


def database_from_url(url: str, name: str = "DATABASE_URL") -> dict:
    """Django DATABASES entry for sqlite:///path or postgres://user:pass@host:port/db."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(url.split("://", 1)[1])
        path = path[1:] if path.startswith("/") else path  # sqlite:////abs keeps one slash
        return sqlite_database(Path(path or "data/llmproxy.sqlite3"))
    if parts.scheme in ("postgres", "postgresql", "pgsql"):
        # psycopg 3 with Django's connection pool: threads that run ORM code for async
        # views borrow a connection and give it back, instead of opening one each.
        options: dict = {
            "pool": {"min_size": 2, "max_size": 20, "timeout": 10},
            **dict(parse_qsl(parts.query)),
        }
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "OPTIONS": options,
            "CONN_MAX_AGE": 0,
        }
    raise ImproperlyConfigured(f"{name}: expected sqlite:///path or postgres://…, got {url!r}")


def sqlite_database(path: Path) -> dict:
    """SQLite tuned for concurrent writers: WAL, immediate transactions, a busy timeout."""
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            # auto_vacuum only takes on a new file: it lets pruning give space back.
            "init_command": (
                "PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL; "
                "PRAGMA synchronous=NORMAL;"
            ),
        },
    }


def env_networks(name: str, default: list[str] | None = None) -> tuple:
    """A comma-separated list of IP addresses or CIDR blocks."""
    import ipaddress

    networks = []
    for item in env_list(name, default or []):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is not an IP address or CIDR block"
            ) from None
    return tuple(networks)
