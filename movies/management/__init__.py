"""Management commands of the movies app."""
