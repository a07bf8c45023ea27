"""The REST API under /api/: one single-operation API class per endpoint and method (see urls.py)."""
