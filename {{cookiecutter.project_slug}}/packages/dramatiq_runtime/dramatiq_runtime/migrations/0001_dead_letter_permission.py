from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="DeadLetter",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
            ],
            options={
                "verbose_name": "dead letter",
                "permissions": [
                    ("manage_dead_letters", "Can requeue and purge dead letters")
                ],
                "managed": False,
                "default_permissions": (),
            },
        ),
    ]
