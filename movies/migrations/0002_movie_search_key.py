"""Movie.search_key: what site and API searches compare against, filled for the movies already imported."""

from django.db import migrations, models

from movies.titles import search_key

BATCH = 1000


def search_keys_fill(apps, schema_editor):
    Movie = apps.get_model("movies", "Movie")
    batch = []
    for movie in Movie.objects.only("id", "title").order_by("id").iterator(chunk_size=BATCH):
        movie.search_key = search_key(movie.title)[:255]
        batch.append(movie)
        if len(batch) == BATCH:
            Movie.objects.bulk_update(batch, ["search_key"])
            batch = []
    Movie.objects.bulk_update(batch, ["search_key"])


class Migration(migrations.Migration):

    dependencies = [
        ("movies", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="movie",
            name="search_key",
            field=models.CharField(blank=True, db_index=True, default="", editable=False, max_length=255),
        ),
        migrations.RunPython(search_keys_fill, migrations.RunPython.noop, elidable=True),
    ]
