"""The Django-free ML package: data arrays, split, metrics, baselines and the Paddle two-tower model."""

from recommender.ml.cpu import tune_math_library

tune_math_library()  # before any Paddle matrix product in this process (and the processes it starts)
