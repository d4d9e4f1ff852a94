"""Workflows from MAPPINGS_FILE ({"workflow_name": port}), loaded at start like the routes file."""

from __future__ import annotations

import json
from pathlib import Path

from django.db import transaction

from routing.models import WORKFLOW_NAME, Workflow
from routing.rules.routes_file import ConfigFileError

FILE = "file"


def read_mappings(path: Path) -> dict[str, int]:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigFileError([f"{path}: cannot be read: {exc.strerror}"]) from None
    except json.JSONDecodeError as exc:
        raise ConfigFileError(
            [f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})"]
        ) from None
    if not isinstance(data, dict):
        raise ConfigFileError([f"{path}: expected an object of workflow name to port"])
    problems = []
    ports: dict[int, str] = {}
    for name, port in data.items():
        if not WORKFLOW_NAME.fullmatch(name):
            problems.append(f"{path}[{name!r}]: a workflow name is 1 to 64 letters, digits, - or _")
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            problems.append(f"{path}[{name!r}]: the port must be a number from 1 to 65535")
        elif port in ports:
            problems.append(f"{path}[{name!r}]: port {port} is also given to {ports[port]!r}")
        else:
            ports[port] = name
    if problems:
        raise ConfigFileError(problems)
    return data


@transaction.atomic
def apply_mappings(mapping: dict[str, int]) -> bool:
    """Make the file's workflows match `mapping`; admin-made workflows are left alone."""
    current = {w.name: w.port for w in Workflow.objects.filter(source=FILE)}
    if current == mapping:
        return False
    taken = Workflow.objects.filter(port__in=mapping.values()).exclude(source=FILE)
    problems = [
        f"port {w.port} of {name!r} is already the port of workflow {w.name!r}"
        for w in taken
        for name, port in mapping.items()
        if port == w.port
    ]
    if problems:
        raise ConfigFileError(problems)
    Workflow.objects.filter(source=FILE).exclude(name__in=mapping).delete()
    Workflow.objects.filter(source=FILE).update(port=None)  # free them for reassignment
    for name, port in mapping.items():
        Workflow.objects.update_or_create(name=name, defaults={"port": port, "source": FILE})
    return True


def workflow_ports() -> dict[int, str]:
    return dict(Workflow.objects.filter(port__isnull=False).values_list("port", "name"))
