"""``RayBackend``: one Ray actor per replica (extra ``[ray]``).

Each actor is a :class:`~openmoe_bft.distributed.replicas.ReplicaHost` holding its
own router and Ed25519 key, in its own worker process — on this machine or any node of
the cluster. A round puts the batch's input into Ray's object store once (numpy arrays
are read zero-copy by actors on the same node), calls every actor, and waits with
``ray.wait(..., timeout=deadline)``:

* an actor that has not answered by the deadline abstains; it is not asked again
  while that call is still running (its queue cannot grow), and its late answer is
  dropped;
* a killed or crashed actor (``RayActorError``) abstains;
* an actor that comes back — restarted by Ray (``max_restarts``) or by
  :meth:`RayBackend.revive` with the same key — rejoins at the next round.

Ray is imported when a ``RayBackend`` is built, never when this module is imported.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidInput, MissingDependency
from ..receipts.signing import Ed25519PublicKey
from .backend import Reply, check_deadline, normalise_replicas
from .replicas import ReplicaHost, Tamper

__all__ = ["RayBackend", "import_ray"]

_DEFAULT_INIT = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}


def import_ray() -> Any:
    """``import ray``, or :class:`MissingDependency` saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise MissingDependency(
            "Ray is not installed: pip install 'openmoe-bft[ray]' to run replicas as Ray actors"
        ) from exc
    return ray


