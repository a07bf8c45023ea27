"""Site views (thin interfaces over movies/recommender services and selectors), split by page family."""
