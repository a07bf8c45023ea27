"""Collection layout: schema, row validation and encoding, index and search parameters."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .filters import MAX_GENRE_LENGTH, as_movie_ids, check_genre_name
from .pymilvus_env import pymilvus_import

MAX_GENRES_PER_MOVIE = 32
INSERT_BATCH = 5000  # ~5 MB of 256-d float32 per gRPC message, far under the 64 MB default cap
INDEX_TYPES = ("HNSW", "IVF_FLAT", "FLAT")


def encode_genres(names) -> list[str]:
    """The genres field: an ARRAY of VARCHAR, filtered with array_contains_any / array_contains_all.

    Arrays work the same on Milvus Lite and a Milvus server (2.3 and later); a LIKE "%|Drama|%" pattern over a
    delimited string does not (a 2.3 server takes prefix patterns only). Measured in Lite at 3,883 movies: a
    genre-filtered search costs about as much either way (151 vs 129 ms on the loaded 2-core machine).
    """
    if isinstance(names, str) or len(names) > MAX_GENRES_PER_MOVIE:
        raise ValueError(f"genres must be lists of at most {MAX_GENRES_PER_MOVIE} names, got {names!r}")
    return [check_genre_name(name) for name in names]


def _year(value) -> int:
    """Unknown years (None/NaN) are stored as 0, which every year-range filter excludes."""
    if value is None or (isinstance(value, float | np.floating) and np.isnan(value)):
        return 0
    return int(value)


def iter_row_batches(version: int, movie_ids, vectors, genres, years) -> Iterator[list[dict]]:
    """Validate the arrays together, then yield insert batches of row dicts."""
    ids = as_movie_ids(np.asarray(movie_ids).tolist())
    vecs = np.ascontiguousarray(vectors, dtype=np.float32)
    years_list = [_year(y) for y in list(years)]
    if vecs.ndim != 2 or not (len(ids) == len(vecs) == len(genres) == len(years_list)):
        raise ValueError("movie_ids, vectors (2-D), genres and years must have the same length")
    if len(set(ids)) != len(ids):
        raise ValueError("movie_ids contain duplicates")
    if not np.isfinite(vecs).all():
        raise ValueError("vectors contain NaN or infinity")
    encoded = [encode_genres(names) for names in genres]
    for start in range(0, len(ids), INSERT_BATCH):
        yield [
            {"movie_id": ids[i], "vector": vecs[i], "model_version": version, "genres": encoded[i],
             "year": years_list[i]}
            for i in range(start, min(start + INSERT_BATCH, len(ids)))
        ]  # fmt: skip


def make_schema(client, dim: int):
    pymilvus_import()
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("movie_id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("model_version", DataType.INT64)
    schema.add_field(
        "genres", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=MAX_GENRES_PER_MOVIE,
        max_length=MAX_GENRE_LENGTH,
    )  # fmt: skip
    schema.add_field("year", DataType.INT64)
    return schema


def make_index_params(client, index_type: str, metric: str, rows: int):
    params = client.prepare_index_params()
    if index_type == "HNSW":
        build = {"M": 16, "efConstruction": 100}  # 200 took > 5 min at 100k x 256-d in Lite on 2 busy cores
    elif index_type == "IVF_FLAT":
        build = {"nlist": int(max(1, min(4096, 4 * np.sqrt(max(rows, 1)))))}
    else:
        build = {}
    params.add_index("vector", index_type=index_type, metric_type=metric, params=build)
    return params


def search_params(index_type: str, limit: int, *, beam: int = 0, ef: int = 0) -> dict:
    """ef/nprobe for a search. beam 0: plain or exclusion-only; 1: a genre/year filter (selective, so the
    graph walk needs a wider beam to find `limit` matches; measured at 3,883 movies and ~7% passing: ef 100
    left 60% of searches short, ef 400 none); 2: the retry when a search still came back short.

    ``ef`` (MILVUS_SEARCH_EF) raises the HNSW floor of every beam for large catalogues: at 100k movies the
    default max(64, 2 limit) finds only ~60% of the true top 50, a floor of 1024 99.5% (docs/benchmarks.md,
    "milvus-server").
    """
    if index_type == "HNSW":
        return {"params": {"ef": max(ef, [max(64, 2 * limit), max(512, 8 * limit), max(4096, 32 * limit)][beam])}}
    if index_type == "IVF_FLAT":
        return {"params": {"nprobe": [32, 128, 1024][beam]}}
    return {}
