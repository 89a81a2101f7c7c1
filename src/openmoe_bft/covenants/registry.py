"""``CovenantRegistry``: covenants, the action log, breaches, vouches and trust.

* :meth:`~CovenantRegistry.inscribe` — the agent's covenant (the latest per agent governs).
* :meth:`~CovenantRegistry.audit` / :meth:`~CovenantRegistry.check` — judge an action
  without recording it (pure, deterministic for the same registry state).
* :meth:`~CovenantRegistry.record` — audit, then append the action (and its breach)
  to the append-only logs.
* :meth:`~CovenantRegistry.trust_score` — own trust from the agent's breaches (the
  seed's rule); :meth:`~CovenantRegistry.web_of_trust` — the seed's one-hop blend;
  :meth:`~CovenantRegistry.global_trust` — EigenTrust over weighted vouches.

With ``store=`` (a path or a :class:`~openmoe_bft.store.Store`) every inscription,
action and vouch is written (one transaction per call) before it is applied in
memory, and reopening replays them. With ``audit=`` (an
:class:`~openmoe_bft.receipts.AuditChain`) inscriptions and breaches are sealed as
receipts; the chain may live in the same store.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..canonical import canonical_json
from ..errors import InvalidInput, InvalidType
from ..store import Store, open_store
from .constraints import Evaluator
from .eigentrust import eigentrust
from .model import (
    NO_ACTION_BASELINE,
    SEVERITY_PENALTY,
    Action,
    Breach,
    Covenant,
    Verdict,
    _nonempty_str,
    no_covenant_verdict,
)

__all__ = ["CovenantRegistry", "GlobalTrust"]

_MIGRATIONS = [
    """
    CREATE TABLE covenant_inscriptions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        covenant_id TEXT NOT NULL, agent_id TEXT NOT NULL, body TEXT NOT NULL);
    CREATE TABLE covenant_actions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        action_id TEXT NOT NULL, agent_id TEXT NOT NULL, body TEXT NOT NULL, breach TEXT);
    CREATE INDEX covenant_actions_agent ON covenant_actions (agent_id, seq);
    CREATE TABLE covenant_vouches (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        truster TEXT NOT NULL, trustee TEXT NOT NULL, weight REAL NOT NULL,
        timestamp REAL NOT NULL)
    """,
]


def _clamp(x: float) -> float:
    return max(0.0, min(1.0, x))


@dataclass(frozen=True)
class GlobalTrust:
    """EigenTrust over a registry's vouches (see :mod:`~openmoe_bft.covenants.eigentrust`).

    ``trust`` is the global trust distribution (agent → value; the values sum to 1).
    ``scores`` maps it into [0, 1] relative to the most trusted agent (the top agent
    scores 1.0). ``pretrusted`` are the seeds used; ``converged`` / ``iterations`` /
    ``residual`` describe the power iteration.
    """

    trust: dict[str, float]
    scores: dict[str, float]
    pretrusted: tuple[str, ...]
    alpha: float
    iterations: int
    converged: bool
    residual: float

    def to_dict(self) -> dict[str, Any]:
        return {"trust": dict(self.trust), "scores": dict(self.scores),
                "pretrusted": list(self.pretrusted), "alpha": self.alpha,
                "iterations": self.iterations, "converged": self.converged,
                "residual": self.residual}


class CovenantRegistry:
    """Stores covenants, audits actions and computes reputation (see the module docstring).

    ``evaluators`` maps extra constraint keys to callables (see
    :mod:`~openmoe_bft.covenants.constraints`). ``clock`` gives the time of vouches
    made without a timestamp.
    """

    def __init__(
        self,
        store: Store | str | os.PathLike[str] | None = None,
        *,
        audit: Any = None,
        evaluators: Mapping[str, Evaluator] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if audit is not None and not (callable(getattr(audit, "append", None))
                                  and callable(getattr(audit, "verify", None))):
            raise InvalidType(f"audit must be an AuditChain, got {type(audit).__name__}",
                              argument="audit")
        if evaluators is not None and (not isinstance(evaluators, Mapping) or not all(
                isinstance(k, str) and callable(v) for k, v in evaluators.items())):
            raise InvalidType("evaluators must map constraint keys to callables",
                              argument="evaluators")
        self.audit_chain = audit
        self.evaluators: dict[str, Evaluator] = dict(evaluators or {})
        self._clock = clock
        self._covenants: dict[str, Covenant] = {}
        self._history: list[Covenant] = []
        self._actions: list[Action] = []
        self._breaches: list[Breach] = []
        self._actions_by: dict[str, list[Action]] = {}
        self._breaches_by: dict[str, list[Breach]] = {}
        self._vouches: dict[tuple[str, str], float] = {}
        self._lock = threading.RLock()  # audit + append is one step (rate limits count)
        self._store = open_store(store)
        if self._store is not None:
            self._store.migrate("covenants", _MIGRATIONS)
            self._replay()

    @property
    def store(self) -> Store | None:
        return self._store

    # -- inscription --------------------------------------------------------------------
    def inscribe(self, covenant: Covenant) -> Covenant:
        """File ``covenant`` (the agent's latest covenant governs it); returns it.

        Seals a ``covenant.inscribed`` receipt when the registry has ``audit=``.
        """
        if not isinstance(covenant, Covenant):
            raise InvalidType(f"expected a Covenant, got {type(covenant).__name__}; build one "
                              "with Covenant.inscribe(...)", argument="covenant")
        if not covenant.verify():
            raise InvalidInput("covenant_id does not match the covenant's content: it was "
                               "altered after inscription", argument="covenant")
        with self._lock:
            self._inscribe(covenant)
        if self.audit_chain is not None:
            covenant.seal(self.audit_chain)
        return covenant

    def _inscribe(self, covenant: Covenant) -> None:
        if self._store is not None:
            with self._store.transaction() as cur:
                cur.execute("INSERT INTO covenant_inscriptions (covenant_id, agent_id, body) "
                            "VALUES (?, ?, ?)", (covenant.covenant_id, covenant.agent_id,
                                                 _dumps(covenant.to_dict())))
        self._apply_covenant(covenant)

    def _apply_covenant(self, covenant: Covenant) -> None:
        self._covenants[covenant.agent_id] = covenant
        self._history.append(covenant)

    def covenant_for(self, agent_id: str) -> Covenant | None:
        """The covenant governing ``agent_id``, or None."""
        return self._covenants.get(agent_id)

    @property
    def covenants(self) -> dict[str, Covenant]:
        """agent → governing covenant."""
        return dict(self._covenants)

    def inscriptions(self) -> list[Covenant]:
        """Every covenant ever inscribed, in order (superseded ones included)."""
        return list(self._history)

    # -- auditing -----------------------------------------------------------------------
    def audit(self, action: Action) -> Verdict:
        """The :class:`Verdict` on ``action`` against the agent's covenant (records nothing)."""
        if not isinstance(action, Action):
            raise InvalidType(f"expected an Action, got {type(action).__name__}", argument="action")
        covenant = self._covenants.get(action.agent_id)
        if covenant is None:
            return no_covenant_verdict(action)
        return covenant.audit(action, history=self._actions_by.get(action.agent_id, ()),
                              evaluators=self.evaluators)

    def check(self, action: Action) -> Breach | None:
        """``None`` when ``action`` complies, else the :class:`Breach` (the seed's call)."""
        return self.audit(action).breach

    def record(self, action: Action) -> Breach | None:
        """Audit ``action``, append it (and any breach) to the logs; return the breach.

        The payload must be JSON (it is stored and sealed). A breach is sealed as a
        ``covenant.breach`` receipt when the registry has ``audit=``.
        """
        with self._lock:
            verdict = self.audit(action)
            breach = verdict.breach
            body = _dumps(action.to_dict())
            if self._store is not None:
                with self._store.transaction() as cur:
                    cur.execute("INSERT INTO covenant_actions (action_id, agent_id, body, breach) "
                                "VALUES (?, ?, ?, ?)", (action.action_id, action.agent_id, body,
                                                        None if breach is None
                                                        else _dumps(breach.to_dict())))
            self._apply_action(action, breach)
            if breach is not None and self.audit_chain is not None:
                self.audit_chain.append(
                    {"type": "covenant.breach", "breach": breach.to_dict(),
                     "action": action.to_dict(), "violations": [list(v) for v in verdict.violations]},
                    trace_id=breach.covenant_id or breach.agent_id, timestamp=action.timestamp)
        return breach

    def _apply_action(self, action: Action, breach: Breach | None) -> None:
        self._actions.append(action)
        self._actions_by.setdefault(action.agent_id, []).append(action)
        if breach is not None:
            self._breaches.append(breach)
            self._breaches_by.setdefault(action.agent_id, []).append(breach)

    def actions_for(self, agent_id: str) -> list[Action]:
        """The recorded actions of ``agent_id``, in order."""
        return list(self._actions_by.get(agent_id, ()))

    def breaches_for(self, agent_id: str) -> list[Breach]:
        """The recorded breaches of ``agent_id``, in order."""
        return list(self._breaches_by.get(agent_id, ()))

    @property
    def agents(self) -> list[str]:
        """Every agent the registry knows (covenants, actions, vouches), sorted."""
        names = set(self._covenants) | set(self._actions_by)
        for a, b in self._vouches:
            names.add(a)
            names.add(b)
        return sorted(names)

    # -- own trust ----------------------------------------------------------------------
    def trust_score(self, agent_id: str) -> float:
        """Own trust in [0, 1]: ``NO_ACTION_BASELINE`` (0.5) before any action, else 1.0
        minus ``SEVERITY_PENALTY[severity]`` per breach, clamped (the seed's rule)."""
        if not self._actions_by.get(agent_id):
            return NO_ACTION_BASELINE
        score = 1.0
        for breach in self._breaches_by.get(agent_id, ()):
            score -= SEVERITY_PENALTY.get(breach.severity, 0.0)
        return _clamp(score)

    def web_of_trust(self, vouchers: Mapping[str, Iterable[str]], *, alpha: float = 0.5
                     ) -> dict[str, float]:
        """The seed's one-hop blend: ``alpha · own + (1 - alpha) · mean(vouchers' own)``.

        ``vouchers`` maps agent → the agents vouching for it. An agent with no
        vouchers keeps its own score; vouchers below the agent pull it down, so a low
        voucher never raises an agent. Results are clamped to [0, 1]. For trust that
        propagates along whole chains of weighted vouches, see :meth:`global_trust`.
        """
        if not isinstance(vouchers, Mapping):
            raise InvalidType("vouchers must map agent ids to lists of voucher ids",
                              argument="vouchers")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
            raise InvalidInput(f"alpha must be in [0, 1], got {alpha!r}", argument="alpha")
        out: dict[str, float] = {}
        for agent, vs in vouchers.items():
            if isinstance(vs, (str, bytes)):
                raise InvalidType(f"the vouchers of {agent!r} must be a list of ids, not a str",
                                  argument="vouchers")
            vs = list(vs)
            own = self.trust_score(agent)
            if not vs:
                out[agent] = own
                continue
            mean = sum(self.trust_score(v) for v in vs) / len(vs)
            out[agent] = _clamp(alpha * own + (1.0 - alpha) * mean)
        return out

    # -- vouches and global trust -------------------------------------------------------
    def vouch(self, truster: str, trustee: str, weight: float = 1.0,
              timestamp: int | float | None = None) -> None:
        """``truster`` vouches for ``trustee`` with ``weight`` >= 0 (the latest weight for
        a pair wins; 0 withdraws the vouch). An agent cannot vouch for itself."""
        _nonempty_str(truster, "truster")
        _nonempty_str(trustee, "trustee")
        if truster == trustee:
            raise InvalidInput(f"{truster!r} cannot vouch for itself", argument="trustee")
        if (isinstance(weight, bool) or not isinstance(weight, (int, float))
                or not math.isfinite(weight) or weight < 0):
            raise InvalidInput(f"weight must be a finite number >= 0, got {weight!r}",
                               argument="weight")
        ts = self._clock() if timestamp is None else timestamp
        if isinstance(ts, bool) or not isinstance(ts, (int, float)) or not math.isfinite(ts):
            raise InvalidInput(f"timestamp must be a finite number, got {ts!r}",
                               argument="timestamp")
        with self._lock:
            if self._store is not None:
                with self._store.transaction() as cur:
                    cur.execute("INSERT INTO covenant_vouches (truster, trustee, weight, "
                                "timestamp) VALUES (?, ?, ?, ?)",
                                (truster, trustee, float(weight), ts))
            self._apply_vouch(truster, trustee, float(weight))

    def _apply_vouch(self, truster: str, trustee: str, weight: float) -> None:
        if weight == 0:
            self._vouches.pop((truster, trustee), None)
        else:
            self._vouches[(truster, trustee)] = weight

    def vouches(self) -> dict[tuple[str, str], float]:
        """``{(truster, trustee): weight}`` of the standing vouches."""
        return dict(self._vouches)

    def global_trust(
        self,
        pretrusted: Iterable[str] | None = None,
        *,
        alpha: float = 0.15,
        tol: float = 1e-10,
        max_iter: int = 1000,
    ) -> GlobalTrust:
        """EigenTrust over the vouches, with breaches folded in.

        Local trust ``c_ij = weight(i → j) · own(j) / sum_k weight(i → k)`` where
        ``own`` is :meth:`trust_score` (0.5 for an agent that has not acted yet): a
        vouch for a breaching agent counts for less (for nothing once its own trust
        is 0) and the withheld share returns to the pre-trusted agents. So breaches
        lower the agent's global trust and, through the smaller trust it then passes
        on, the trust of those it vouches for. The pre-trust vector is ``own(i)``
        over the ``pretrusted`` agents (all agents when None), so a breaching seed is
        trusted less too. ``trust`` sums to 1; ``scores`` = trust / max(trust).
        """
        agents = self.agents
        seeds = list(pretrusted) if pretrusted is not None else None
        if seeds is not None:
            if isinstance(pretrusted, str):
                raise InvalidType("pretrusted must be a list of agent ids, not a str",
                                  argument="pretrusted")
            unknown = sorted(set(seeds) - set(agents))
            if unknown:
                raise InvalidInput(f"pretrusted agents {unknown} are unknown to this registry",
                                   argument="pretrusted")
            if not seeds:
                raise InvalidInput("pretrusted names no agent", argument="pretrusted")
        if not agents:
            return GlobalTrust({}, {}, (), alpha, 0, True, 0.0)
        import numpy as np

        index = {a: i for i, a in enumerate(agents)}
        own = np.array([self.trust_score(a) for a in agents])
        edges = list(self._vouches.items())
        src = np.fromiter((index[a] for (a, _), _ in edges), dtype=np.int64, count=len(edges))
        dst = np.fromiter((index[b] for (_, b), _ in edges), dtype=np.int64, count=len(edges))
        w = np.fromiter((wt for _, wt in edges), dtype=np.float64, count=len(edges))
        mask = np.zeros(len(agents)) if seeds is not None else np.ones(len(agents))
        if seeds is not None:
            mask[[index[s] for s in seeds]] = 1.0
        p = mask * own
        if p.sum() <= 0:  # every seed has lost all trust: fall back to the seeds themselves
            p = mask
        result = eigentrust(len(agents), src, dst, w, pretrusted=p, discount=own, alpha=alpha,
                            tol=tol, max_iter=max_iter)
        trust = dict(zip(agents, result.trust.tolist(), strict=True))
        scores = dict(zip(agents, result.scores.tolist(), strict=True))
        used = tuple(sorted(seeds)) if seeds is not None else tuple(agents)
        return GlobalTrust(trust, scores, used, float(alpha), result.iterations,
                           result.converged, result.residual)

    # -- persistence --------------------------------------------------------------------
    def _replay(self) -> None:
        assert self._store is not None
        for (body,) in self._store.query("SELECT body FROM covenant_inscriptions ORDER BY seq"):
            self._apply_covenant(Covenant.from_dict(json.loads(body)))
        for body, breach in self._store.query(
                "SELECT body, breach FROM covenant_actions ORDER BY seq"):
            self._apply_action(Action.from_dict(json.loads(body)),
                               None if breach is None else Breach.from_dict(json.loads(breach)))
        for truster, trustee, weight in self._store.query(
                "SELECT truster, trustee, weight FROM covenant_vouches ORDER BY seq"):
            self._apply_vouch(truster, trustee, float(weight))

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> CovenantRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"CovenantRegistry(agents={len(self.agents)}, covenants={len(self._covenants)}, "
                f"actions={len(self._actions)}, breaches={len(self._breaches)}, "
                f"vouches={len(self._vouches)})")


def _dumps(data: Any) -> str:
    return canonical_json(data).decode("utf-8")
