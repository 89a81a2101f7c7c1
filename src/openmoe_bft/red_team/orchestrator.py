"""The orchestrator and :func:`scan`, the one call the CLI and the MCP tool reuse."""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ..errors import InvalidInput, InvalidType
from .engine import EngineSettings, Job, run_probes
from .registry import StrategyRegistry, load_entry_points, registry
from .report import RedTeamReport, build_report, to_a2a_evidence
from .strategies import default_strategies
from .strategy import AttackResult, AttackStrategy, ProbeContext
from .targets import TargetError, resolve_target
from .types import VALID_CATEGORIES, Attempt

__all__ = ["RedTeamOrchestrator", "default_orchestrator", "scan", "ascan", "seal_report",
           "red_team_scan"]

T = TypeVar("T")


def _run_sync(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine from sync code, also when an event loop is already running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro_fn())  # type: ignore[arg-type]
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["v"] = asyncio.run(coro_fn())  # type: ignore[arg-type]
        except BaseException as exc:  # re-raised in the caller's thread
            box["e"] = exc

    t = threading.Thread(target=target, name="red-team-scan")
    t.start()
    t.join()
    if "e" in box:
        raise box["e"]
    return box["v"]


def _target_id(target: Any) -> str:
    if isinstance(target, str):
        return target
    if isinstance(target, Mapping):
        return str(target.get("url") or target.get("ref") or target.get("name") or "target")
    tid = getattr(target, "target_id", None) or getattr(target, "__qualname__", None)
    return str(tid or type(target).__name__)


def _probe_context(context: Mapping[str, Any], canaries: Iterable[str], seed: int) -> ProbeContext:
    return ProbeContext(
        seed=int(context.get("seed", seed)),
        canaries=tuple(dict.fromkeys([*context.get("canaries", ()), *canaries])),
        attacker=context.get("attacker"), judge=context.get("judge"),
        attacker_turns=int(context.get("attacker_turns", 4)),
        extra={k: v for k, v in context.items()
               if k not in ("seed", "canaries", "attacker", "judge", "attacker_turns")})


def _result_from_attempts(s: AttackStrategy, target_id: str, attempts: Sequence[Attempt],
                          ts: float) -> AttackResult:
    landed = [a for a in attempts if a.landed]
    done = [a for a in attempts if a.conclusive]
    status = "landed" if landed else ("defended" if done else "inconclusive")
    evidence = {
        "probes": len(attempts), "landed": [a.probe_id for a in landed],
        "inconclusive": [a.probe_id for a in attempts if not a.conclusive],
        "verdicts": {a.probe_id: a.verdict.reason for a in landed if a.verdict is not None},
    }
    return AttackResult(s.id, target_id, bool(landed), s.severity_if_successful, evidence, ts,
                        category=s.category, owasp=s.owasp, status=status,
                        attempts=tuple(attempts))


def _coerce_seed_result(s: AttackStrategy, target_id: str, out: Any, ts: float) -> AttackResult:
    if isinstance(out, AttackResult):
        return out
    if isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], bool):
        ok, evidence = out
    elif isinstance(out, bool):
        ok, evidence = out, {}
    elif isinstance(out, Mapping) and "succeeded" in out:
        ok, evidence = bool(out["succeeded"]), {k: v for k, v in out.items() if k != "succeeded"}
    else:
        raise InvalidType(f"probe of {s.id} returned {type(out).__name__}; return an "
                          "AttackResult, a bool, (bool, evidence) or {'succeeded': ...}",
                          argument="probe")
    return AttackResult(s.id, target_id, ok, s.severity_if_successful, evidence, ts,
                        category=s.category, owasp=s.owasp)


