"""Search beams: by the number of results, with MILVUS_SEARCH_EF as a floor for large catalogues."""

from recommender.vectorstore import VectorStore
from recommender.vectorstore.schema import search_params


def test_hnsw_beam_grows_with_the_results_and_the_filter_retry():
    assert [search_params("HNSW", 50, beam=b)["params"]["ef"] for b in (0, 1, 2)] == [100, 512, 4096]
    assert search_params("HNSW", 10)["params"]["ef"] == 64


def test_the_ef_floor_raises_every_beam_below_it_and_no_other():
    assert [search_params("HNSW", 50, beam=b, ef=1024)["params"]["ef"] for b in (0, 1, 2)] == [1024, 1024, 4096]
    assert search_params("IVF_FLAT", 50, ef=1024) == {"params": {"nprobe": 32}} and search_params("FLAT", 5) == {}


def test_the_store_keeps_a_non_negative_floor(tmp_path):
    store = VectorStore(str(tmp_path / "ef.db"), search_ef=-3)
    assert store.search_ef == 0  # a negative floor means none
    assert VectorStore(str(tmp_path / "ef2.db"), search_ef=800).search_ef == 800
