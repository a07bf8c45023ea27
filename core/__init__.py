"""Plumbing every app may use (the bottom layer): errors, caches and limits, process supervision, library noise."""
