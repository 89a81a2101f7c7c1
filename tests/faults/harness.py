"""Fault-injection harness: replica behaviours for the batched and the per-token paths.

Each behaviour turns the honest assignment of a batch into what a faulty replica
proposes. For the batched path a proposal that never arrives (crash, timeout,
exception) is an invalid row (``-1`` ids); NaN logits make a replica's logits row
non-finite. For the per-token path each behaviour is a real callable: it raises,
sleeps past the timeout, returns garbage, or lies.
"""

from __future__ import annotations

import time
from itertools import combinations

import numpy as np

HONEST = "honest"
FAULTS = (
    "crash", "random", "colluding", "equivocating", "slow", "raising", "nan_logits", "bitflip",
)


def truth_and_logits(rng: np.random.Generator, tokens: int, experts: int, k: int):
    """Clean router logits with a clear top-k margin, and the honest sorted top-k."""
    logits = rng.standard_normal((tokens, experts))
    truth = np.stack([np.sort(rng.choice(experts, k, replace=False)) for _ in range(tokens)])
    np.put_along_axis(logits, truth, 10.0 + rng.random((tokens, k)), axis=1)
    return truth, logits


def colluding_set(truth: np.ndarray, experts: int) -> np.ndarray:
    """The one wrong set every colluding replica agrees on (shift every id by one)."""
    return np.sort((truth + 1) % experts, axis=1)


def batch_proposals(behaviour: str, truth: np.ndarray, experts: int, rng: np.random.Generator) -> np.ndarray:
    t, k = truth.shape
    if behaviour == HONEST:
        return truth[:, rng.permutation(k)]  # order inside a set must not matter
    if behaviour in ("crash", "slow", "raising", "nan_logits"):
        return np.full((t, k), -1)  # nothing usable arrived
    if behaviour == "random":
        return rng.integers(0, experts, (t, k))
    if behaviour == "colluding":
        return colluding_set(truth, experts)
    if behaviour == "equivocating":  # a different story per token / observer
        return np.where(rng.random((t, 1)) < 0.5, truth, colluding_set(truth, experts))
    if behaviour == "bitflip":
        flipped = truth.astype(np.int64).copy()
        bit = rng.integers(0, 63, (t, k))
        hit = rng.random((t, k)) < 0.5
        return np.where(hit, flipped ^ (np.int64(1) << bit), flipped)
    raise ValueError(behaviour)


def batch_logits(behaviour: str, logits: np.ndarray, truth: np.ndarray, experts: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Per-replica logits for the logits path (used for honest / nan / colluding / random)."""
    if behaviour == HONEST:
        return logits
    if behaviour == "nan_logits":
        out = logits.copy()
        out[rng.random(logits.shape[0]) < 0.7, 0] = np.nan
        return out
    if behaviour == "colluding":
        out = logits.copy()
        np.put_along_axis(out, colluding_set(truth, experts), 100.0, axis=1)
        return out
    return rng.standard_normal(logits.shape)


def expert_keys(experts: int, k: int) -> list[frozenset[int]]:
    return [frozenset(c) for c in combinations(range(experts), k)]


def replica_callable(behaviour: str, truth: np.ndarray, experts: int, seed: int, timeout: float):
    """A real replica for ``BFTRouter``: ``replica(token_index) -> frozenset of expert ids``."""
    rng = np.random.default_rng(seed)
    calls = {"n": 0}
    wrong = colluding_set(truth, experts)

    def replica(t: int):
        calls["n"] += 1
        if behaviour == HONEST:
            return frozenset(truth[t].tolist())
        if behaviour == "crash":
            raise ConnectionError("replica process is gone")
        if behaviour == "raising":
            raise ValueError("router bug")
        if behaviour == "slow":
            time.sleep(timeout * 4)
            return frozenset(truth[t].tolist())
        if behaviour == "nan_logits":
            return float("nan")
        if behaviour == "random":
            return frozenset(rng.integers(0, experts, truth.shape[1]).tolist())
        if behaviour == "colluding":
            return frozenset(wrong[t].tolist())
        if behaviour == "equivocating":
            return frozenset((truth[t] if calls["n"] % 2 else wrong[t]).tolist())
        if behaviour == "bitflip":
            ids = truth[t].astype(np.int64).copy()
            ids[0] ^= np.int64(1) << int(rng.integers(0, 63))
            return frozenset(ids.tolist())
        raise ValueError(behaviour)

    return replica