class RedTeamOrchestrator:
    """Runs strategies against a target and reports (the seed's class).

    ``strategies`` -- initial strategies (default: none; see :func:`default_orchestrator`).
    Engine settings (``concurrency``, ``timeout`` per target call, ``retries``,
    ``backoff``, ``rate_limit`` calls/s, ``seed``) and an injected ``clock``.
    """

    def __init__(self, strategies: Iterable[AttackStrategy] = (), *, concurrency: int = 8,
                 timeout: float = 10.0, retries: int = 2, backoff: float = 0.05,
                 rate_limit: float | None = None, seed: int = 0,
                 clock: Callable[[], float] = time.time) -> None:
        self._registry = StrategyRegistry(strategies)
        self.settings = EngineSettings(concurrency, timeout, retries, backoff, rate_limit, seed)
        self.clock = clock

    # -- the seed's registry surface ----------------------------------------------------
    def register(self, strategy: AttackStrategy) -> AttackStrategy:
        """Add ``strategy`` (a strategy with the same id is replaced)."""
        return self._registry.register(strategy)

    @property
    def strategies(self) -> list[AttackStrategy]:
        return self._registry.strategies

    def strategies_by_category(self, category: str) -> list[AttackStrategy]:
        if category not in VALID_CATEGORIES:
            raise InvalidInput(f"category {category!r} is not one of "
                               f"{', '.join(VALID_CATEGORIES)}", argument="category")
        return [s for s in self.strategies if s.category == category]

    def select(self, strategies: Iterable[Any] | None) -> list[AttackStrategy]:
        """Strategies by id, category, or object; ``None`` = all registered. Ids not
        registered here are looked up in the module registry and entry points."""
        if strategies is None:
            return self.strategies
        if isinstance(strategies, (str, AttackStrategy)):
            strategies = [strategies]
        out: list[AttackStrategy] = []
        plugins: list[AttackStrategy] | None = None
        for item in strategies:
            if isinstance(item, AttackStrategy):
                out.append(item)
            elif isinstance(item, str) and item in VALID_CATEGORIES:
                out += self.strategies_by_category(item)
            elif isinstance(item, str) and item in self._registry:
                out.append(self._registry.get(item))
            elif isinstance(item, str) and item in registry:
                out.append(registry.get(item))
            elif isinstance(item, str):
                if plugins is None:
                    plugins = load_entry_points()
                found = [p for p in plugins if p.id == item]
                if not found:
                    known = [s.id for s in self.strategies] + [s.id for s in registry]
                    raise InvalidInput(f"no strategy or category {item!r}; known strategies: "
                                       f"{', '.join(known)}; categories: "
                                       f"{', '.join(VALID_CATEGORIES)}", argument="strategies")
                out += found
            else:
                raise InvalidType(f"strategies holds {type(item).__name__}; pass ids, "
                                  "categories or AttackStrategy objects", argument="strategies")
        return list({s.id: s for s in out}.values())

    # -- running ------------------------------------------------------------------------
    async def arun(self, target: Any, context: Mapping[str, Any] | None = None,
                   strategies: Iterable[Any] | None = None, *,
                   on_attempt: Callable[[Attempt], Any] | None = None,
                   resolve: Callable[[Any], Any] = resolve_target) -> list[AttackResult]:
        """Async :meth:`run`."""
        if context is not None and not isinstance(context, Mapping):
            raise InvalidType("context must be a dict", argument="context")
        ctx = dict(context or {})
        chosen = self.select(strategies)
        generated = [s for s in chosen if s.probe is None and s.generate is not None]
        tgt = resolve(target) if generated else None
        tid = getattr(tgt, "target_id", None) or _target_id(target)
        pctx = _probe_context(ctx, getattr(tgt, "canaries", ()), self.settings.seed)
        jobs = [Job(s, p) for s in generated for p in s.probes(pctx)]
        try:
            attempts = await run_probes(tgt, jobs, self.settings, clock=self.clock,
                                        on_attempt=on_attempt) if jobs else []
        finally:
            close = getattr(tgt, "aclose", None)
            if close is not None:
                await close()
        by_strategy: dict[str, list[Attempt]] = {}
        for a in attempts:
            by_strategy.setdefault(a.strategy_id, []).append(a)
        results = []
        for s in chosen:
            ts = self.clock()
            if s.probe is not None:
                results.append(await self._run_seed_probe(s, target, ctx, tid))
            elif s.generate is not None:
                results.append(_result_from_attempts(s, tid, by_strategy.get(s.id, []), ts))
            else:
                results.append(AttackResult(s.id, tid, False, s.severity_if_successful,
                                            {"error": "the strategy has no probe"}, ts,
                                            category=s.category, owasp=s.owasp,
                                            status="inconclusive"))
        return results

    async def _run_seed_probe(self, s: AttackStrategy, target: Any, ctx: dict[str, Any],
                              tid: str) -> AttackResult:
        try:
            if inspect.iscoroutinefunction(s.probe):
                out = await asyncio.wait_for(s.probe(target, ctx), self.settings.timeout)
            else:
                # a private daemon-ish pool: a hung probe must not hold up the scan's exit
                pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="red-team-probe")
                try:
                    fut = asyncio.get_running_loop().run_in_executor(pool, s.probe, target, ctx)
                    out = await asyncio.wait_for(fut, self.settings.timeout)
                finally:
                    pool.shutdown(wait=False, cancel_futures=True)
                if inspect.isawaitable(out):
                    out = await asyncio.wait_for(out, self.settings.timeout)
            return _coerce_seed_result(s, tid, out, self.clock())
        except InvalidType:
            raise
        except (asyncio.TimeoutError, TargetError, Exception) as exc:
            reason = (f"no answer within {self.settings.timeout:g} s"
                      if isinstance(exc, asyncio.TimeoutError) else f"{type(exc).__name__}: {exc}")
            return AttackResult(s.id, tid, False, s.severity_if_successful, {"error": reason},
                                self.clock(), category=s.category, owasp=s.owasp,
                                status="inconclusive")

    def run(self, target: Any, context: Mapping[str, Any] | None = None,
            strategies: Iterable[Any] | None = None) -> list[AttackResult]:
        """Run the strategies (all, or the given ids/categories/objects) against
        ``target``; one :class:`AttackResult` per strategy, in registration order."""
        return _run_sync(lambda: self.arun(target, context, strategies))

    def report(self, results: Sequence[AttackResult], **kw: Any) -> RedTeamReport:
        return build_report(results, seed=self.settings.seed, **kw)

    @staticmethod
    def to_a2a_evidence(report: RedTeamReport) -> dict[str, Any]:
        return to_a2a_evidence(report)


