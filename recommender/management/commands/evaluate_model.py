"""Print the metrics table (model beside baselines) of a model version, the active one by default."""

from django.core.management.base import BaseCommand, CommandError

from recommender.selectors import model_version_active, model_version_get
from recommender.services.report import metrics_table


class Command(BaseCommand):
    help = "Print a model version's metrics beside the baselines measured in the same run."

    def add_base_argument(self, parser, *args, **kwargs):
        if "--version" not in args:  # the contract's --version N names a model version, not Django's version
            super().add_base_argument(parser, *args, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("--version", type=int, help="model version number (default: the active one)")

    def handle(self, *args, **options):
        number = options["version"]
        version = model_version_get(number=number) if number is not None else model_version_active()
        if version is None:
            raise CommandError(f"no model version {number}" if number is not None else "no active model version")
        if not version.metrics:
            raise CommandError(f"model v{version.number} ({version.status}) has no metrics")
        self.stdout.write(f"model v{version.number} ({version.status})")
        self.stdout.write(metrics_table(version.metrics))
        if version.gate_reason:
            self.stdout.write(f"\ngate: {version.gate_reason}")
