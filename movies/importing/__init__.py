"""MovieLens importer: read the 1M or 100K layout, validate every line, write it all or nothing."""

from .dataset import Dataset, MovieLensImportError
from .services import ImportSummary, movielens_import

__all__ = ["Dataset", "ImportSummary", "MovieLensImportError", "movielens_import"]
