"""The Milvus defaults, one definition each: the defaults of the MILVUS_* settings (recsite/settings/base.py) and
of VectorStore and CircuitBreaker used alone (tests, benchmarks). Plain values outside the vectorstore package, so
the settings read them without importing numpy or pymilvus."""

ALIAS = "movies_live"  # the alias that serves
COLLECTION_PREFIX = "movies_v"  # one collection per version: movies_v1, movies_v2, ...
TIMEOUT = 10.0  # seconds, the deadline of each Milvus call
INDEX_TYPE = "HNSW"  # or IVF_FLAT or FLAT (vectorstore/schema.py INDEX_TYPES)
SEARCH_EF = 0  # HNSW search beam floor; 0 = max(64, 2 x results)
BREAKER_FAILURES = 3  # a Milvus server failing this many calls in a row (or one timeout) is skipped...
BREAKER_SECONDS = 5.0  # ...for this long, then probed
