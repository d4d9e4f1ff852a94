"""Regex patterns now match as the routers this gateway replaces match them (routes and keys:
anywhere in the name; the model map: from the start). Patterns saved before matched the whole
name: each is anchored, /p/ becoming /^(?:p)$/, so that no existing routing changes."""

import routing.models.configuration
from django.db import migrations, models


def anchored(pattern: str) -> str:
    text = pattern.strip()
    if len(text) < 3 or not (text.startswith("/") and text.endswith("/")):
        return pattern  # an exact name (or nothing): unchanged
    return f"/^(?:{text[1:-1]})$/"


def unanchored(pattern: str) -> str:
    text = pattern.strip()
    if text.startswith("/^(?:") and text.endswith(")$/"):
        return "/" + text[5:-3] + "/"
    return pattern


def rewrite_patterns(apps, change) -> None:
    for name, field in (("Route", "match_model"), ("ModelMapping", "pattern")):
        model = apps.get_model("routing", name)
        for row in model.objects.exclude(**{field: ""}).only("pk", field):
            new = change(getattr(row, field))
            if new != getattr(row, field):
                model.objects.filter(pk=row.pk).update(**{field: new})
    keys = apps.get_model("routing", "GatewayKey")
    for row in keys.objects.exclude(allowed_models="").only("pk", "allowed_models"):
        lines = row.allowed_models.splitlines()
        new = "\n".join(change(line) if line.strip() else line for line in lines)
        if new != row.allowed_models:
            keys.objects.filter(pk=row.pk).update(allowed_models=new)


def anchor_patterns(apps, schema_editor) -> None:
    rewrite_patterns(apps, anchored)


def unanchor_patterns(apps, schema_editor) -> None:
    rewrite_patterns(apps, unanchored)


class Migration(migrations.Migration):

    dependencies = [
        ('routing', '0009_gateway_key_manage_models'),
    ]

    operations = [
        migrations.AlterField(
            model_name='gatewaykey',
            name='allowed_models',
            field=models.TextField(blank=True, help_text='One exact name or /regex/ (found anywhere in the name) per line; empty allows every model.', validators=[routing.models.configuration.validate_model_patterns]),
        ),
        migrations.AlterField(
            model_name='modelmapping',
            name='pattern',
            field=models.CharField(help_text='Exact name, or /regex/ matched from the start of the name.', max_length=300, validators=[routing.models.configuration.validate_model_pattern]),
        ),
        migrations.AlterField(
            model_name='modelmapping',
            name='replacement',
            field=models.CharField(help_text='The whole new model name; \\1 refers to a regex group.', max_length=300),
        ),
        migrations.AlterField(
            model_name='route',
            name='match_model',
            field=models.CharField(blank=True, help_text='Exact name, or /regex/ found anywhere in the name (^ and $ anchor it).', max_length=300, validators=[routing.models.configuration.validate_model_pattern], verbose_name='model'),
        ),
        migrations.RunPython(anchor_patterns, unanchor_patterns),
    ]
