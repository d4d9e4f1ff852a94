"""Workflows and the response cache move here from the recording app (the request path reads
them): this step takes them into this app's state; their tables and rows stay as they are."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("routing", "0005_route_targets"),
        ("recording", "0006_curation"),
    ]

    state_operations = [
        migrations.CreateModel(
            name="Workflow",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=64, unique=True, validators=[django.core.validators.RegexValidator("^[A-Za-z0-9_-]{1,64}$", "Use 1 to 64 letters, digits, '-' or '_'.")])),
                ("port", models.PositiveIntegerField(blank=True, help_text="Requests arriving on this port join it.", null=True, unique=True)),
                ("description", models.TextField(blank=True)),
                ("source", models.CharField(default="admin", max_length=10)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={"ordering": ["name"], "db_table": "recording_workflow"},
        ),
        migrations.CreateModel(
            name="CachedResponse",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=64, unique=True)),
                ("method", models.CharField(max_length=8)),
                ("path", models.CharField(max_length=64)),
                ("model", models.CharField(blank=True, max_length=200)),
                ("status", models.PositiveSmallIntegerField()),
                ("content_type", models.CharField(max_length=100)),
                ("body", models.BinaryField()),
                ("created_at", models.DateTimeField()),
                ("expires_at", models.DateTimeField(db_index=True)),
                ("hits", models.PositiveIntegerField(default=0)),
            ],
            options={"ordering": ["-created_at"], "db_table": "recording_cachedresponse"},
        ),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=state_operations),
    ]
