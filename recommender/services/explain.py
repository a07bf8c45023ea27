"""Serving, step 5 (the order: services/recommendations.py): explain, "Because you rated X".

For each pick, the rated movie closest to it in vector space. Worked out once for the cached pool when the user's
state is computed (a heavy user's ~2,000 liked movies made it the costliest step of a request) and kept with it;
a request works it out only for picks from its own search.
"""

from recommender.serving import LiveModel

REASONS_FROM = 500  # "Because you rated X": X among the user's most recent liked movies


def because(live: LiveModel, picks: list[int], history: tuple[list[int], list[int]]) -> dict[int, int]:
    """For each pick, the rated movie closest to it in vector space (preferring movies rated 4-5, among the
    REASONS_FROM most recent: a heavy user's whole history would cost a [200 x 2,000] product per state)."""
    rated_ids, scores = history
    liked = [m for m, s in zip(rated_ids, scores, strict=True) if s >= 4] or list(rated_ids)
    liked = [m for m in liked[-REASONS_FROM:] if m in live.row_of]
    known = [m for m in picks if m in live.row_of]
    if not liked or not known:
        return {}
    sims = live.vectors_for(known) @ live.vectors_for(liked).T  # [P, L]
    return {pick: liked[int(j)] for pick, j in zip(known, sims.argmax(axis=1), strict=True)}


def explain(live: LiveModel, state, picks: list[int]) -> dict[int, int]:
    """The "because" movie of each pick for the user of ``state`` (services/user_state.UserState): the pool's,
    worked out with the state, and for picks from a filtered search, worked out here."""
    found = {m: state.pool_because[m] for m in picks if m in state.pool_because}
    rest = [m for m in picks if m not in found]
    return found | (because(live, rest, state.history) if rest else {})
