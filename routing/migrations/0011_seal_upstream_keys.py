from django.db import migrations, models

import routing.models.sealed


def seal_plain_keys(apps, schema_editor):
    """Keys stored in plain text are read as is and written back encrypted."""
    upstreams = apps.get_model("routing", "Upstream")
    for pk, key in upstreams.objects.exclude(api_key="").values_list("pk", "api_key"):
        upstreams.objects.filter(pk=pk).update(api_key=key)


def unseal_keys(apps, schema_editor):
    upstreams = apps.get_model("routing", "Upstream")
    for pk, key in upstreams.objects.exclude(api_key="").values_list("pk", "api_key"):
        plain = models.Value(key, output_field=models.TextField())  # not encrypted again
        upstreams.objects.filter(pk=pk).update(api_key=plain)


class Migration(migrations.Migration):
    dependencies = [("routing", "0010_regex_patterns_as_the_seeds")]

    operations = [
        migrations.AlterField(
            model_name="upstream",
            name="api_key",
            field=routing.models.sealed.SealedField(
                blank=True,
                help_text="Sent to this upstream as a bearer token. Kept encrypted (SECRET_KEY); "
                "never shown or logged.",
                verbose_name="API key",
            ),
        ),
        migrations.RunPython(seal_plain_keys, unseal_keys),
    ]
