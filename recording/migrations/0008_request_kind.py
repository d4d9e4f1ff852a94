"""Each request row says what it asked of the upstream (chat, text, embeddings, ...), and
service names may be longer (anthropic, responses). Rows already there get the kind their
endpoint implies."""

from django.db import migrations, models


TEXT_ENDPOINTS = ["/v1/completions", "/api/generate"]


def fill_kinds(apps, schema_editor) -> None:
    rows = apps.get_model("recording", "RequestLog").objects
    rows.filter(endpoint__in=TEXT_ENDPOINTS).update(kind="text")
    rows.filter(kind="").update(kind="chat")


class Migration(migrations.Migration):

    dependencies = [
        ('recording', '0007_workflow_cached_response_to_routing'),
    ]

    operations = [
        migrations.AddField(
            model_name='requestlog',
            name='kind',
            field=models.CharField(blank=True, max_length=16),
        ),
        migrations.AlterField(
            model_name='hourlystat',
            name='service',
            field=models.CharField(max_length=16),
        ),
        migrations.AlterField(
            model_name='requestlog',
            name='service',
            field=models.CharField(max_length=16),
        ),
        migrations.RunPython(fill_kinds, migrations.RunPython.noop),
    ]
