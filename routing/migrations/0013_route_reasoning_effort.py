"""Routes say whether their upstream takes reasoning_effort (from a Responses request)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('routing', '0012_stored_responses'),
    ]

    operations = [
        migrations.AddField(
            model_name='route',
            name='reasoning_effort',
            field=models.BooleanField(default=False, help_text="Pass a Responses request's reasoning.effort on as reasoning_effort (only for upstreams that take it: others may refuse the request)."),
        ),
    ]
