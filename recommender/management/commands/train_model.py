"""Train a new model version in the foreground: progress bar, metrics beside baselines, quality gate."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.exceptions import ApplicationError
from recommender.models import Stage
from recommender.services.report import metrics_table
from recommender.services.training import model_version_create, model_version_pipeline_run


class Command(BaseCommand):
    help = "Train the two-tower model on all ratings, evaluate it beside the baselines, and activate it if it passes."

    def add_arguments(self, parser):
        parser.add_argument("--config", help="TOML file with hyper-parameters (defaults: recommender/ml/config.toml)")
        parser.add_argument("--epochs", type=int, help="override the number of epochs")
        parser.add_argument("--seed", type=int, help="override the random seed")

    def handle(self, *args, **options):
        overrides = {key: options[key] for key in ("epochs", "seed") if options[key] is not None}
        if options["config"]:
            overrides["config_file"] = options["config"]
        try:
            # --config is read from any path: the operator runs this at the server's shell and can read that file
            # anyway. The API and RETRAIN_CONFIG_FILE only reach files inside TRAINING_CONFIG_DIR.
            version = model_version_create(config=overrides, config_file_anywhere=True)
        except (ApplicationError, ValueError, OSError) as exc:
            raise CommandError(str(getattr(exc, "message", exc))) from exc
        bar = tqdm(desc=f"model v{version.number}", unit="epoch", disable=options["verbosity"] == 0)

        def on_progress(progress: dict) -> None:
            stage = progress.get("stage")
            if stage in (Stage.TRAINING, Stage.REFITTING):  # holdout epochs, then the refit on every rating
                bar.set_description(f"model v{version.number}: {stage}", refresh=False)
                bar.total, bar.n = progress["epochs"], progress["epoch"]
                postfix = {"loss": f"{progress['loss']:.4f}"}
                if "val_ndcg@10" in progress:
                    postfix["holdout_ndcg10"] = f"{progress['val_ndcg@10']:.4f}"
                bar.set_postfix(postfix, refresh=False)
                bar.refresh()
            else:
                bar.set_description(f"model v{version.number}: {stage}")

        try:
            version = model_version_pipeline_run(version=version, on_progress=on_progress)
        except ApplicationError as exc:
            raise CommandError(f"model v{version.number} failed: {exc.message}") from exc
        except Exception as exc:
            raise CommandError(f"model v{version.number} failed: {type(exc).__name__}: {exc}") from exc
        finally:
            bar.close()
        self.stdout.write(metrics_table(version.metrics))
        self.stdout.write(f"\ngate: {'passed' if version.gate_passed else 'refused'} - {version.gate_reason}")
        self.stdout.write(
            self.style.SUCCESS(f"model v{version.number} is {version.status}; saved in {version.artifact_path}")
        )
