"""The main job's set-up steps: import MovieLens if the database is empty, start training if no model was ever
trained (in the background by default, so the site serves at once), print logins."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from core.exceptions import ApplicationError
from movies.models import Rating
from recommender.models import ModelVersion
from recommender.selectors import model_version_active, model_version_running
from recommender.services.demo import demo_accounts_reset
from recommender.services.training_jobs import model_version_train_enqueue


class Command(BaseCommand):
    help = "Import MovieLens 1M (if needed), start training a model (if none was ever trained), print demo logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--path", help="local ml-1m (or ml-100k, ml-latest-small, ml-25m...) folder or zip instead of the download"
        )
        parser.add_argument("--epochs", type=int, help="override the number of training epochs")
        parser.add_argument(
            "--foreground", action="store_true",
            help="train here and now (progress bar) instead of queueing it for serve_all's training worker",
        )  # fmt: skip
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="where the site will be served")

    def handle(self, *args, **options):
        if not Rating.objects.exists():
            self.stdout.write("[setup] importing MovieLens")
            call_command("import_movielens", *(["--path", options["path"]] if options["path"] else []))
        else:
            self.stdout.write(
                f"[setup] {Rating.objects.count():,} ratings already imported (re-import: import_movielens)"
            )
        self._train_unless_done(options["epochs"], foreground=options["foreground"])
        accounts = demo_accounts_reset()
        url = options["url"].rstrip("/")
        self.stdout.write(self.style.SUCCESS("\n[setup] ready. Log in at " + f"{url}/accounts/login/"))
        if accounts["user"]:
            username, password, count = accounts["user"]
            self.stdout.write(f"  MovieLens user with {count} ratings: {username} / {password}")
        self.stdout.write(f"  staff (admin panel {url}/admin/): {accounts['admin'][0]} / {accounts['admin'][1]}")

    def _train_unless_done(self, epochs: int | None, *, foreground: bool) -> None:
        active = model_version_active()
        trained = ModelVersion.objects.filter(status__in=[ModelVersion.Status.ACTIVE, ModelVersion.Status.INACTIVE])
        if active is not None:
            self.stdout.write(f"[setup] model v{active.number} is active (retrain: admin or train_model)")
            return
        running = model_version_running()
        if running is not None:
            self.stdout.write(f"[setup] model v{running.number} is {running.status}: the site shows its progress")
            return
        if not trained.exists():
            if not foreground:
                self._train_in_background(epochs)
                return
            self.stdout.write("[setup] training the two-tower model (progress below)")
            call_command("train_model", *(["--epochs", str(epochs)] if epochs else []))
        if model_version_active() is None:
            latest = ModelVersion.objects.order_by("-number").first()
            why = latest.gate_reason or latest.error[:200] if latest else "none trained"
            self.stdout.write(
                self.style.WARNING(
                    f"[setup] no model is active ({why}). The site serves popular movies until a version is "
                    "activated (admin: Activate) or a retrain passes the gate."
                )
            )

    def _train_in_background(self, epochs: int | None) -> None:
        try:
            version = model_version_train_enqueue(config={"epochs": epochs} if epochs else None)
        except ApplicationError as exc:
            self.stdout.write(self.style.WARNING(f"[setup] could not queue a training: {exc.message}"))
            return
        self.stdout.write(
            f"[setup] model v{version.number} is queued: the training worker builds it while the site serves "
            "popular movies with a progress notice; it goes live by itself (no restart)"
        )
