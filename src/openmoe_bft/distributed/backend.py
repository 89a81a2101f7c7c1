"""Replica backends: where the replicas run. One protocol, two implementations.

* :class:`InProcessBackend` (default) — the replicas are hosts in this process.
* :class:`~openmoe_bft.distributed.ray_backend.RayBackend` — one Ray actor per
  replica, on this machine or across a cluster (extra ``[ray]``).

A backend asks every replica for its signed proposal for one batch and returns one
:class:`Reply` per replica within the round's deadline; it never verifies, counts or
decides anything — :class:`~openmoe_bft.distributed.router.DistributedRouter` does,
the same way for every backend.
"""

from __future__ import annotations

import concurrent.futures as cf
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ..errors import InvalidInput, InvalidType
from ..receipts.signing import Ed25519Key, Ed25519PublicKey
from .replicas import ReplicaHost, Tamper

__all__ = ["InProcessBackend", "Reply", "ReplicaBackend", "normalise_replicas"]


@dataclass(frozen=True)
class Reply:
    """What one replica sent for one round: a (not yet verified) ``proposal``, or the
    ``failure`` that stands for it (crashed, missed the deadline, actor dead, ...)."""

    replica_id: str
    proposal: Any = None
    failure: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"replica_id": self.replica_id, "failure": self.failure,
                "proposal": None if self.proposal is None else type(self.proposal).__name__}


@runtime_checkable
class ReplicaBackend(Protocol):
    """Runs the replicas. ``propose`` returns one :class:`Reply` per replica, in
    ``replica_ids`` order, no later than about ``deadline`` seconds after it was called
    (``None``: wait for every replica)."""

    @property
    def replica_ids(self) -> tuple[str, ...]: ...

    def public_keys(self) -> dict[str, Ed25519PublicKey]: ...

    def propose(self, batch_id: str, inputs: Any, *, deadline: float | None) -> list[Reply]: ...

    def close(self) -> None: ...


def normalise_replicas(
    routers: Any, keys: Any, tampers: Mapping[str, Tamper] | None
) -> list[tuple[str, Callable[[Any], Any], Ed25519Key, Tamper | None]]:
    """``(id, router, key, tamper)`` per replica from the arguments both backends take.

    ``routers``: a list of callables (ids ``replica-0``, ...) or a dict id → callable.
    ``keys``: None (a fresh Ed25519 key per replica), a list, or a dict id → key (an
    :class:`Ed25519Key` or a 32-byte seed). ``tampers``: id → tamper hook.
    """
    if isinstance(routers, Mapping):
        pairs = list(routers.items())
    elif isinstance(routers, Sequence) and not isinstance(routers, (str, bytes)):
        pairs = [(f"replica-{i}", fn) for i, fn in enumerate(routers)]
    else:
        raise InvalidType("routers: expected a list of callables or a dict id -> callable",
                          argument="routers")
    if not pairs:
        raise InvalidInput("need at least one replica", argument="routers")
    ids = [rid for rid, _ in pairs]
    if len(set(ids)) != len(ids):
        raise InvalidInput(f"duplicate replica ids in {ids}", argument="routers")
    for rid, fn in pairs:
        if not isinstance(rid, str) or not rid:
            raise InvalidType(f"replica ids are non-empty str, got {rid!r}", argument="routers")
        if not callable(fn):
            raise InvalidType(f"replica {rid!r} is a {type(fn).__name__}, not a callable",
                              argument="routers")
    if keys is None:
        key_list = [Ed25519Key.generate() for _ in pairs]
    elif isinstance(keys, Mapping):
        missing = [rid for rid in ids if rid not in keys]
        if missing:
            raise InvalidInput(f"no key for replicas {missing}", argument="keys")
        key_list = [keys[rid] for rid in ids]
    else:
        key_list = list(keys)
        if len(key_list) != len(pairs):
            raise InvalidInput(f"{len(key_list)} keys for {len(pairs)} replicas", argument="keys")
    key_list = [k if isinstance(k, Ed25519Key) else Ed25519Key.from_raw(k) for k in key_list]
    if len({k.key_id for k in key_list}) != len(key_list):
        raise InvalidInput("two replicas share a key: each needs its own", argument="keys")
    tampers = dict(tampers or {})
    unknown = sorted(set(tampers) - set(ids))
    if unknown:
        raise InvalidInput(f"tampers name unknown replicas {unknown}", argument="tampers")
    return [(rid, fn, key, tampers.get(rid)) for (rid, fn), key in zip(pairs, key_list, strict=True)]


