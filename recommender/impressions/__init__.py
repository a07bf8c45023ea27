"""What users were shown and what they did next (issue #25): impressions, clicks, attribution, online figures.

- models.py: Impression (one list shown), ImpressionItem (its movies, in order), ImpressionClick.
- services.py: impressions_record (the one function the interfaces call), click_record, impressions_cleanup.
- selectors.py: attribution at read time (ratings / "not interested" / clicks -> the latest impression that showed
  the movie to the user within ATTRIBUTION_WINDOW_DAYS) and the online figures per model version and surface.
- stats.py: the Wilson score interval (pure).
"""
