"""The demo behind ``openmoe-bft demo``, as a composition of library calls.

A synthetic MoE batch: token embeddings ``X [tokens, d]`` and one router weight
``W [d, experts]``. ``replicas`` router replicas compute the gate; honest ones are
exact copies of the router, ``byzantine`` of them collude — they all propose the
same wrong top-k set (the honest set with its best expert swapped for expert 0 or
the runner-up). Every batch of tokens is settled with :func:`settle_batch`, and
each dispatched set is checked against the clean router's own top-k.

Two scenarios are run by default: ``f`` colluding replicas (everything is
dispatched, to the right experts) and ``f + 1`` (over the fault bound: tokens are
withheld, still nothing goes to a wrong expert).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from .bft.batch import settle_batch
from .bft.quorum import check_node_count, decision_threshold, tolerated_faults
from .errors import InvalidInput

__all__ = ["ScenarioResult", "demo_byzantine_counts", "run_scenario", "run_demo"]


@dataclass(frozen=True)
class ScenarioResult:
    replicas: int
    byzantine: int
    f: int
    threshold: int
    tokens: int
    dispatched: int
    withheld: int
    wrong_dispatches: int
    flagged_replicas: tuple[str, ...]
    byzantine_replicas: tuple[str, ...]
    single_router_wrong: int
    gating_s: float
    consensus_s: float

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.consensus_s if self.consensus_s > 0 else float("inf")

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["flagged_replicas"] = list(self.flagged_replicas)
        d["byzantine_replicas"] = list(self.byzantine_replicas)
        d["tokens_per_s"] = self.tokens_per_s
        return d


def _colluding_set(honest: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """What every Byzantine replica proposes: the honest set with its best expert
    swapped for the worst-scoring one (the "unsafe" expert)."""
    wrong = honest.copy()
    best = np.take_along_axis(logits, honest, axis=1).argmax(axis=1)
    wrong[np.arange(honest.shape[0]), best] = logits.argmin(axis=1)
    return wrong


def run_scenario(
    *,
    tokens: int = 131_072,
    experts: int = 64,
    k: int = 2,
    replicas: int = 7,
    byzantine: int = 2,
    hidden: int = 64,
    batch_size: int = 16_384,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> ScenarioResult:
    """Run one scenario; ``progress(n)`` is called with each settled batch's size."""
    n = check_node_count(replicas, "replicas")
    if not 0 <= byzantine <= n:
        raise InvalidInput(f"expected 0..{n} Byzantine replicas, got {byzantine}", argument="byzantine")
    if not 1 <= k < experts:
        raise InvalidInput(f"expected 1 <= k < experts ({experts}), got {k}", argument="k")
    for name, value in (("tokens", tokens), ("batch_size", batch_size)):
        if value < 1:
            raise InvalidInput(f"expected at least 1, got {value}", argument=name)
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((hidden, experts)).astype(np.float32)
    ids = tuple(f"replica-{i}" for i in range(n))
    byz = set(range(n - byzantine, n))
    done = dispatched = wrong = single_wrong = 0
    flagged: set[str] = set()
    gating_s = consensus_s = 0.0
    while done < tokens:
        b = min(batch_size, tokens - done)
        x = rng.standard_normal((b, hidden)).astype(np.float32)
        t0 = time.perf_counter()
        logits = x @ w
        honest = np.argpartition(logits, experts - k, axis=1)[:, experts - k :]
        gating_s += time.perf_counter() - t0
        colluding = _colluding_set(honest, logits)
        proposals = np.stack([colluding if r in byz else honest for r in range(n)])
        t0 = time.perf_counter()
        s = settle_batch(proposals, num_experts=experts, replica_ids=ids)
        consensus_s += time.perf_counter() - t0
        truth = np.sort(honest, axis=1)
        dispatched += s.num_dispatched
        wrong += int(np.count_nonzero((s.expert_ids != truth).any(axis=1) & s.dispatched))
        single_wrong += b if byz else 0  # a lone router that is compromised misroutes all
        flagged.update(s.flagged_replicas)
        done += b
        if progress is not None:
            progress(b)
    f = tolerated_faults(n)
    return ScenarioResult(
        replicas=n,
        byzantine=byzantine,
        f=f,
        threshold=decision_threshold(n),
        tokens=tokens,
        dispatched=dispatched,
        withheld=tokens - dispatched,
        wrong_dispatches=wrong,
        flagged_replicas=tuple(sorted(flagged)),
        byzantine_replicas=tuple(ids[r] for r in sorted(byz)),
        single_router_wrong=single_wrong,
        gating_s=gating_s,
        consensus_s=consensus_s,
    )


def run_demo(
    *, tokens: int = 131_072, experts: int = 64, k: int = 2, replicas: int = 7, seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> list[ScenarioResult]:
    """The default scenarios, see :func:`demo_byzantine_counts`."""
    return [
        run_scenario(tokens=tokens, experts=experts, k=k, replicas=replicas, byzantine=b,
                     seed=seed, progress=progress)
        for b in demo_byzantine_counts(replicas)
    ]


def demo_byzantine_counts(replicas: int) -> list[int]:
    """How many colluding replicas each demo scenario has: ``f``, then ``f + 1`` (capped at n)."""
    f = tolerated_faults(replicas)
    return sorted({f, min(f + 1, replicas)})
