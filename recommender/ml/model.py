"""The trained model as the rest of the site sees it: save/load, movie and user vectors."""

from __future__ import annotations

import json
from contextlib import nullcontext
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
import paddle

from recommender.ml.config import TrainConfig, load_config
from recommender.ml.data import Catalog, Users
from recommender.ml.encoder import FeatureEncoder, MovieFeatures, UserFeatures
from recommender.ml.net import TwoTowerNet

BATCH = 4096  # movies per forward pass
USER_BATCH = 32  # users per forward pass, of similar history length (attention grows with history²)


def to_tensors(features: MovieFeatures | UserFeatures, rows: slice | np.ndarray) -> list[paddle.Tensor]:
    """The feature arrays' selected rows as tensors, in the order the network's methods take them."""
    return [paddle.to_tensor(a[rows]) for a in vars(features).values()]


RETIRED_TRAINING_KEYS = ("refit_epochs",)  # replaced by refit_targets (training in rounds)


class TwoTowerModel:
    """Network + encoder + config. Score(user, movie) = dot product of the two unit vectors (Milvus IP/COSINE)."""

    WEIGHTS, META = "weights.pdparams", "model.json"

    def __init__(self, net: TwoTowerNet, encoder: FeatureEncoder, config: TrainConfig):
        self.net, self.encoder, self.config = net, encoder, config

    @classmethod
    def build(cls, encoder: FeatureEncoder, config: TrainConfig, sparse_user_ids: bool = False) -> TwoTowerModel:
        return cls(TwoTowerNet(encoder.sizes, config, sparse_user_ids), encoder, config)

    @property
    def dim(self) -> int:
        return self.config.out_dim

    def save(self, path: str | Path) -> None:
        """A directory with the weights and one JSON file (config + vocabularies)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        paddle.save(self.net.state_dict(), str(path / self.WEIGHTS))
        meta = {"config": asdict(self.config), "encoder": self.encoder.to_dict()}
        (path / self.META).write_text(json.dumps(meta))

    @classmethod
    def load(cls, path: str | Path) -> TwoTowerModel:
        path = Path(path)
        meta = json.loads((path / cls.META).read_text())
        for key in RETIRED_TRAINING_KEYS:  # training-only settings since renamed: they never shaped the network
            meta["config"].pop(key, None)
        unknown = set(meta["config"]) - {f.name for f in fields(TrainConfig)}
        if unknown:
            raise ValueError(f"{path} was saved by an older model design ({', '.join(sorted(unknown))}): retrain it")
        with cls._dynamic_mode():  # the serving registry loads in a web thread: static mode builds no usable net
            # fields added since the model was saved take their config.toml defaults
            model = cls.build(FeatureEncoder.from_dict(meta["encoder"]), load_config(**meta["config"]))
            model.net.set_state_dict(paddle.load(str(path / cls.WEIGHTS)))
        return model

    @staticmethod
    def _dynamic_mode():
        """Paddle keeps its graph mode per thread, and a new thread starts in the mode of the last switch made by
        any thread: after one paddle.enable_static() every later thread (a gunicorn --threads worker, Django's test
        server) is static and the network fails ("float(Tensor) is not supported in static graph mode"). Work
        outside training enters dynamic mode for the call; a thread already in it (the usual case) is untouched."""
        return nullcontext() if paddle.in_dynamic_mode() else paddle.base.dygraph.guard()

    def _run(self, fn, features, n: int, batch: int = BATCH) -> np.ndarray:
        with self._dynamic_mode(), paddle.no_grad():  # in this order: no_grad acts on the dynamic mode's tracer
            self.net.eval()
            out = np.zeros((n, self.dim), dtype=np.float32)
            for start in range(0, n, batch):
                out[start : start + batch] = fn(*to_tensors(features, slice(start, start + batch))).numpy()
        return out

    def movie_vectors(self, catalog: Catalog, features: MovieFeatures | None = None) -> np.ndarray:
        """float32 [M, dim], unit rows, row i for catalog.movie_ids[i]; unknown ids use the OOV bucket. ``features``:
        the catalogue already encoded by this model's encoder (encoded here when None)."""
        if features is None:
            features = self.encoder.encode_movies(catalog)
        return self._run(self.net.movie_vectors, features, len(catalog))

    def user_vectors(self, users: Users, histories: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """float32 [U, dim], unit rows; histories[i] = (movie ids, ratings) of the user's ratings, oldest first.

        Users go through the network in groups of similar history length, each group trimmed to its own longest
        history: attention costs history², so one heavy user no longer pads a whole batch of light ones."""
        features = self.encoder.encode_users(users, histories)
        lengths = features.history_mask.sum(axis=1).astype(np.int64)
        order = np.argsort(lengths, kind="stable")
        out = np.zeros((len(users), self.dim), dtype=np.float32)
        with self._dynamic_mode(), paddle.no_grad():  # in this order: no_grad acts on the dynamic mode's tracer
            self.net.eval()
            for start in range(0, len(users), USER_BATCH):
                rows = order[start : start + USER_BATCH]
                longest = int(lengths[rows].max(initial=1))  # drop the group's all-padding columns
                group = [a[rows][:, -longest:] if a.ndim == 2 else a[rows] for a in vars(features).values()]
                out[rows] = self.net.user_vectors(*[paddle.to_tensor(a) for a in group]).numpy()
        return out
