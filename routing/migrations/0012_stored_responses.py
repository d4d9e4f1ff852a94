"""Responses kept for the Responses API (store: true), for previous_response_id and retrieval."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('routing', '0011_seal_upstream_keys'),
    ]

    operations = [
        migrations.CreateModel(
            name='StoredResponse',
            fields=[
                ('id', models.CharField(max_length=80, primary_key=True, serialize=False)),
                ('owner', models.CharField(max_length=120)),
                ('gateway_key', models.CharField(blank=True, max_length=100)),
                ('model', models.CharField(blank=True, max_length=200)),
                ('status', models.CharField(max_length=16)),
                ('previous_response_id', models.CharField(blank=True, max_length=80)),
                ('upstream', models.CharField(blank=True, help_text='Set when that upstream keeps the response itself.', max_length=100)),
                ('request_id', models.UUIDField(blank=True, null=True)),
                ('created_at', models.DateTimeField(db_index=True)),
                ('response', models.BinaryField()),
                ('context', models.BinaryField()),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
    ]
