"""Tests of the website: pages, rating endpoint, accounts, admin."""
