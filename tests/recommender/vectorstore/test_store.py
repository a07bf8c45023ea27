"""VectorStore against real Milvus Lite: search, filters, alias switch and rollback, restart, idempotency."""

import threading
import time

import numpy as np
import pytest

from recommender.vectorstore import LiveCollectionError, VectorStore, VectorStoreError

from .conftest import lite_only, make_catalogue, unit


def test_search_returns_nearest_ids_with_numpy_scores(live_store, catalogue):
    query = unit(catalogue.vectors[3] + 0.5 * catalogue.vectors[10])
    got = live_store.search(query, k=10)
    expected = catalogue.top(query, 10)
    assert [movie_id for movie_id, _ in got] == [movie_id for movie_id, _ in expected]
    np.testing.assert_allclose([s for _, s in got], [s for _, s in expected], atol=1e-5)


def test_excluded_ids_never_returned(live_store, catalogue):
    query = catalogue.vectors[0]
    nearest = [movie_id for movie_id, _ in catalogue.top(query, 100)]
    excluded = nearest[:60] + list(range(5000, 5040))  # the 60 best plus ids that do not exist
    got = live_store.search(query, k=50, exclude_ids=excluded)
    assert len(got) == 50
    assert not {movie_id for movie_id, _ in got} & set(excluded)
    keep = ~np.isin(catalogue.ids, excluded)
    assert [m for m, _ in got] == [m for m, _ in catalogue.top(query, 50, keep)]


def test_genre_filter_any_and_all(live_store, catalogue):
    genres_of = dict(zip(catalogue.ids.tolist(), catalogue.genres, strict=True))
    got = live_store.search(catalogue.vectors[1], k=30, genres=["Children's", "Film-Noir"])
    assert got and all({"Children's", "Film-Noir"} & set(genres_of[m]) for m, _ in got)
    keep = np.array([bool({"Children's", "Film-Noir"} & set(g)) for g in catalogue.genres])
    assert [m for m, _ in got] == [m for m, _ in catalogue.top(catalogue.vectors[1], 30, keep)]
    both = live_store.search(catalogue.vectors[1], k=30, genres=["Drama", "Romance"], genre_mode="all")
    assert both and all(genres_of[m] == ["Drama", "Romance"] for m, _ in both)


def test_year_filter(live_store, catalogue):
    years_of = dict(zip(catalogue.ids.tolist(), catalogue.years.tolist(), strict=True))
    got = live_store.search(catalogue.vectors[2], k=200, year_min=1990, year_max=1994, exclude_ids=[1, 2])
    assert len(got) == int(((catalogue.years >= 1990) & (catalogue.years <= 1994)).sum()) - 0
    assert all(1990 <= years_of[m] <= 1994 for m, _ in got)


def test_escaped_genre_round_trips_through_milvus(store, catalogue):
    odd = 'Odd "quoted" name'
    genres = [list(g) for g in catalogue.genres]
    genres[7] = [odd]
    store.build_collection(1, catalogue.ids, catalogue.vectors, genres, catalogue.years)
    store.switch_alias(1)
    assert odd in store.known_genres  # genres written through the store become searchable names
    assert [m for m, _ in store.search(catalogue.vectors[0], k=10, genres=[odd])] == [int(catalogue.ids[7])]


def test_search_many_with_per_query_exclusions(live_store, catalogue):
    queries = catalogue.vectors[:3]
    own = [[int(catalogue.ids[0])], [], [int(catalogue.ids[2]), 150]]
    got = live_store.search_many(queries, k=5, exclude_per_query=own)
    for query, exclude, hits in zip(queries, own, got, strict=True):
        keep = ~np.isin(catalogue.ids, exclude)
        assert [m for m, _ in hits] == [m for m, _ in catalogue.top(query, 5, keep)]


def test_get_vectors_round_trip(live_store, catalogue):
    got = live_store.get_vectors([int(catalogue.ids[5]), int(catalogue.ids[9]), 99999])
    assert set(got) == {int(catalogue.ids[5]), int(catalogue.ids[9])}
    np.testing.assert_allclose(got[int(catalogue.ids[5])], catalogue.vectors[5], rtol=1e-6)
    assert live_store.get_vectors([]) == {}


def test_count_list_and_live_version(live_store, catalogue):
    assert live_store.count() == len(catalogue.ids)
    assert live_store.count(live_store.collection_name(1)) == len(catalogue.ids)
    assert live_store.list_versions() == [1]
    assert live_store.live_version() == 1
    assert live_store.collection_name(7) == f"{live_store.prefix}7"


def test_alias_switch_has_no_failed_search_and_rollback_works(live_store):
    v2 = make_catalogue(first_id=1001, seed=1)  # disjoint ids tell which version answered
    live_store.build_collection(2, v2.ids, v2.vectors, v2.genres, v2.years)
    assert live_store.live_version() == 1  # building never touches the alias
    seen, errors, stop = set(), [], threading.Event()

    def searcher():
        while not stop.is_set():
            try:
                hits = live_store.search(v2.vectors[0], k=10, exclude_ids=[1, 1001])
                assert len(hits) == 10
                seen.add("v2" if hits[0][0] > 1000 else "v1")
            except Exception as exc:  # any failure at all is what this test is about
                errors.append(exc)

    thread = threading.Thread(target=searcher)
    thread.start()
    try:
        for version in (2, 1, 2, 1, 2):
            live_store.switch_alias(version)
            time.sleep(0.05)  # the scenario's pace: searches land on each version
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert seen == {"v1", "v2"}
    assert live_store.live_version() == 2
    live_store.switch_alias(1)  # rollback to the kept previous version
    assert live_store.live_version() == 1
    assert live_store.search(v2.vectors[0], k=1)[0][0] < 1000


