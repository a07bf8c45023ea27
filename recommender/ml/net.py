"""The two-tower network only: feature embeddings -> MLP -> L2-normalised vectors.

Movie tower: id, genres, title, year -> MLP. User tower: id and demographics, plus a causal self-attention
(SASRec-style) over the ordered history of rated movies with their ratings and positions; the state at each
position becomes a user vector, so one pass trains "what comes next" at every position of a history.
"""

from __future__ import annotations

import paddle
from paddle import nn

from recommender.ml.config import TrainConfig
from recommender.ml.encoder import N_AGES, N_OCCUPATIONS, N_YEARS

NEG_INF = -1e9


class Linear(nn.Linear):
    """nn.Linear with the bias added through a rank-1 product (ones [N, 1] @ bias [1, out]): the same values and
    parameters, but the bias gradient is then a matrix product, where Paddle's CPU backward of a broadcast add
    reduces the rows ~50x slower (measured on [6,400 x 256]: 10.8 ms against 0.14 ms; 64 -> 128 layer, forward
    and backward, 7.9 -> 2.3 ms)."""

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        rows = x.reshape([-1, x.shape[-1]])  # [N, in]
        y = paddle.matmul(rows, self.weight)
        if self.bias is not None:
            y = y + paddle.matmul(paddle.ones([rows.shape[0], 1], dtype=y.dtype), self.bias.unsqueeze(0))
        return y.reshape([*x.shape[:-1], y.shape[-1]])


def use_fast_linear(layer: nn.Layer) -> None:
    """Make every nn.Linear inside ``layer`` (Paddle's attention and feed-forward projections) a Linear above;
    parameters and their names are untouched, so saved models load as before."""
    for sub in layer.sublayers(include_self=True):
        if type(sub) is nn.Linear:
            sub.__class__ = Linear


def tower(in_dim: int, config: TrainConfig) -> nn.Sequential:
    """The MLP both towers share in shape: in -> hidden -> ReLU -> out (normalised by the caller)."""
    return nn.Sequential(Linear(in_dim, config.hidden_dim), nn.ReLU(), Linear(config.hidden_dim, config.out_dim))


def l2_normalise(x: paddle.Tensor) -> paddle.Tensor:
    """x / ||x|| over the last axis; written out because F.normalize's backward is ~10× slower on CPU."""
    return x * paddle.rsqrt((x * x).sum(axis=-1, keepdim=True) + 1e-12)


def weighted_mean(emb: paddle.Tensor, weight: paddle.Tensor) -> paddle.Tensor:
    """Σ_l w_l e_l / Σ_l w_l over axis 1; emb [B, L, d], weight [B, L] -> [B, d] (zeros when all weights are 0)."""
    total = paddle.bmm(weight.unsqueeze(1), emb).squeeze(1)  # [B, 1, L] @ [B, L, d] -> [B, d]; faster than mul+sum
    return total / (weight.sum(axis=1, keepdim=True) + 1e-6)


def causal_mask(mask: paddle.Tensor, heads: int) -> paddle.Tensor:
    """Additive attention mask [B, heads, L, L]: position i sees positions j <= i that are not padding (and itself).
    Expanded to every head once here: adding a [B, 1, L, L] mask to each block's [B, heads, L, L] scores is a
    broadcast add, 5x slower on CPU than the same-shape add."""
    length = mask.shape[1]
    ones = paddle.ones([length, length], dtype="float32")
    allowed = paddle.tril(ones).unsqueeze(0) * mask.unsqueeze(1)  # [B, L, L] keys: earlier and real
    allowed = paddle.maximum(allowed, paddle.eye(length, dtype="float32").unsqueeze(0))  # padding rows see themselves
    additive = ((1.0 - allowed) * NEG_INF).unsqueeze(1)
    return paddle.expand(additive, [additive.shape[0], heads, length, length])