def default_orchestrator(probe_for: Callable[[AttackStrategy], Callable[..., Any]] | None = None,
                         **settings: Any) -> RedTeamOrchestrator:
    """The eight default strategies; with ``probe_for``, each strategy runs
    ``probe_for(strategy)`` (a seed-style ``probe(target, context)``) instead of ours."""
    orch = RedTeamOrchestrator(**settings)
    for s in default_strategies():
        orch.register(s.with_probe(probe_for(s)) if probe_for is not None else s)
    return orch


def seal_report(report: RedTeamReport, chain: Any, *, timestamp: float | None = None,
                signer_key: Any = None) -> RedTeamReport:
    """Append the report summary and the hash of every attempt record to ``chain`` (an
    :class:`~openmoe_bft.receipts.AuditChain`); returns the report with ``receipt_id``.

    Each attempt hash is ``canonical.value_hash`` of the attempt's ``to_dict()`` -- the
    same dict the JSON Lines log holds -- so a log can be checked against the receipt.
    """
    from ..canonical import value_hash

    if not hasattr(chain, "append"):
        raise InvalidType("chain must be an openmoe_bft.receipts.AuditChain", argument="chain")
    payload = {"type": "red_team_report", "summary": report.summary(),
               "attempt_hashes": [value_hash(a.to_dict()) for a in report.attempts]}
    receipt = chain.append(payload, trace_id=f"red-team:{report.target_id}",
                           timestamp=timestamp, signer_key=signer_key)
    import dataclasses

    return dataclasses.replace(report, receipt_id=receipt.receipt_id)