def test_drop_refuses_live_collection_and_is_idempotent(live_store, catalogue):
    live_store.build_collection(2, catalogue.ids, catalogue.vectors, catalogue.genres, catalogue.years)
    with pytest.raises(LiveCollectionError):
        live_store.drop_collection(1)
    live_store.drop_collection(2)
    live_store.drop_collection(2)
    assert live_store.list_versions() == [1]
    live_store.drop_collection(1, force=True)
    assert live_store.live_version() is None and live_store.list_versions() == []
    with pytest.raises(VectorStoreError):  # no alias: the service falls back to popularity
        live_store.search(catalogue.vectors[0], k=5)


def test_drop_all_is_idempotent(live_store, catalogue):
    live_store.build_collection(2, catalogue.ids, catalogue.vectors, catalogue.genres, catalogue.years)
    live_store.drop_all()
    live_store.drop_all()
    assert live_store.list_versions() == [] and live_store.live_version() is None


def test_build_is_idempotent_and_refuses_live_rebuild(live_store, catalogue):
    args = (catalogue.ids, catalogue.vectors, catalogue.genres, catalogue.years)
    live_store.build_collection(2, *args)
    live_store.build_collection(2, *args)
    assert live_store.count(live_store.collection_name(2)) == len(catalogue.ids)
    with pytest.raises(LiveCollectionError):
        live_store.build_collection(1, *args)
    live_store.build_collection(1, catalogue.ids[:50], catalogue.vectors[:50], catalogue.genres[:50],
                                catalogue.years[:50], force=True)  # fmt: skip
    assert live_store.count() == 50


def test_upsert_is_idempotent_and_replaces_vectors(live_store, catalogue):
    ids, new = catalogue.ids[:20], catalogue.vectors[100:120]
    for _ in range(2):
        assert live_store.upsert_vectors(1, ids, new, catalogue.genres[:20], catalogue.years[:20]) == 20
    assert live_store.count() == len(catalogue.ids)
    np.testing.assert_allclose(live_store.get_vectors([int(ids[0])])[int(ids[0])], new[0], rtol=1e-6)
    live_store.upsert_vectors(1, [9000], catalogue.vectors[:1], [["Drama"]], [2001])
    assert live_store.count() == len(catalogue.ids) + 1
    assert live_store.search(catalogue.vectors[0], k=1, year_min=2001) == [(9000, pytest.approx(1.0, abs=1e-5))]
    with pytest.raises(VectorStoreError, match="does not exist"):
        live_store.upsert_vectors(9, ids, new, catalogue.genres[:20], catalogue.years[:20])


def test_invalid_build_input_leaves_existing_collection_alone(live_store, catalogue):
    bad_vectors = catalogue.vectors.copy()
    bad_vectors[0, 0] = np.nan
    bad_genres = [list(g) for g in catalogue.genres]
    bad_genres[3] = ["Drama\nComedy"]  # a control character: refused before anything is dropped
    cases = [(catalogue.ids, bad_vectors, catalogue.genres), (catalogue.ids[:-1], catalogue.vectors, catalogue.genres),
             (np.ones_like(catalogue.ids), catalogue.vectors, catalogue.genres),
             (catalogue.ids, catalogue.vectors, bad_genres)]  # fmt: skip
    for ids, vectors, genres in cases:
        with pytest.raises(ValueError):
            live_store.build_collection(1, ids, vectors, genres, catalogue.years, force=True)
    assert live_store.count() == len(catalogue.ids)


@lite_only
def test_reopen_after_close_searches(live_store, catalogue):
    """Closing the last store stops the embedded server: reopening reads the folder back like a restart."""
    uri = live_store.uri
    live_store.close()
    reopened = VectorStore(uri, timeout=5)
    try:
        assert reopened.live_version() == 1
        assert reopened.search(catalogue.vectors[4], k=1)[0][0] == int(catalogue.ids[4])
        assert reopened.count("movies_v1") == len(catalogue.ids)
    finally:
        reopened.close()


@lite_only
def test_search_after_restart_loads_the_collection(live_store, catalogue):
    """A collection left unloaded (another version, or a restart) is loaded on the first search."""
    live_store.build_collection(2, catalogue.ids, catalogue.vectors, catalogue.genres, catalogue.years)
    uri = live_store.uri
    live_store.close()
    reopened = VectorStore(uri, timeout=5)
    try:
        assert reopened.search(catalogue.vectors[4], k=1, collection="movies_v2")[0][0] == int(catalogue.ids[4])
    finally:
        reopened.close()


def test_unreachable_server_fails_fast():
    store = VectorStore("http://127.0.0.1:9", timeout=1)
    started = time.monotonic()
    for call in (lambda: store.search(np.ones(4), k=5), store.live_version, store.list_versions):
        with pytest.raises(VectorStoreError, match="127.0.0.1:9"):
            call()
    assert time.monotonic() - started < 5


def test_get_vectors_reads_a_large_id_list_in_chunks(live_store, catalogue, monkeypatch):
    monkeypatch.setattr("recommender.vectorstore.store.INSERT_BATCH", 7)  # 200 ids -> 29 calls, merged
    got = live_store.get_vectors([*catalogue.ids.tolist(), 99_999])
    assert sorted(got) == sorted(catalogue.ids.tolist())  # the unknown id is simply absent
    np.testing.assert_allclose(got[int(catalogue.ids[150])], catalogue.vectors[150], rtol=1e-6)
