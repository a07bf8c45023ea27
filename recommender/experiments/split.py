"""Which arm a user is in: a stable hash, the same in every process and after restarts (sha256, not hash())."""

import hashlib

CONTROL, CANDIDATE = "control", "candidate"


def bucket(experiment_id: int, user_id: int) -> float:
    """A number in [0, 1), uniform over users, fixed for (experiment, user)."""
    digest = hashlib.sha256(f"experiment:{experiment_id}:user:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def arm_of(experiment_id: int, user_id: int, share: float) -> str:
    """CANDIDATE for about ``share`` of users, CONTROL for the rest."""
    return CANDIDATE if bucket(experiment_id, user_id) < share else CONTROL
