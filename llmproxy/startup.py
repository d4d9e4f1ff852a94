"""What a gateway process does before it serves: migrate, load configuration, repair logs."""

from __future__ import annotations

import os
import socket

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from llmproxy.private import close_data_dir
from llmproxy.serving import Listener
from recording.journal import replay as replay_journal
from recording.maintenance import mark_interrupted
from routing.config.loader import load_startup_config
from routing.config.workflows import apply_mappings, read_mappings, workflow_ports
from routing.rules.routes_file import ConfigFileError


def migrate_if_needed() -> bool:
    executor = MigrationExecutor(connection)
    if not executor.migration_plan(executor.loader.graph.leaf_nodes()):
        return False
    call_command("migrate", interactive=False, verbosity=0)
    return True


def node_name(port: int) -> str:
    """This node's name in the log: NODE_NAME, else host:port (unique per gateway)."""
    name = settings.NODE_NAME or f"{socket.gethostname()}:{port}"
    os.environ["NODE_NAME"] = settings.NODE_NAME = name
    return name


def listeners(host: str, port: int) -> list[Listener]:
    found = [Listener(host, port)]
    ollama = settings.OLLAMA_PORT
    if ollama:
        if ollama == port:
            raise ConfigFileError([f"OLLAMA_PORT {ollama} is also the gateway's own port"])
        found.append(Listener(host, ollama, "Ollama API"))
    for workflow_port, name in sorted(workflow_ports().items()):
        if workflow_port in (port, ollama):
            raise ConfigFileError(
                [
                    f"workflow {name!r} has port {workflow_port}, which the "
                    "gateway already listens on"
                ]
            )
        found.append(Listener(host, workflow_port, f"workflow {name}"))
    return found


def check_admin_password() -> None:
    """A weak ADMIN_PASSWORD stops start-up, judged by Django's password validators."""
    if not settings.ADMIN_PASSWORD:
        return
    user = get_user_model()(username=settings.ADMIN_USERNAME)
    try:
        validate_password(settings.ADMIN_PASSWORD, user)
    except ValidationError as exc:
        raise ImproperlyConfigured("ADMIN_PASSWORD: " + " ".join(exc.messages)) from None


def ensure_admin() -> str | None:
    """Create the admin from ADMIN_USERNAME/ADMIN_PASSWORD, or say how to make one."""
    users = get_user_model().objects
    if settings.ADMIN_USERNAME and settings.ADMIN_PASSWORD:
        if users.filter(username=settings.ADMIN_USERNAME).exists():
            return None
        users.create_superuser(settings.ADMIN_USERNAME, "", settings.ADMIN_PASSWORD)
        return f"Created the admin user {settings.ADMIN_USERNAME!r} (ADMIN_USERNAME)."
    if users.filter(is_staff=True, is_active=True).exists():
        return None
    return (
        "No admin user yet: run `python manage.py createsuperuser` (or set ADMIN_USERNAME "
        "and ADMIN_PASSWORD) to open the dashboard and the admin."
    )


def prepare(host: str, port: int) -> tuple[list[Listener], list[str]]:
    """Everything before serving; returns the listeners and lines for the banner."""
    lines = []
    if closed := close_data_dir(settings.DATA_DIR):
        lines.append(f"Closed {closed} entries of DATA_DIR to other users (0700/0600).")
    if migrate_if_needed():
        lines.append("Applied database migrations.")
    lines += load_startup_config()
    if settings.MAPPINGS_FILE:
        mapping = read_mappings(settings.MAPPINGS_FILE)
        apply_mappings(mapping)
        lines.append(f"MAPPINGS_FILE {settings.MAPPINGS_FILE}: {len(mapping)} workflows")
    if admin := ensure_admin():
        lines.append(admin)
    node = node_name(port)
    if recovered := replay_journal(node):
        lines.append(f"Recovered {recovered} finished requests from the journal.")
    if interrupted := mark_interrupted(node):
        lines.append(f"Marked {interrupted} requests left in progress by {node} as interrupted.")
    found = listeners(host, port)
    connection.close()
    return found, lines
