"""Drive the per-token :class:`~openmoe_bft.bft.BFTRouter` with any replica backend.

:func:`bft_replicas` turns each replica of a backend (in-process hosts or Ray actors)
into the plain ``replica(token) -> expert_key`` callable ``BFTRouter`` takes. Each call
is a one-token batch: the replica signs its proposal, and the callable verifies the
signature against the replica's registered key before returning the expert key — a
forged or altered vote raises, which ``BFTRouter`` records as an abstention. This is
one round trip per token per replica; use
:class:`~openmoe_bft.distributed.router.DistributedRouter` for batches.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import InvalidInput, OpenMoEBFTError
from .proposals import verify_proposal

__all__ = ["ForgedProposal", "bft_replicas"]


class ForgedProposal(OpenMoEBFTError):
    """A replica's proposal failed verification (a forged, altered or stale vote)."""


def bft_replicas(backend: Any, *, keys: dict[str, Any] | None = None,
                 timeout: float | None = None) -> dict[str, Callable[[Any], Any]]:
    """``{replica_id: replica(token)}`` for ``BFTRouter(experts, replicas=...)``.

    ``token`` is one token's router input (e.g. a logits row ``[experts]``); it is sent
    as a one-token batch. The replica's vote is its expert id (``k = 1``) or the
    sorted tuple of its ids (``k > 1``). ``keys`` defaults to ``backend.public_keys()``.
    ``timeout`` bounds a Ray call (``BFTRouter(timeout=...)`` bounds it too).
    """
    pub = dict(backend.public_keys() if keys is None else keys)
    ask = getattr(backend, "ask", None)
    if not callable(ask):
        raise InvalidInput(f"{type(backend).__name__} cannot ask a single replica (no ask())",
                           argument="backend")
    prefix = f"token-{uuid.uuid4().hex[:12]}"
    counter = itertools.count()

    def make(rid: str) -> Callable[[Any], Any]:
        def replica(token: Any) -> Any:
            bid = f"{prefix}-{next(counter)}"
            inputs = np.asarray(token)[None, ...]
            p = ask(rid, bid, inputs) if timeout is None else ask(rid, bid, inputs, timeout)
            why = verify_proposal(p, pub[rid], replica_id=rid, batch_id=bid, tokens=1)
            if why is not None:
                raise ForgedProposal(f"replica {rid!r}: {why}")
            ids = [int(i) for i in p.ids[0]]
            return ids[0] if len(ids) == 1 else tuple(sorted(ids))

        replica.__name__ = f"replica_{rid}"
        return replica

    missing = [r for r in backend.replica_ids if r not in pub]
    if missing:
        raise InvalidInput(f"no public key for replicas {missing}", argument="keys")
    return {rid: make(rid) for rid in backend.replica_ids}
