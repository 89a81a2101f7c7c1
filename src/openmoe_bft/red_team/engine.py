"""The async engine: runs probes against a target with bounded concurrency.

* **Concurrency** -- ``concurrency`` workers take probes from one queue, longest probe
  (most planned turns) first, so multi-turn conversations do not end up as the tail of
  the scan. A worker holds its slot for a whole probe (turns of one conversation are
  sequential by nature).
* **Timeout** -- ``timeout`` seconds per target call (a probe of n turns may take up to
  n x timeout, plus retries).
* **Retries** -- a failed call (timeout, 5xx, 429, connection error, exception in the
  callable) is retried ``retries`` times with exponential backoff
  ``backoff * 2**k`` plus seeded jitter; a non-retryable failure (4xx, malformed
  payload) is not.
* **Rate limit** -- at most ``rate_limit`` target calls started per second, scan-wide.

A probe that still fails is recorded as ``error`` or ``timeout``: inconclusive, never a
crash of the scan.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput, MissingDependency
from .strategy import AttackStrategy
from .targets import TargetError
from .types import Attempt, Message, Probe, TargetResponse, Verdict

__all__ = ["EngineSettings", "RateLimiter", "run_probes", "Job", "WORKER"]

#: The engine worker running the current probe (0..concurrency-1): targets use it to
#: give each worker its own connection pool shard.
WORKER: contextvars.ContextVar[int] = contextvars.ContextVar("red_team_worker", default=0)


@dataclass(frozen=True)
class EngineSettings:
    concurrency: int = 8
    timeout: float = 10.0
    retries: int = 2
    backoff: float = 0.05
    rate_limit: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.concurrency, bool) or not isinstance(self.concurrency, int) \
                or self.concurrency < 1:
            raise InvalidInput(f"concurrency must be an int >= 1, got {self.concurrency!r}",
                               argument="concurrency")
        if not isinstance(self.timeout, (int, float)) or not self.timeout > 0:
            raise InvalidInput(f"timeout must be > 0 seconds, got {self.timeout!r}",
                               argument="timeout")
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) \
                or self.retries < 0:
            raise InvalidInput(f"retries must be an int >= 0, got {self.retries!r}",
                               argument="retries")
        if not isinstance(self.backoff, (int, float)) or self.backoff < 0:
            raise InvalidInput("backoff must be >= 0 seconds", argument="backoff")
        if self.rate_limit is not None and (
                not isinstance(self.rate_limit, (int, float)) or not self.rate_limit > 0):
            raise InvalidInput(f"rate_limit must be > 0 calls per second or None, got "
                               f"{self.rate_limit!r}", argument="rate_limit")


class RateLimiter:
    """Spaces call starts at least ``1 / rate`` seconds apart (scan-wide)."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 0.0 if rate is None else 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            await asyncio.sleep(delay)


@dataclass(frozen=True)
class Job:
    strategy: AttackStrategy
    probe: Probe


async def _with_timeout(coro: Any, seconds: float) -> Any:
    """``asyncio.timeout`` where available (3.11+: no extra task per call), else
    ``wait_for``."""
    timeout = getattr(asyncio, "timeout", None)
    if timeout is None:  # pragma: no cover - Python 3.10
        return await asyncio.wait_for(coro, seconds)
    async with timeout(seconds):
        return await coro


async def _call(target: Any, messages: Sequence[Message], probe: Probe, st: EngineSettings,
                limiter: RateLimiter, rng: random.Random) -> tuple[TargetResponse | None, str,
                                                                  str | None, int]:
    """One target call with retries: (response, outcome, error, retries used)."""
    error, outcome = None, "error"
    for attempt in range(st.retries + 1):
        if attempt:
            await asyncio.sleep(st.backoff * 2 ** (attempt - 1) * (1 + rng.random()))
        await limiter.wait()
        try:
            resp = await _with_timeout(
                target.send(messages, tools=probe.tools, session=probe.session), st.timeout)
            return resp, "ok", None, attempt
        except asyncio.TimeoutError:
            error, outcome = f"no answer within {st.timeout:g} s", "timeout"
        except MissingDependency:
            raise  # a missing extra is the operator's to fix, not a target failure
        except TargetError as exc:
            error, outcome = str(exc), "error"
            if not exc.retryable:
                return None, outcome, error, attempt
        except Exception as exc:  # a custom target's bug is recorded, not raised
            error, outcome = f"{type(exc).__name__}: {exc}", "error"
    return None, outcome, error, st.retries


async def run_probe(target: Any, job: Job, st: EngineSettings, limiter: RateLimiter,
                    clock: Callable[[], float]) -> Attempt:
    probe, strat = job.probe, job.strategy
    rng = random.Random(f"{st.seed}:{probe.id}")
    transcript: list[Message] = []
    if probe.session or probe.tools:
        from .targets import session_message

        transcript.append(Message("system", session_message(probe.session, probe.tools)))
    responses: list[TargetResponse] = []
    verdict: Verdict | None = None
    error: str | None = None
    outcome = "defended"
    requests = retries = 0
    started, t0 = clock(), time.perf_counter()
    n = probe.max_turns if probe.next_turn is not None else len(probe.turns)
    for turn in range(n):
        if probe.next_turn is not None:
            try:
                nxt = probe.next_turn([m for m in transcript if m.role != "system"])
                if inspect.isawaitable(nxt):
                    nxt = await asyncio.wait_for(nxt, st.timeout)
            except Exception as exc:
                error, outcome = f"attacker failed: {type(exc).__name__}: {exc}", "error"
                break
            if nxt is None:
                break
            prompt = str(nxt)
        else:
            prompt = probe.turns[turn]
        transcript.append(Message("user", prompt))
        convo = [m for m in transcript if m.role != "system"]
        resp, status, err, used = await _call(target, convo, probe, st, limiter, rng)
        requests += used + 1
        retries += used
        if resp is None:
            error, outcome = err, status
            break
        responses.append(resp)
        transcript.append(Message("assistant", resp.text))
        try:
            verdict = probe.detector(resp)
        except Exception as exc:
            error, outcome = f"detector failed: {type(exc).__name__}: {exc}", "error"
            break
        if verdict.landed:
            outcome = "landed"
            break
    return Attempt(strat.id, probe.id, strat.category, strat.severity_if_successful,
                   probe.technique, probe.owasp or strat.owasp, getattr(target, "target_id", "?"),
                   outcome, tuple(transcript), tuple(responses), verdict, error, started,
                   time.perf_counter() - t0, requests, retries)


async def run_probes(target: Any, jobs: Sequence[Job], st: EngineSettings, *,
                     clock: Callable[[], float] = time.time,
                     on_attempt: Callable[[Attempt], Any] | None = None) -> list[Attempt]:
    """Run every job; the attempts come back in ``jobs`` order."""
    order = sorted(range(len(jobs)), key=lambda i: -jobs[i].probe.planned_requests)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in order:
        queue.put_nowait(i)
    out: list[Attempt | None] = [None] * len(jobs)
    limiter = RateLimiter(st.rate_limit)

    configure = getattr(target, "configure_concurrency", None)
    if configure is not None:
        configure(min(st.concurrency, len(jobs)) or 1)

    async def worker(n: int) -> None:
        WORKER.set(n)
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            attempt = await run_probe(target, jobs[i], st, limiter, clock)
            out[i] = attempt
            if on_attempt is not None:
                on_attempt(attempt)

    workers = [asyncio.create_task(worker(n)) for n in range(min(st.concurrency, len(jobs)))]
    try:
        await asyncio.gather(*workers)
    finally:
        for w in workers:
            w.cancel()
    return [a for a in out if a is not None]
