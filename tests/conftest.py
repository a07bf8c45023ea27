"""Shared fixtures: small hand-written MovieLens-shaped data (never real MovieLens files)."""