class TwoTowerNet(nn.Layer):
    def __init__(self, sizes: dict, config: TrainConfig, sparse_user_ids: bool = False):
        super().__init__()
        c = config
        self.config = c
        # movie tower inputs
        self.movie_id = nn.Embedding(sizes["movies"], c.id_dim)
        self.genre = nn.Linear(max(sizes["genres"], 1), c.genre_dim, bias_attr=False)  # = mean of genre embeddings
        self.title = nn.Embedding(sizes["tokens"], c.title_dim)
        self.year = nn.Embedding(N_YEARS, c.year_dim)
        self.movie_mlp = tower(c.id_dim + c.genre_dim + c.title_dim + c.year_dim, c)
        # user tower inputs
        self.user_id = nn.Embedding(sizes["users"], c.id_dim, sparse=sparse_user_ids) if c.use_user_id else None
        self.gender = nn.Embedding(3, c.demographic_dim)
        self.age = nn.Embedding(N_AGES, c.demographic_dim)
        self.occupation = nn.Embedding(N_OCCUPATIONS, c.demographic_dim)
        d = c.history_dim
        self.history = nn.Embedding(sizes["movies"] + 1, d)  # movie indices, then the start token
        self.history_rating = nn.Embedding(sizes["ratings"], d)  # 0 = start token, then encoder.rating_index
        self.position = nn.Embedding(c.max_history, d)
        layer = nn.TransformerEncoderLayer(  # dropout on the residual branches only: on CPU, dropout over the
            d, c.attention_heads, 2 * d, dropout=c.dropout, activation="gelu", normalize_before=True,  # [B, h, L, L]
            attn_dropout=0.0, act_dropout=0.0,  # attention weights cost ~20% of a training step
        )  # fmt: skip
        self.attention = nn.TransformerEncoder(layer, c.attention_blocks, norm=nn.LayerNorm(d))
        use_fast_linear(self.attention)
        self.history_dropout = nn.Dropout(c.dropout)
        user_in = (c.id_dim if c.use_user_id else 0) + 3 * c.demographic_dim + d
        self.user_mlp = tower(user_in, c)

    def encode_title(self, title: paddle.Tensor) -> paddle.Tensor:
        """title [B, T] token ids (0 = padding) -> [B, title_dim]."""
        mask = (title > 0).astype("float32")  # [B, T]
        return weighted_mean(self.title(title), mask)  # [B, T, d] -> [B, d]

    def movie_vectors(self, index, genres, title, year) -> paddle.Tensor:
        """index [B], genres [B, G], title [B, T], year [B] -> [B, out_dim] unit vectors."""
        x = paddle.concat([self.movie_id(index), self.genre(genres), self.encode_title(title), self.year(year)], axis=1)
        return l2_normalise(self.movie_mlp(x))  # [B, D]

    def history_states(self, history, history_rating, history_mask) -> paddle.Tensor:
        """history/history_rating/history_mask [B, L] -> [B, L, history_dim]: state l has read positions <= l."""
        length, window = history.shape[1], self.config.max_history  # a batch may be trimmed to its longest row
        positions = paddle.arange(window - length, window, dtype="int64").unsqueeze(0)  # [1, L]; last = newest
        x = self.history(history) * self.config.history_dim**0.5 + self.history_rating(history_rating)
        x = self.history_dropout(x + self.position(positions)) * history_mask.unsqueeze(-1)  # [B, L, d]
        return self.attention(x, src_mask=causal_mask(history_mask, self.config.attention_heads))

    def static_features(self, index, gender, age, occupation) -> paddle.Tensor:
        """User id (if used) and demographics [B] each -> [B, s]."""
        parts = [self.gender(gender), self.age(age), self.occupation(occupation)]
        if self.user_id is not None:
            parts.insert(0, self.user_id(index))
        return paddle.concat(parts, axis=1)

    def user_head(self, static: paddle.Tensor, states: paddle.Tensor) -> paddle.Tensor:
        """static [N, s], history states [N, d] -> [N, out_dim] unit vectors."""
        return l2_normalise(self.user_mlp(paddle.concat([static, states], axis=1)))

    def user_vectors(self, index, gender, age, occupation, history, history_rating, history_mask) -> paddle.Tensor:
        """The user now, read at the last (newest) history position -> [B, out_dim] unit vectors."""
        states = self.history_states(history, history_rating, history_mask)[:, -1]  # [B, d]
        return self.user_head(self.static_features(index, gender, age, occupation), states)
