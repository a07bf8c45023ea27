"""Recommender services: dataset export, training pipeline, vectors, recommendations."""
