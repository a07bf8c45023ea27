"""Print the metrics table (model beside baselines) of a model version, the active one by default."""

from django.core.management.base import BaseCommand, CommandError

from recommender.selectors import model_version_active, model_version_get
from recommender.services.report import metrics_table


class Command(BaseCommand):
    help = "Print a model version's metrics beside the baselines measured in the same run."

    def add_arguments(self, parser):
        # not --version: that is Django's own option (it prints Django's version)
        parser.add_argument("--model-version", type=int, metavar="N", help="model version number (default: active)")

    def handle(self, *args, **options):
        number = options["model_version"]
        version = model_version_get(number=number) if number is not None else model_version_active()
        if version is None:
            raise CommandError(f"no model version {number}" if number is not None else "no active model version")
        if not version.metrics:
            raise CommandError(f"model v{version.number} ({version.status}) has no metrics")
        self.stdout.write(f"model v{version.number} ({version.status})")
        self.stdout.write(metrics_table(version.metrics))
        if version.gate_reason:
            self.stdout.write(f"\ngate: {version.gate_reason}")
