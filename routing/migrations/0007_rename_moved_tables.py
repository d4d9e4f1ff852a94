"""The moved tables take this app's names (rows, indexes and the curation rules' links kept)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("routing", "0006_workflow_cached_response"),
        ("recording", "0007_workflow_cached_response_to_routing"),
    ]

    operations = [
        migrations.AlterModelTable(name="workflow", table=None),
        migrations.AlterModelTable(name="cachedresponse", table=None),
    ]
