"""rating_changed: sent after the transaction that changed a rating commits; kwargs: user_id, movie_id.

Nothing listens to it, and the recommender needs no receiver: it caches nothing per user and reads the user's ratings
on every request (recommender/services/recommendations.py), so a saved rating shapes the very next answer in any
process. It is a hook only: connect a receiver if some later feature must react to a rating (a per-user cache).
"""

from django.dispatch import Signal

rating_changed = Signal()
