"""MovieLens facts, one definition each and no Django: the genres, the age buckets, the score range.

Read by the models, the importer, the vector store's genre allow-list, the site and the synthetic-data script.
The ML package imports nothing from the project, so its encoder keeps its own age vocabulary and rating levels
(recommender/ml/data.py, encoder.py); tests/movies/test_movielens.py holds them equal to these.
"""

# The 18 genres of MovieLens 1M and 100K, in GroupLens' order (u.genre's, after its "unknown").
GENRES = (
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)

# ML-1M's age buckets: each code is the bucket's lowest age (1 stands for "under 18"), with its label.
AGE_BUCKETS = {1: "Under 18", 18: "18-24", 25: "25-34", 35: "35-44", 45: "45-49", 50: "50-55", 56: "56+"}
AGE_UNKNOWN = 0  # no age given (the ML package's encoder reads it as its unknown bucket too)

# Every score a rating may hold: the CSV MovieLens releases rate in half stars (0.5-5.0), the 1M and 100K releases
# and the site in whole or half stars. Floats hold halves exactly, so the value stored is the value given.
SCORE_MIN, SCORE_MAX, SCORE_STEP = 0.5, 5.0, 0.5
SCORES = tuple(SCORE_STEP * step for step in range(1, int(SCORE_MAX / SCORE_STEP) + 1))  # 0.5, 1.0, ..., 5.0


def age_bucket(age: int) -> int:
    """An exact age in years onto its ML-1M bucket code: 1 (under 18), 18 (18-24), 25, 35, 45 (45-49), 50 (50-55),
    56 (56+); AGE_UNKNOWN for an age of 0 or less. (ML-100K gives exact ages; the importer maps them here.)"""
    if age <= 0:
        return AGE_UNKNOWN
    return max(code for code in AGE_BUCKETS if code <= age)  # 1 <= age: the under-18 bucket at least
