"""The two-tower network only: feature embeddings -> MLP -> L2-normalised vectors (both towers from one helper)."""

from __future__ import annotations

import paddle
import paddle.nn.functional as F
from paddle import nn

from recommender.ml.config import TrainConfig
from recommender.ml.encoder import N_AGES, N_OCCUPATIONS, N_YEARS


def tower(in_dim: int, config: TrainConfig) -> nn.Sequential:
    """The MLP both towers share in shape: in -> hidden -> ReLU -> out (normalised by the caller)."""
    return nn.Sequential(nn.Linear(in_dim, config.hidden_dim), nn.ReLU(), nn.Linear(config.hidden_dim, config.out_dim))


def l2_normalise(x: paddle.Tensor) -> paddle.Tensor:
    """x / ||x|| row-wise, [B, D] -> [B, D]; written out because F.normalize's backward is ~10× slower on CPU."""
    return x * paddle.rsqrt((x * x).sum(axis=1, keepdim=True) + 1e-12)


def weighted_mean(emb: paddle.Tensor, weight: paddle.Tensor) -> paddle.Tensor:
    """Σ_l w_l e_l / Σ_l w_l over axis 1; emb [B, L, d], weight [B, L] -> [B, d] (zeros when all weights are 0)."""
    total = paddle.bmm(weight.unsqueeze(1), emb).squeeze(1)  # [B, 1, L] @ [B, L, d] -> [B, d]; faster than mul+sum
    return total / (weight.sum(axis=1, keepdim=True) + 1e-6)


class TwoTowerNet(nn.Layer):
    def __init__(self, sizes: dict, config: TrainConfig):
        super().__init__()
        c = config
        self.config = c
        # movie tower inputs
        self.movie_id = nn.Embedding(sizes["movies"], c.id_dim)
        self.genre = nn.Linear(max(sizes["genres"], 1), c.genre_dim, bias_attr=False)  # = mean of genre embeddings
        self.title = nn.Embedding(sizes["tokens"], c.title_dim)
        if c.title_encoder == "cnn":
            self.title_conv = nn.Conv1D(c.title_dim, c.title_dim, kernel_size=3, padding=1)
        self.year = nn.Embedding(N_YEARS, c.year_dim)
        self.movie_mlp = tower(c.id_dim + c.genre_dim + c.title_dim + c.year_dim, c)
        # user tower inputs
        self.user_id = nn.Embedding(sizes["users"], c.id_dim)
        self.gender = nn.Embedding(3, c.demographic_dim)
        self.age = nn.Embedding(N_AGES, c.demographic_dim)
        self.occupation = nn.Embedding(N_OCCUPATIONS, c.demographic_dim)
        history_dim = c.history_dim if c.use_history else 0
        if c.use_history:
            self.history = nn.Embedding(sizes["movies"], c.history_dim)
        self.user_mlp = tower(c.id_dim + 3 * c.demographic_dim + history_dim, c)
        # optional rating head: r̂ = b + Σ_k w_k u_k m_k (a weighted dot product of the two vectors)
        self.rating_w = self.create_parameter([c.out_dim], default_initializer=nn.initializer.Constant(1.0))
        self.rating_b = self.create_parameter([1], default_initializer=nn.initializer.Constant(3.5))

    def encode_title(self, title: paddle.Tensor) -> paddle.Tensor:
        """title [B, T] token ids (0 = padding) -> [B, title_dim]."""
        mask = (title > 0).astype("float32")  # [B, T]
        emb = self.title(title)  # [B, T, d]
        if self.config.title_encoder == "mean":
            return weighted_mean(emb, mask)
        conv = F.relu(self.title_conv(emb.transpose([0, 2, 1])))  # [B, d, T]
        conv = conv * mask.unsqueeze(1)  # padding positions -> 0 (ReLU output is >= 0 anyway)
        return F.adaptive_max_pool1d(conv, 1).squeeze(-1)  # [B, d]; much faster backward than Tensor.max

    def movie_vectors(self, index, genres, title, year) -> paddle.Tensor:
        """index [B], genres [B, G], title [B, T], year [B] -> [B, out_dim] unit vectors."""
        x = paddle.concat([self.movie_id(index), self.genre(genres), self.encode_title(title), self.year(year)], axis=1)
        return l2_normalise(self.movie_mlp(x))  # [B, D]

    def user_vectors(self, index, gender, age, occupation, history, history_weight) -> paddle.Tensor:
        """index/gender/age/occupation [B], history [B, L], history_weight [B, L] -> [B, out_dim] unit vectors."""
        parts = [self.user_id(index), self.gender(gender), self.age(age), self.occupation(occupation)]
        if self.config.use_history:
            parts.append(weighted_mean(self.history(history), history_weight))  # [B, history_dim]
        return l2_normalise(self.user_mlp(paddle.concat(parts, axis=1)))  # [B, D]

    def predicted_ratings(self, users: paddle.Tensor, movies: paddle.Tensor) -> paddle.Tensor:
        """Rating head on all pairs: users [U, D], movies [M, D] -> [U, M]."""
        if self.config.objective == "mse":
            return 5.0 * users @ movies.T  # the seeds' recipe: the score itself is the predicted rating
        return (users * self.rating_w) @ movies.T + self.rating_b