def check_deadline(deadline: Any) -> float | None:
    if deadline is None:
        return None
    if isinstance(deadline, bool) or not isinstance(deadline, (int, float)) or not deadline > 0:
        raise InvalidInput(f"expected seconds > 0 or None, got {deadline!r}", argument="deadline")
    return float(deadline)


def _short(exc: BaseException, limit: int = 120) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class InProcessBackend:
    """Replicas as hosts in this process (the default backend).

    With ``deadline=None`` the replicas run one after another in the calling thread;
    with a deadline each runs on a worker thread, and one that has not answered in time
    abstains (a replica still stuck in an earlier call abstains until it returns, so a
    hung replica holds at most one thread). Independence is limited: one process, one
    interpreter — use :class:`~openmoe_bft.distributed.ray_backend.RayBackend` to put
    replicas on other processes and machines.
    """

    def __init__(self, routers: Any, keys: Any = None, *,
                 tampers: Mapping[str, Tamper] | None = None) -> None:
        self._hosts = [ReplicaHost(rid, fn, key, tamper)
                       for rid, fn, key, tamper in normalise_replicas(routers, keys, tampers)]
        self._pool: cf.ThreadPoolExecutor | None = None
        self._busy: dict[str, cf.Future[Any]] = {}
        self._lock = threading.Lock()

    @property
    def replica_ids(self) -> tuple[str, ...]:
        return tuple(h.replica_id for h in self._hosts)

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        return {h.replica_id: h.key.public_key for h in self._hosts}

    def host(self, replica_id: str) -> ReplicaHost:
        """The host running ``replica_id`` (to swap its router, e.g. in a drill)."""
        for h in self._hosts:
            if h.replica_id == replica_id:
                return h
        raise InvalidInput(f"no replica {replica_id!r}; replicas are {list(self.replica_ids)}",
                           argument="replica_id")

    def set_router(self, replica_id: str, router: Callable[[Any], Any],
                   tamper: Tamper | None = None) -> None:
        """Give ``replica_id`` a new router (and tamper hook); it keeps its key."""
        self.host(replica_id).configure(router, tamper)

    def ask(self, replica_id: str, batch_id: str, inputs: Any) -> Any:
        """One replica's signed proposal for ``batch_id`` (unverified); raises what it raises."""
        return self.host(replica_id).propose(batch_id, inputs)

    def propose(self, batch_id: str, inputs: Any, *, deadline: float | None = None) -> list[Reply]:
        deadline = check_deadline(deadline)
        if deadline is None:
            out = []
            for h in self._hosts:
                try:
                    out.append(Reply(h.replica_id, proposal=h.propose(batch_id, inputs)))
                except Exception as exc:
                    out.append(Reply(h.replica_id, failure=f"raised {_short(exc)}"))
            return out
        with self._lock:
            if self._pool is None:
                self._pool = cf.ThreadPoolExecutor(max_workers=2 * len(self._hosts) + 2,
                                                   thread_name_prefix="openmoe-bft-replica")
        futures: dict[str, cf.Future[Any]] = {}
        busy: dict[str, str] = {}
        for h in self._hosts:
            prev = self._busy.get(h.replica_id)
            if prev is not None and not prev.done():
                busy[h.replica_id] = "still busy with an earlier batch that missed its deadline"
                continue
            futures[h.replica_id] = self._pool.submit(h.propose, batch_id, inputs)
        t_end = time.monotonic() + deadline
        cf.wait(futures.values(), timeout=max(0.0, t_end - time.monotonic()))
        out = []
        for h in self._hosts:
            rid = h.replica_id
            if rid in busy:
                out.append(Reply(rid, failure=busy[rid]))
                continue
            fut = futures[rid]
            if not fut.done():
                self._busy[rid] = fut
                out.append(Reply(rid, failure=f"missed the {deadline:g}s deadline"))
            elif fut.exception() is not None:
                out.append(Reply(rid, failure=f"raised {_short(fut.exception())}"))  # type: ignore[arg-type]
            else:
                out.append(Reply(rid, proposal=fut.result()))
        return out

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

    def __enter__(self) -> InProcessBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"InProcessBackend(replicas={len(self._hosts)})"
