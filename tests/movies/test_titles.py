import pytest

from movies.titles import display_title, fold, search_key


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("Godfather, The (1972)", "The Godfather"),
        ("Shawshank Redemption, The (1994)", "The Shawshank Redemption"),
        ("Misérables, Les (1995)", "Les Misérables"),
        ("Atalante, L' (1934)", "L'Atalante"),
        ("City of Lost Children, The (Cité des enfants perdus, La) (1995)",
         "The City of Lost Children (La Cité des enfants perdus)"),
        ("Seven (Se7en) (1995)", "Seven (Se7en)"),
        ("Star Wars (1977)", "Star Wars"),
        ("A Chef in Love (1996)", "A Chef in Love"),
        ("Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb (1963)",
         "Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb"),
        ("Paris, Texas (1984)", "Paris, Texas"),  # a comma that is not a moved article stays
        ("Untitled", "Untitled"),
    ],
)  # fmt: skip
def test_display_title_puts_articles_back_and_drops_the_year(stored, shown):
    assert display_title(stored) == shown


def test_search_key_matches_the_stored_and_the_spoken_form():
    assert search_key("Godfather, The (1972)") == search_key("the godfather") == "godfather"
    assert search_key("The Shawshank Redemption") == search_key("Shawshank Redemption, The (1994)")
    assert search_key("les miserables") == search_key("Misérables, Les (1995)") == "miserables"


def test_fold_removes_accents_case_and_punctuation():
    assert fold("Amélie!  Poulain") == "amelie poulain"
    assert fold("L'Atalante") == "latalante"
