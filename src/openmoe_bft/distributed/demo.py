"""``openmoe-bft demo --backend ray``: replicas as Ray actors, two of them killed mid-run.

A synthetic MoE stream (token embeddings ``X [batch, d]`` times one router weight
``W [d, experts]``) is settled batch by batch by ``replicas`` replica actors, each
signing its top-k proposals with its own key. Halfway through, ``kill`` actors are
killed with ``ray.kill``. Every dispatched expert set is checked against the clean
router's own top-k (a *wrong dispatch* is one that differs), every round is sealed
into a receipts chain, and throughput is measured before and after the kill.

``backend="inprocess"`` runs the same scenario with in-process replicas (a "killed"
replica's router then raises).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .._arrays import check_positive_int
from ..bft.quorum import check_node_count, decision_threshold, tolerated_faults
from ..errors import InvalidInput
from ..receipts import AuditChain, Ed25519Key
from .backend import InProcessBackend
from .faults import Crashing
from .replicas import TopK, topk_ids
from .router import DistributedRouter

__all__ = ["BACKENDS", "PhaseResult", "RayDemoResult", "render_demo", "run_distributed_demo",
           "run_ray_demo"]

BACKENDS = ("inprocess", "ray")


@dataclass(frozen=True)
class PhaseResult:
    """One phase of the run (before or after the kill)."""

    label: str
    live_replicas: int
    batches: int
    tokens: int
    dispatched: int
    withheld: int
    wrong_dispatches: int
    seconds: float
    abstained: tuple[str, ...]

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["abstained"] = list(self.abstained)
        d["tokens_per_s"] = self.tokens_per_s
        return d


@dataclass(frozen=True)
class RayDemoResult:
    """Outcome of :func:`run_ray_demo` / :func:`run_distributed_demo`."""

    backend: str
    replicas: int
    f: int
    threshold: int
    killed: tuple[str, ...]
    experts: int
    k: int
    batch: int
    before: PhaseResult
    after: PhaseResult
    receipts: int
    chain_ok: bool
    startup_s: float

    @property
    def tokens(self) -> int:
        return self.before.tokens + self.after.tokens

    @property
    def wrong_dispatches(self) -> int:
        return self.before.wrong_dispatches + self.after.wrong_dispatches

    @property
    def ok(self) -> bool:
        """No wrong dispatch and an intact receipts chain."""
        return self.wrong_dispatches == 0 and self.chain_ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend, "replicas": self.replicas, "f": self.f,
            "threshold": self.threshold, "killed": list(self.killed), "experts": self.experts,
            "k": self.k, "batch": self.batch, "tokens": self.tokens,
            "wrong_dispatches": self.wrong_dispatches, "receipts": self.receipts,
            "chain_ok": self.chain_ok, "startup_s": self.startup_s, "ok": self.ok,
            "before": self.before.to_dict(), "after": self.after.to_dict(),
        }


def _phase(router: DistributedRouter, label: str, batches: list[int], w: np.ndarray,
           rng: np.random.Generator, k: int, prefix: str,
           progress: Callable[[int], None] | None) -> PhaseResult:
    tokens = dispatched = wrong = 0
    seconds = 0.0
    abstained: set[str] = set()
    for i, b in enumerate(batches):
        logits = rng.standard_normal((b, w.shape[0]), dtype=np.float32) @ w
        rnd = router.settle(logits, batch_id=f"{prefix}-{i}")
        seconds += rnd.timings["round_s"]
        truth = np.sort(topk_ids(logits, k), axis=1)
        got = np.sort(rnd.expert_ids, axis=1)
        wrong += int(np.count_nonzero((got != truth).any(axis=1) & rnd.dispatched))
        tokens += b
        dispatched += rnd.num_dispatched
        abstained.update(rnd.abstained)
        abstained.update(rnd.rejected)
        if progress is not None:
            progress(b)
    live = router.n - len(abstained)
    return PhaseResult(label, live, len(batches), tokens, dispatched, tokens - dispatched, wrong,
                       seconds, tuple(sorted(abstained)))


def _split(tokens: int, batch: int) -> list[int]:
    sizes = [batch] * (tokens // batch)
    if tokens % batch:
        sizes.append(tokens % batch)
    return sizes


def run_distributed_demo(
    *,
    backend: str = "ray",
    replicas: int = 7,
    kill: int = 2,
    tokens: int = 524_288,
    batch: int = 65_536,
    experts: int = 64,
    k: int = 2,
    hidden: int = 64,
    deadline: float = 5.0,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
    ray_init: dict[str, Any] | None = None,
) -> RayDemoResult:
    """Run the scenario on ``backend`` (``"ray"`` or ``"inprocess"``).

    The first half of the batches runs with every replica, the second after ``kill``
    replicas (the last ones) are killed. ``batch`` is lowered to ``tokens // 2`` when
    needed so each half has a batch. ``deadline``: seconds a round waits for replicas.
    """
    if backend not in BACKENDS:
        raise InvalidInput(f"expected one of {BACKENDS}, got {backend!r}", argument="backend")
    n = check_node_count(replicas, "replicas")
    if not 0 <= kill <= n:
        raise InvalidInput(f"expected 0..{n} replicas to kill, got {kill}", argument="kill")
    tokens = check_positive_int(tokens, "tokens")
    batch = check_positive_int(batch, "batch")
    if not 1 <= k < experts:
        raise InvalidInput(f"expected 1 <= k < experts ({experts}), got {k}", argument="k")
    if tokens < 2:
        raise InvalidInput("need at least 2 tokens (a batch before the kill, one after)",
                           argument="tokens")
    batch = min(batch, tokens // 2)  # at least one batch on each side of the kill
    sizes = _split(tokens, batch)
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((hidden, experts)).astype(np.float32)
    routers = [TopK(k) for _ in range(n)]
    t0 = time.perf_counter()
    if backend == "ray":
        from .ray_backend import RayBackend

        init = {"num_cpus": os.cpu_count() or 1, **(ray_init or {})}
        be: Any = RayBackend(routers, ray_init=init)
        be.wait_ready()
    else:
        be = InProcessBackend(routers)
    startup_s = time.perf_counter() - t0
    chain = AuditChain(signer=Ed25519Key.generate())
    try:
        router = DistributedRouter(be, num_experts=experts, k=k, deadline=deadline, chain=chain)
        warm = np.random.default_rng(seed + 1).standard_normal((batch, hidden), dtype=np.float32)
        for i in range(2):  # first rounds pay for allocations / object-store set-up
            router.settle(warm @ w, batch_id=f"warmup-{i}")
        half = max(1, len(sizes) // 2)
        before = _phase(router, "before", sizes[:half], w, rng, k, "before", progress)
        victims = be.replica_ids[n - kill:]
        for rid in victims:
            if backend == "ray":
                be.kill(rid)
            else:
                be.host(rid).router = Crashing(TopK(k))
        after = _phase(router, "after", sizes[half:], w, rng, k, "after", progress)
        chain_ok = chain.verify().ok
        return RayDemoResult(
            backend=backend, replicas=n, f=tolerated_faults(n), threshold=decision_threshold(n),
            killed=tuple(victims), experts=experts, k=k, batch=batch, before=before, after=after,
            receipts=len(chain), chain_ok=chain_ok, startup_s=startup_s,
        )
    finally:
        be.close()


def run_ray_demo(replicas: int = 7, kill: int = 2, tokens: int = 524_288, batch: int = 65_536,
                 seed: int = 0, progress: Callable[[int], None] | None = None,
                 **kwargs: Any) -> RayDemoResult:
    """The Ray demo: ``replicas`` actors on a local Ray cluster, ``kill`` of them
    killed mid-run with ``ray.kill`` (see the module docstring)."""
    return run_distributed_demo(backend="ray", replicas=replicas, kill=kill, tokens=tokens,
                                batch=batch, seed=seed, progress=progress, **kwargs)


def render_demo(result: RayDemoResult) -> Any:
    """A rich ``Table`` of the result (rich is a core dependency)."""
    from rich.table import Table

    r = result
    table = Table(title=f"openmoe-bft demo ({r.backend} backend): {r.replicas} replicas, "
                        f"{r.experts} experts, top-{r.k}, batches of {r.batch:,}")
    table.add_column("")
    table.add_column("before the kill", justify="right")
    table.add_column(f"after killing {len(r.killed)} (f={r.f})", justify="right")
    rows = [
        ("live replicas", lambda p: f"{p.live_replicas} of {r.replicas}"),
        ("tokens", lambda p: f"{p.tokens:,}"),
        ("dispatched", lambda p: f"{p.dispatched:,}"),
        ("withheld", lambda p: f"{p.withheld:,}"),
        ("wrong dispatches", lambda p: f"[bold {'green' if p.wrong_dispatches == 0 else 'red'}]"
                                       f"{p.wrong_dispatches:,}"),
        ("abstaining", lambda p: ", ".join(p.abstained) or "-"),
        ("throughput", lambda p: f"{p.tokens_per_s / 1e6:,.2f} M tokens/s"),
    ]
    for label, cell in rows:
        table.add_row(label, cell(r.before), cell(r.after))
    table.caption = (f"killed: {', '.join(r.killed) or '-'} · threshold {r.threshold} of "
                     f"{r.replicas} · {r.receipts} rounds sealed, chain "
                     f"{'verified' if r.chain_ok else 'BROKEN'} · start-up {r.startup_s:.1f}s")
    return table
