"""Serving latency at ML-1M scale: the recommendation service, the HTTP endpoint and page, and Milvus alone.

    python benchmarks/bench_serving.py [--requests 300] [--no-report]

Synthetic ML-1M-size data (6,040 users x 3,883 movies x 1,000,209 ratings, scripts/make_synthetic_movielens.py)
is imported into a fresh SQLite database in a temporary folder; a model with the default architecture is
built and indexed in Milvus Lite *without* training (latency does not depend on the weights). Then, for
users with a typical (~100) and a heavy (~1,000) history: p50/p99 of recommend_for_user (warm), the same right
after a fresh rating each time, GET /api/me/recommendations/ and GET / through Django's test client, and a bare
Milvus search with the same exclusion filter as the floor; then again with the second stage (a ranker saved beside
the model), and batch_recommend for every user both ways.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="recsite-bench-serving-"))
os.environ.update(RECSITE_VAR_DIR=str(WORK), DJANGO_SETTINGS_MODULE="recsite.settings.local", LOG_LEVEL="WARNING")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as in a web process (recsite/wsgi.py)
os.environ.pop("DATABASE_URL", None)
os.environ.pop("MILVUS_URI", None)

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from benchmarks.report import write_section  # noqa: E402
from movies.models import Movie, Profile, Rating  # noqa: E402
from movies.selectors import user_history  # noqa: E402
from movies.services import rating_upsert  # noqa: E402
from recommender.ml.config import load_config  # noqa: E402
from recommender.ml.encoder import FeatureEncoder  # noqa: E402
from recommender.ml.model import TwoTowerModel  # noqa: E402
from recommender.models import ModelVersion  # noqa: E402
from recommender.services.dataset import dataset_export  # noqa: E402
from recommender.services.recommendations import recommend_for_user  # noqa: E402
from recommender.services.vectors import model_version_activate  # noqa: E402
from recommender.serving import live_model  # noqa: E402
from recommender.vectorstore import get_vector_store  # noqa: E402
from scripts.make_synthetic_movielens import generate  # noqa: E402


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def summary(ms: list[float]) -> str:
    return f"{statistics.median(ms):.1f} | {float(np.percentile(ms, 99)):.1f}"


def setup_model() -> None:
    call_command("migrate", verbosity=0)
    generate(WORK / "ml-1m")
    call_command("import_movielens", "--path", str(WORK / "ml-1m"), verbosity=0)
    data = dataset_export()
    config = load_config()
    encoder = FeatureEncoder.fit(
        data.catalog, data.interactions, max_title_tokens=config.max_title_tokens,
        max_history=config.max_history, min_token_count=config.min_token_count,
    )  # fmt: skip
    path = WORK / "models" / "v1" / "model"
    TwoTowerModel.build(encoder, config).save(path)
    version = ModelVersion.objects.create(number=1, status=ModelVersion.Status.INACTIVE, artifact_path=str(path))
    model_version_activate(version=version)


def install_ranker() -> str:
    """Fit the second stage on the data's temporal holdout (the untrained model's candidates: the trees, not their
    quality, set the cost) and save it beside the live model, so requests pay for it as a version that kept one
    does. Returns what was done, for the report."""
    from django.core.cache import cache

    from recommender.ml.neighbours import ItemNeighbours
    from recommender.ml.ranker import fit_holdout_ranker
    from recommender.ml.split import temporal_split
    from recommender.serving import registry

    started = time.perf_counter()
    data, config = dataset_export(), load_config()
    live = live_model()
    ranker, report = fit_holdout_ranker(live.model, data, temporal_split(data.interactions),
                                        max_users=config.ranker_users, threads=config.threads)  # fmt: skip
    neighbours = ItemNeighbours.fit(data.interactions, data.catalog)
    ranker.reading(data.catalog, data.interactions, neighbours).save(Path(live.version.artifact_path), report)
    registry.reset()
    cache.clear()
    return f"ranker fitted on {report.users:,} holdout users in {time.perf_counter() - started:.0f} s"


def user_with_history(target: int):
    counts = {p.user_id: p.user.ratings.count() for p in Profile.objects.select_related("user")[:400]}
    user_id = min(counts, key=lambda u: abs(counts[u] - target))
    return Profile.objects.get(user_id=user_id).user, counts[user_id]


def bench_user(user, n: int) -> dict[str, list[float]]:
    client = Client()
    client.force_login(user)
    rng = np.random.default_rng(0)
    unrated = sorted(
        set(Movie.objects.values_list("id", flat=True))
        - set(Rating.objects.filter(user=user).values_list("movie_id", flat=True))
    )
    live = live_model()
    history = user_history(user_id=user.pk)
    vector = live.user_vector(user_id=user.pk, gender="", age=0, occupation=None, history=history)
    store = get_vector_store()
    recommend_for_user(user=user, k=10)  # warm the model, caches and connections

    def after_rating():
        rating_upsert(user=user, movie_id=int(rng.choice(unrated)), score=int(rng.integers(1, 6)))
        started = time.perf_counter()
        recommend_for_user(user=user, k=10)
        return (time.perf_counter() - started) * 1000

    return {
        "Milvus search alone (k=10, rated excluded)": timed(
            lambda: store.search(vector, k=10, exclude_ids=set(history[0]), collection=live.collection), n
        ),
        "service, warm": timed(lambda: recommend_for_user(user=user, k=10), n),
        "service, right after a new rating": [after_rating() for _ in range(n)],
        "GET /api/me/recommendations/?k=10": timed(lambda: client.get("/api/me/recommendations/?k=10"), n),
        "GET / (home page, 4 recommendation rows)": timed(lambda: client.get("/"), max(20, n // 5)),
    }


def time_batch() -> float:
    """Wall time of the batch service writing top-50 for every MovieLens user."""
    from recommender.services.batch import batch_recommend_write

    started = time.perf_counter()
    batch_recommend_write(k=50, output=WORK / "batch.jsonl")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    setup_model()
    print(f"set-up (generate, import, build, index) {time.perf_counter() - started:.0f} s")
    rows, batch_s = [], {}
    for stage in ("tower order", "with the ranker"):
        if stage == "with the ranker":
            print(install_ranker())
        for label, target in (("typical", 100), ("heavy", 1000)):
            user, count = user_with_history(target)
            for name, ms in bench_user(user, args.requests).items():
                if stage == "with the ranker" and name.startswith("Milvus"):
                    continue  # the same search as above
                rows.append(f"| {stage} | {label} user ({count} ratings) | {name} | {summary(ms)} | {len(ms)} |")
                print(rows[-1])
        batch_s[stage] = time_batch()
        print(f"batch_recommend, every user x 50, {stage}: {batch_s[stage]:.1f} s")
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    body = (
        f"Load average at the end: {load}. `batch_recommend --k 50` for all {Profile.objects.count():,} users "
        f"(the batch service: chunks of 200 users, searches of 16): {batch_s['tower order']:.1f} s in the tower's "
        f"order, {batch_s['with the ranker']:.1f} s with the ranker (it searches 200 per user and re-orders them).\n\n"
        "Synthetic ML-1M-size data in SQLite, Milvus Lite in-process (HNSW, IP), local-memory cache, the default\n"
        "model architecture (256-d). Latency in ms over N sequential calls; the service call includes reading the\n"
        "user's current ratings, the user-tower forward pass, the Milvus search, the second stage when the version\n"
        "has one (*with the ranker*: fitted on the data's holdout and saved beside the model, as a version whose\n"
        "pipeline kept it), explanations and hydration.\n\n"
        "| stage | user | what | p50 ms | p99 ms | N |\n|---|---|---|---|---|---|\n" + "\n".join(rows)
    )
    if not args.no_report:
        write_section("serving", "Serving latency at ML-1M scale", "python benchmarks/bench_serving.py", body)


if __name__ == "__main__":
    main()
