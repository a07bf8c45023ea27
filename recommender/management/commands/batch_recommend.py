"""Write top-k recommendations for MovieLens users to a JSONL (or CSV) file with the active model."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.exceptions import ApplicationError
from recommender.services.batch import batch_recommend_write
from recommender.serving import NoLiveModel
from recommender.vectorstore import VectorStoreError


class Command(BaseCommand):
    help = 'One line per user: {"user_id": <MovieLens id>, "items": [movie ids, best first]}, rated movies excluded.'

    def add_arguments(self, parser):
        parser.add_argument("--k", type=int, default=50)
        parser.add_argument("--output", required=True, help="file to write (.jsonl, or .csv for CSV)")
        parser.add_argument("--users", type=int, nargs="*", help="MovieLens user ids (default: all)")
        parser.add_argument("--format", choices=["jsonl", "csv"], help="default: from the file extension")

    def handle(self, *args, **options):
        output = Path(options["output"])
        fmt = options["format"] or ("csv" if output.suffix == ".csv" else "jsonl")
        bar = tqdm(desc="users", unit="user", disable=options["verbosity"] == 0)

        def on_progress(done: int, total: int) -> None:
            bar.total, bar.n = total, done
            bar.refresh()

        try:
            count = batch_recommend_write(
                k=options["k"], output=output, movielens_ids=options["users"], fmt=fmt, on_progress=on_progress
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        except NoLiveModel as exc:
            raise CommandError(f"no model is serving: {exc} (run train_model first)") from exc
        except VectorStoreError as exc:
            raise CommandError(f"the vector store did not answer (is Milvus running?): {exc}") from exc
        finally:
            bar.close()
        self.stdout.write(self.style.SUCCESS(f"wrote {count} users to {output}"))
