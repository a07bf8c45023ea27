"""Tests of recommender.vectorstore against real Milvus Lite."""
