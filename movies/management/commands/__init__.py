"""movies management commands (import_movielens)."""
