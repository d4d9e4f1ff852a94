"""Fast batched INSERT and UPDATE statements for the recording writer.

The ORM's bulk_create compiles every value through the query compiler: about
0.4 ms per log row, more than the proxying itself. Here each table's columns
and value adapters are worked out once from the model. Statements are prepared
(Python work, on the event loop) apart from their execution (on the database
thread, where the driver runs without the GIL).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.db import connection, models

ROWS_PER_INSERT = 100  # one multi-row INSERT each: the driver lets go of the GIL once


@dataclass(frozen=True)
class Statement:
    """`sql` run once per item of `params` (executemany), or once with `params` as is."""

    sql: str
    params: list
    many: bool = True

    def execute(self) -> None:
        if not self.params:
            return
        with connection.cursor() as cursor:
            if self.many:
                cursor.executemany(self.sql, self.params)
            else:
                cursor.execute(self.sql, self.params)


def _adapter(field: models.Field) -> Callable[[object], object] | None:
    """How a value of `field` must change to be a query parameter; None: it need not."""
    ops = connection.ops
    if isinstance(field, models.ForeignKey):
        return _adapter(field.target_field)
    if isinstance(field, models.UUIDField):
        if connection.features.has_native_uuid_field:
            return None
        return lambda v: v.hex if isinstance(v, uuid.UUID) else v
    if isinstance(field, models.DateTimeField):
        return lambda v: ops.adapt_datetimefield_value(v) if isinstance(v, datetime) else v
    if isinstance(field, models.JSONField):
        return lambda v: None if v is None else ops.adapt_json_value(v, field.encoder)
    return None


@cache
def _columns(model: type[models.Model], vendor: str) -> list[tuple[str, str, Callable | None]]:
    """(attribute, column, adapter) for each concrete field but an auto-increment key (the
    database numbers those), worked out once per model."""
    return [
        (f.attname, f.column, _adapter(f))
        for f in model._meta.concrete_fields
        if not isinstance(f, models.AutoField)
    ]


def values(model: type[models.Model], rows: Iterable[dict]) -> list[list]:
    """Each row as query parameters in column order (the Python part of an INSERT)."""
    columns = _columns(model, connection.vendor)
    defaults = {f.attname: f.get_default() for f in model._meta.concrete_fields}
    names = [attname for attname, _, _ in columns]
    adapted = [(i, adapt) for i, (_, _, adapt) in enumerate(columns) if adapt is not None]
    out = []
    for row in rows:
        params = [row[name] if name in row else defaults[name] for name in names]
        for i, adapt in adapted:
            params[i] = adapt(params[i])
        out.append(params)
    return out


def insert(model: type[models.Model], rows: list[list]) -> list[Statement]:
    """Multi-row INSERTs of rows made by `values`.

    executemany would step (and hand the GIL back and forth) once per row, which
    starves a thread that shares the process with a busy event loop.
    """
    columns = _columns(model, connection.vendor)
    quote = connection.ops.quote_name
    head = (
        f"INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(column) for _, column, _ in columns)}) VALUES "
    )
    one = f"({', '.join(['%s'] * len(columns))})"
    statements = []
    for start in range(0, len(rows), ROWS_PER_INSERT):
        chunk = rows[start : start + ROWS_PER_INSERT]
        params = [value for row in chunk for value in row]
        statements.append(Statement(head + ", ".join([one] * len(chunk)), params, many=False))
    return statements


def update(model: type[models.Model], rows: list[tuple[object, dict]]) -> list[Statement]:
    """UPDATE the given attributes of rows by primary key; rows must share their keys."""
    if not rows:
        return []
    same = lambda v: v  # noqa: E731
    adapters = {name: adapt or same for name, _, adapt in _columns(model, connection.vendor)}
    columns = {f.attname: f.column for f in model._meta.concrete_fields}
    quote = connection.ops.quote_name
    keys = list(rows[0][1])
    pk = model._meta.pk
    sql = (
        f"UPDATE {quote(model._meta.db_table)} SET "
        f"{', '.join(f'{quote(columns[k])} = %s' for k in keys)} "
        f"WHERE {quote(pk.column)} = %s"
    )
    params = [
        (*(adapters[k](fields[k]) for k in keys), adapters[pk.attname](key)) for key, fields in rows
    ]
    return [Statement(sql, params)]


def upsert(
    model: type[models.Model], rows: list[dict], conflict: list[str], update: list[str]
) -> list[Statement]:
    """INSERT rows, or UPDATE `update` columns of the row that has the same `conflict` key."""
    if not rows:
        return []
    columns = _columns(model, connection.vendor)
    quote = connection.ops.quote_name
    sets = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in update)
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(column) for _, column, _ in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({', '.join(quote(c) for c in conflict)}) DO UPDATE SET {sets}"
    )
    return [Statement(sql, values(model, rows))]
