"""import_movielens: load MovieLens 1M (downloaded) or a local 1M / 100K / CSV (ml-latest, ml-25m, ml-32m) dataset."""

from django.core.management.base import BaseCommand, CommandError

from movies.importing import MovieLensImportError, movielens_import


class Command(BaseCommand):
    help = (
        "Import MovieLens ratings. With no arguments, download ml-1m.zip from GroupLens (checksum verified, kept "
        "under var/); --path or MOVIELENS_PATH reads a local folder or zip instead: the 1M or 100K layout, or the CSV "
        "layout of today's releases (ml-latest-small, ml-25m, ml-32m: movies.csv, ratings.csv in half stars). "
        "All or nothing; re-running updates changed values and duplicates nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--path", help="extracted MovieLens folder or its zip (1M, 100K or CSV layout)")
        parser.add_argument("--dry-run", action="store_true", help="validate every line, write nothing")

    def handle(self, *args, path=None, dry_run=False, verbosity=1, **options):
        log = self.stdout.write if verbosity >= 2 else (lambda _: None)
        try:
            summary = movielens_import(path=path, dry_run=dry_run, progress=verbosity >= 1, log=log)
        except MovieLensImportError as exc:
            raise CommandError(str(exc)) from None
        if verbosity >= 1:
            self.stdout.write(self.style.SUCCESS(summary.report()))
