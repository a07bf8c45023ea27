"""Signals other apps subscribe to (the recommender refreshes a user's suggestions on rating_changed)."""

from django.dispatch import Signal

# Sent after the transaction that changed a rating commits; kwargs: user_id, movie_id.
rating_changed = Signal()
