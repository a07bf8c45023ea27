"""The trained model as the rest of the site sees it: save/load, movie and user vectors, predicted ratings."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import paddle

from recommender.ml.config import TrainConfig
from recommender.ml.data import Catalog, Users
from recommender.ml.encoder import FeatureEncoder, MovieFeatures, UserFeatures
from recommender.ml.net import TwoTowerNet

BATCH = 4096


def to_tensors(features: MovieFeatures | UserFeatures, rows: slice | np.ndarray) -> list[paddle.Tensor]:
    """The feature arrays' selected rows as tensors, in the order the network's methods take them."""
    return [paddle.to_tensor(a[rows]) for a in vars(features).values()]


class TwoTowerModel:
    """Network + encoder + config. Score(user, movie) = dot product of the two unit vectors (Milvus IP/COSINE)."""

    WEIGHTS, META = "weights.pdparams", "model.json"

    def __init__(self, net: TwoTowerNet, encoder: FeatureEncoder, config: TrainConfig):
        self.net, self.encoder, self.config = net, encoder, config

    @classmethod
    def build(cls, encoder: FeatureEncoder, config: TrainConfig) -> TwoTowerModel:
        return cls(TwoTowerNet(encoder.sizes, config), encoder, config)

    @property
    def dim(self) -> int:
        return self.config.out_dim

    @property
    def has_rating_head(self) -> bool:
        return self.config.objective == "mse" or self.config.rating_weight > 0

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
        model = cls.build(FeatureEncoder.from_dict(meta["encoder"]), TrainConfig(**meta["config"]))
        model.net.set_state_dict(paddle.load(str(path / cls.WEIGHTS)))
        return model

    @paddle.no_grad()
    def _run(self, fn, features, n: int) -> np.ndarray:
        self.net.eval()
        out = np.zeros((n, self.dim), dtype=np.float32)
        for start in range(0, n, BATCH):
            out[start : start + BATCH] = fn(*to_tensors(features, slice(start, start + BATCH))).numpy()
        return out

    def movie_vectors(self, catalog: Catalog) -> np.ndarray:
        """float32 [M, dim], unit rows, row i for catalog.movie_ids[i]; unknown ids use the OOV bucket."""
        return self._run(self.net.movie_vectors, self.encoder.encode_movies(catalog), len(catalog))

    def user_vectors(self, users: Users, histories: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """float32 [U, dim], unit rows; histories[i] = (movie ids, ratings) of the user's ratings, oldest first."""
        return self._run(self.net.user_vectors, self.encoder.encode_users(users, histories), len(users))

    @paddle.no_grad()
    def predicted_ratings(self, user_vecs: np.ndarray, movie_vecs: np.ndarray) -> np.ndarray | None:
        """float32 [U, M] predicted ratings (clipped to 1..5) from the vectors, or None without a rating head."""
        if not self.has_rating_head:
            return None
        pred = self.net.predicted_ratings(paddle.to_tensor(user_vecs), paddle.to_tensor(movie_vecs))
        return np.clip(pred.numpy(), 1.0, 5.0)
