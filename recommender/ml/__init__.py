"""The Django-free ML package: data arrays, split, metrics, baselines and the Paddle two-tower model."""
