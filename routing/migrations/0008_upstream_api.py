"""Upstreams say which API they speak natively besides chat completions."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('routing', '0007_rename_moved_tables'),
    ]

    operations = [
        migrations.AddField(
            model_name='upstream',
            name='api',
            field=models.CharField(choices=[('openai', 'openai'), ('anthropic', 'anthropic'), ('responses', 'responses')], default='openai', help_text="Every upstream speaks OpenAI's chat completions; one that also speaks Anthropic's Messages or OpenAI's Responses natively gets those requests untranslated.", max_length=12, verbose_name='API'),
        ),
    ]
