"""The importer fills Movie.search_key, updates it with the title and repairs a stale one."""

import pytest

from movies.models import Movie

from .conftest import ML1M, ML100K, rewrite, run_import

pytestmark = pytest.mark.django_db


def keys() -> dict[int, str]:
    return dict(Movie.objects.values_list("id", "search_key"))


def test_ml1m_import_fills_search_keys():
    run_import("--path", str(ML1M))
    assert keys() == {
        1: "harbour lights",
        2: "miserables",  # "Misérables, Les (1995)"
        3: "garcon stupide",  # "Garçon Stupide, The (1998)"
        4: "quiet meridian",
        5: "untitled reel",
    }


def test_ml100k_import_fills_search_keys():
    run_import("--path", str(ML100K))
    assert keys()[2] == "creme brulee"  # "Crème Brûlée (1996)"


def test_a_changed_title_changes_its_search_key(ml1m_dir):
    run_import("--path", str(ml1m_dir))
    rewrite(ml1m_dir / "movies.dat", "Quiet Meridian (1972)", "Quiet Méridien, The (1972)")
    run_import("--path", str(ml1m_dir))
    assert Movie.objects.get(pk=4).search_key == "quiet meridien"


def test_a_rerun_repairs_stale_search_keys():
    run_import("--path", str(ML1M))
    Movie.objects.filter(pk__in=[2, 3]).update(search_key="")
    run_import("--path", str(ML1M))
    assert keys()[2] == "miserables" and keys()[3] == "garcon stupide"