async def ascan(target: Any, *, strategies: Iterable[Any] | None = None, concurrency: int = 8,
                timeout: float = 10.0, retries: int = 2, backoff: float = 0.05,
                rate_limit: float | None = None, chain: Any = None, log_path: Any = None,
                clock: Callable[[], float] = time.time, seed: int = 0,
                progress: Callable[[int, int, Attempt], Any] | None = None,
                context: Mapping[str, Any] | None = None,
                allow_network: bool = True, allow_import: bool = True) -> RedTeamReport:
    """Async :func:`scan`."""
    from .log import ScanLog

    orch = default_orchestrator(concurrency=concurrency, timeout=timeout, retries=retries,
                                backoff=backoff, rate_limit=rate_limit, seed=seed, clock=clock)
    tgt = resolve_target(target, allow_network=allow_network, allow_import=allow_import)
    chosen = orch.select(strategies)
    ctx = dict(context or {})
    pctx = _probe_context(ctx, tgt.canaries, seed)
    total = sum(len(s.probes(pctx)) if s.probe is None else 1 for s in chosen)
    log = ScanLog(log_path) if log_path is not None else None
    done = 0

    def on_attempt(a: Attempt) -> None:
        nonlocal done
        done += 1
        if log is not None:
            log.attempt(a, done)
        if progress is not None:
            progress(done, total, a)

    t0 = time.perf_counter()
    try:
        if log is not None:
            log.write("start_run", {
                "target_id": tgt.target_id, "seed": seed, "started_at": clock(),
                "strategies": [s.id for s in chosen], "probes": total,
                "context": {"canaries": list(pctx.canaries)},
                "settings": {"concurrency": concurrency, "timeout": timeout,
                             "retries": retries, "rate_limit": rate_limit}})
        results = await orch.arun(tgt, ctx, chosen, on_attempt=on_attempt)
        report = build_report(results, target_id=tgt.target_id,
                              duration_s=time.perf_counter() - t0, seed=seed,
                              meta={"strategies": [s.id for s in chosen],
                                    "concurrency": concurrency})
        if chain is not None:
            report = seal_report(report, chain, timestamp=clock())
        if log is not None:
            log.write("completion", {"report": report.summary(),
                                     "receipt_id": report.receipt_id})
    finally:
        if log is not None:
            log.close()
    return report


def scan(target: Any, *, strategies: Iterable[Any] | None = None, concurrency: int = 8,
         timeout: float = 10.0, retries: int = 2, backoff: float = 0.05,
         rate_limit: float | None = None, chain: Any = None, log_path: Any = None,
         clock: Callable[[], float] = time.time, seed: int = 0,
         progress: Callable[[int, int, Attempt], Any] | None = None,
         context: Mapping[str, Any] | None = None,
         allow_network: bool = True, allow_import: bool = True) -> RedTeamReport:
    """Scan ``target`` with the default strategies (or ``strategies``: ids, categories,
    or :class:`AttackStrategy` objects) and return the :class:`RedTeamReport`.

    ``target``: a callable, ``"http(s)://..."`` (OpenAI-compatible), ``"module:function"``,
    ``"builtin:vulnerable"`` / ``"builtin:hardened"``, or a dict spec (see
    :func:`resolve_target`). ``timeout`` is per target call; failed calls are retried
    ``retries`` times with exponential ``backoff``; ``rate_limit`` caps calls per second.
    ``chain`` seals the report (:func:`seal_report`); ``log_path`` writes the JSON Lines
    log; ``progress(done, total, attempt)`` is called after each probe. ``context`` may
    carry ``canaries`` planted in the target's system prompt, an ``attacker`` LLM
    callable ``attacker(goal, conversation) -> prompt`` and a ``judge(text) -> bool``.
    """
    return _run_sync(lambda: ascan(
        target, strategies=strategies, concurrency=concurrency, timeout=timeout,
        retries=retries, backoff=backoff, rate_limit=rate_limit, chain=chain,
        log_path=log_path, clock=clock, seed=seed, progress=progress, context=context,
        allow_network=allow_network, allow_import=allow_import))


#: :func:`scan` under the name the MCP tool and the top-level package use.
red_team_scan = scan
