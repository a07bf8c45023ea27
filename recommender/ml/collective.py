"""The collective steps one data-parallel training process takes (Paddle's collective API; gloo on CPU). In one
process every step is the identity, so the training loop (train.py) calls them unconditionally; distributed.py
launches the processes that run that same loop.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import paddle
import paddle.distributed as dist


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def to_launch(processes: int) -> bool:
    """True where ``processes`` training processes are asked for and this process is not one of that many launched
    ones: distributed.train / refit launch them, train.train / refit refuse to run here."""
    return processes > world_size()


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def prepare(net, seed: int) -> None:
    """Every process starts from rank 0's weights, then draws its own dropout masks."""
    if world_size() > 1:
        dist.parallel.sync_params_buffers(net)
        paddle.seed(seed + rank())


def per_rank(rng: np.random.Generator) -> np.random.Generator:
    """The epoch's generator (same state in every process) -> this process's own stream for the batches' draws."""
    if world_size() == 1:
        return rng
    return np.random.default_rng([*rng.integers(2**32, size=2).tolist(), rank()])


def shard(plan, rows: np.ndarray) -> tuple[np.ndarray, float]:
    """This process's windows of a batch (every world_size-th, the batch being sorted by length) and their share
    of the batch's targets (1.0 in one process). A process left without a window trains one with weight 0."""
    n = world_size()
    if n == 1:
        return rows, 1.0
    targets = (plan.windows["target"][rows] >= 0).sum(axis=1)
    mine = slice(rank(), None, n)
    if len(rows[mine]) == 0:
        return rows[:1], 0.0
    return rows[mine], float(targets[mine].sum() / max(targets.sum(), 1))


def sum_gradients(net, loss: float) -> float:
    """All-reduce (sum) every gradient and the weighted loss in one call; the batch's loss over every process."""
    if world_size() == 1:
        return loss
    grads = [p.grad for p in net.parameters()]
    flat = paddle.concat([g.reshape([-1]) for g in grads] + [paddle.to_tensor([loss], dtype=grads[0].dtype)])
    dist.all_reduce(flat)
    for g, part in zip(grads, paddle.split(flat[:-1], [g.size for g in grads]), strict=True):
        paddle.assign(part.reshape(g.shape), output=g)
    return float(flat[-1])


def from_rank0(compute: Callable[[], float]) -> float:
    """compute() on rank 0, its value broadcast to every process (the other ranks wait, idle)."""
    if world_size() == 1:
        return compute()
    value = paddle.to_tensor([compute() if rank() == 0 else 0.0], dtype="float64")
    dist.broadcast(value, src=0)
    return float(value[0])
