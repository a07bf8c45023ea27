"""Tests of the movies app: the MovieLens importer and the model constraints."""
