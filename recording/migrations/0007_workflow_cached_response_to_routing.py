"""Workflows and the response cache now belong to the routing app: this app lets go of them
(state only: the tables and rows stay, and the curation rules keep pointing at their workflow)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("recording", "0006_curation"),
        ("routing", "0006_workflow_cached_response"),
    ]

    state_operations = [
        migrations.AlterField(
            model_name="curationrules",
            name="workflow",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="curation",
                to="routing.workflow",
            ),
        ),
        migrations.DeleteModel(name="CachedResponse"),
        migrations.DeleteModel(name="Workflow"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=state_operations),
    ]