class RayBackend:
    """Replicas as Ray actors.

    Parameters
    ----------
    routers:
        Replica routers (picklable callables), a list or a dict id → router.
    keys:
        One Ed25519 key (or 32-byte seed) per replica, or None for fresh ones. The
        seed is handed to the actor at creation (and kept by Ray for restarts); the
        driver keeps only the public keys for verification.
    tampers:
        Replica id → tamper hook (fault injection, see :mod:`.faults`).
    max_restarts:
        Ray restarts a killed or crashed actor this many times (``-1``: forever);
        a restarted actor rejoins with the same key. Default 0.
    actor_options:
        Extra ``.options(...)`` for every actor. Actors take ``num_cpus=0`` by default so
        many fit on a small machine. On a cluster (``ray.init(address="auto")`` before
        building the backend), ``{"scheduling_strategy": "SPREAD"}`` puts replicas on
        different nodes — what makes their failures independent.
    ray_init:
        Keyword arguments for ``ray.init`` when Ray is not running yet (default: a
        local cluster on this machine, no dashboard). The backend then shuts Ray down
        on :meth:`close`.
    """

    def __init__(
        self,
        routers: Any,
        keys: Any = None,
        *,
        tampers: Mapping[str, Tamper] | None = None,
        max_restarts: int = 0,
        actor_options: Mapping[str, Any] | None = None,
        ray_init: Mapping[str, Any] | None = None,
    ) -> None:
        ray = import_ray()
        self._ray = ray
        specs = normalise_replicas(routers, keys, tampers)
        self._owns_ray = False
        if not ray.is_initialized():
            ray.init(**{**_DEFAULT_INIT, **dict(ray_init or {})})
            self._owns_ray = True
        opts = {"num_cpus": 0, "max_restarts": max_restarts, "max_task_retries": 0}
        opts.update(actor_options or {})
        self._actor_cls = ray.remote(ReplicaHost).options(**opts)
        self._specs = {rid: (fn, key, tamper) for rid, fn, key, tamper in specs}
        self._ids = tuple(rid for rid, *_ in specs)
        self._pub = {rid: key.public_key for rid, _, key, _ in specs}
        self._actors: dict[str, Any] = {rid: self._spawn(rid) for rid in self._ids}
        self._busy: dict[str, Any] = {}
        self._closed = False

    def _spawn(self, rid: str) -> Any:
        fn, key, tamper = self._specs[rid]
        return self._actor_cls.remote(rid, fn, key.raw, tamper)

    @property
    def replica_ids(self) -> tuple[str, ...]:
        return self._ids

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        return dict(self._pub)

    def actor(self, replica_id: str) -> Any:
        """The actor handle of ``replica_id``."""
        self._check(replica_id)
        return self._actors[replica_id]

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until every actor answers a ping (actors start in the background)."""
        ray = self._ray
        refs = [a.ping.remote() for a in self._actors.values()]
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=timeout)
        if len(ready) != len(refs):
            raise InvalidInput(f"only {len(ready)} of {len(refs)} replica actors started within "
                               f"{timeout:g}s", argument="timeout")
        ray.get(ready)

    def propose(self, batch_id: str, inputs: Any, *, deadline: float | None = None) -> list[Reply]:
        ray = self._ray
        deadline = check_deadline(deadline)
        if self._closed:
            raise InvalidInput("this RayBackend is closed", argument="backend")
        ref = inputs if isinstance(inputs, ray.ObjectRef) else ray.put(inputs)
        calls: dict[str, Any] = {}
        failures: dict[str, str] = {}
        stale = [r for r in self._busy.values()]
        done_stale = set(ray.wait(stale, num_returns=len(stale), timeout=0)[0]) if stale else set()
        for rid in self._ids:
            prev = self._busy.get(rid)
            if prev is not None:
                if prev not in done_stale:
                    failures[rid] = "still busy with an earlier batch that missed its deadline"
                    continue
                del self._busy[rid]  # its late answer is dropped
            calls[rid] = self._actors[rid].propose.remote(batch_id, ref)
        refs = list(calls.values())
        ready: set[Any] = set()
        if refs:
            ready = set(ray.wait(refs, num_returns=len(refs), timeout=deadline,
                                 fetch_local=True)[0])
        out = []
        for rid in self._ids:
            if rid in failures:
                out.append(Reply(rid, failure=failures[rid]))
                continue
            call = calls[rid]
            if call not in ready:
                self._busy[rid] = call
                out.append(Reply(rid, failure=f"missed the {deadline:g}s deadline"))
                continue
            try:
                out.append(Reply(rid, proposal=ray.get(call)))
            except ray.exceptions.RayActorError as exc:
                out.append(Reply(rid, failure=f"actor unavailable ({type(exc).__name__})"))
            except ray.exceptions.RayTaskError as exc:
                cause = exc.cause if getattr(exc, "cause", None) is not None else exc
                out.append(Reply(rid, failure=f"raised {type(cause).__name__}: {cause}"[:160]))
            except Exception as exc:  # object lost, worker crash mid-transfer, ...
                out.append(Reply(rid, failure=f"{type(exc).__name__}: {exc}"[:160]))
        return out

    def set_router(self, replica_id: str, router: Any, tamper: Tamper | None = None, *,
                   timeout: float | None = 60.0) -> None:
        """Give ``replica_id``'s actor a new router (and tamper hook) — a rolling update
        of gate weights, or a fault drill. It keeps its key; :meth:`revive` uses the new
        router too (a restart by Ray itself re-runs the original one)."""
        self._check(replica_id)
        key = self._specs[replica_id][1]
        if not callable(router):
            raise InvalidInput(f"router is a {type(router).__name__}, not a callable",
                               argument="router")
        self._ray.get(self._actors[replica_id].configure.remote(router, tamper), timeout=timeout)
        self._specs[replica_id] = (router, key, tamper)

    def alive(self, timeout: float = 2.0) -> dict[str, bool]:
        """Which actors answer a ping within ``timeout`` seconds."""
        ray = self._ray
        refs = {rid: a.ping.remote() for rid, a in self._actors.items()}
        ready = set(ray.wait(list(refs.values()), num_returns=len(refs), timeout=timeout)[0])
        out = {}
        for rid, ref in refs.items():
            ok = ref in ready
            if ok:
                try:
                    ray.get(ref)
                except Exception:
                    ok = False
            out[rid] = ok
        return out

    def ask(self, replica_id: str, batch_id: str, inputs: Any, timeout: float | None = None) -> Any:
        """One replica's signed proposal for ``batch_id`` (unverified), waiting at most
        ``timeout`` seconds; raises ``RayActorError`` / ``GetTimeoutError`` / the task's error."""
        self._check(replica_id)
        return self._ray.get(self._actors[replica_id].propose.remote(batch_id, inputs),
                             timeout=timeout)

    def kill(self, replica_id: str, *, restart: bool = False) -> None:
        """``ray.kill`` the replica's actor; with ``restart`` Ray may restart it (if the
        backend was built with ``max_restarts``), otherwise it stays dead until
        :meth:`revive`."""
        self._check(replica_id)
        self._ray.kill(self._actors[replica_id], no_restart=not restart)

    def revive(self, replica_id: str, *, wait: float | None = 60.0) -> None:
        """Start a fresh actor for ``replica_id`` (same router, same key): it rejoins at
        the next round. Any earlier actor is killed first. Waits up to ``wait`` seconds
        for the new actor to start (``None``: return at once; it then abstains until up)."""
        self._check(replica_id)
        with contextlib.suppress(Exception):  # already gone
            self._ray.kill(self._actors[replica_id], no_restart=True)
        self._busy.pop(replica_id, None)
        actor = self._actors[replica_id] = self._spawn(replica_id)
        if wait is not None:
            ref = actor.ping.remote()
            if not self._ray.wait([ref], timeout=wait)[0]:
                raise InvalidInput(f"replica {replica_id!r} did not start within {wait:g}s",
                                   argument="wait")

    def _check(self, replica_id: str) -> None:
        if replica_id not in self._actors:
            raise InvalidInput(f"no replica {replica_id!r}; replicas are {list(self._ids)}",
                               argument="replica_id")

    def close(self) -> None:
        """Kill every actor (and shut Ray down if this backend started it)."""
        if self._closed:
            return
        self._closed = True
        for a in self._actors.values():
            with contextlib.suppress(Exception):
                self._ray.kill(a, no_restart=True)
        self._busy.clear()
        if self._owns_ray:
            self._ray.shutdown()

    def __enter__(self) -> RayBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RayBackend(replicas={len(self._ids)})"
