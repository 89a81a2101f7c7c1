"""The strategy registry: register by decorator, or install a third-party package that
declares strategies under the ``openmoe_bft.red_team.strategies`` entry-point group.

An entry point may name an :class:`AttackStrategy`, an iterable of them, or a
zero-argument callable returning either::

    # pyproject.toml of a plug-in
    [project.entry-points."openmoe_bft.red_team.strategies"]
    my_strategies = "my_pkg.red_team:STRATEGIES"

A registry is an ordinary object (no global state is touched unless you use the
module-level :data:`registry` and :func:`register_strategy`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..errors import InvalidInput, InvalidType
from .strategy import AttackStrategy, ProbeContext
from .types import Probe

__all__ = ["StrategyRegistry", "registry", "register_strategy", "ENTRY_POINT_GROUP",
           "load_entry_points"]

ENTRY_POINT_GROUP = "openmoe_bft.red_team.strategies"


class StrategyRegistry:
    """Strategies by id, in registration order (same id replaces)."""

    def __init__(self, strategies: Iterable[AttackStrategy] = ()) -> None:
        self._by_id: dict[str, AttackStrategy] = {}
        for s in strategies:
            self.register(s)

    def register(self, strategy: AttackStrategy) -> AttackStrategy:
        if not isinstance(strategy, AttackStrategy):
            raise InvalidType(f"register() takes an AttackStrategy, got "
                              f"{type(strategy).__name__}", argument="strategy")
        self._by_id[strategy.id] = strategy
        return strategy

    def strategy(self, *, id: str, name: str, category: str, severity: str,
                 description: str = "", owasp: Sequence[str] = ()
                 ) -> Callable[[Callable[[ProbeContext], Sequence[Probe]]], AttackStrategy]:
        """Decorator: turns ``generate(context) -> [Probe, ...]`` into a registered
        strategy (the decorated name is bound to the :class:`AttackStrategy`)."""

        def wrap(fn: Callable[[ProbeContext], Sequence[Probe]]) -> AttackStrategy:
            return self.register(AttackStrategy(id, name, category,
                                                description or (fn.__doc__ or "").strip(),
                                                severity, owasp=tuple(owasp), generate=fn))

        return wrap

    def get(self, strategy_id: str) -> AttackStrategy:
        try:
            return self._by_id[strategy_id]
        except KeyError:
            raise InvalidInput(f"no strategy {strategy_id!r}; known: "
                               f"{', '.join(self._by_id) or 'none'}",
                               argument="strategies") from None

    def __contains__(self, strategy_id: object) -> bool:
        return strategy_id in self._by_id

    def __iter__(self) -> Any:
        return iter(list(self._by_id.values()))

    def __len__(self) -> int:
        return len(self._by_id)

    @property
    def strategies(self) -> list[AttackStrategy]:
        return list(self._by_id.values())

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> list[str]:
        """Register every strategy installed under ``group``; returns their ids."""
        added = []
        for s in load_entry_points(group):
            self.register(s)
            added.append(s.id)
        return added


def _strategies_of(obj: Any, where: str) -> list[AttackStrategy]:
    if isinstance(obj, AttackStrategy):
        return [obj]
    if callable(obj):
        return _strategies_of(obj(), where)
    if isinstance(obj, Iterable) and not isinstance(obj, (str, bytes)):
        out = []
        for item in obj:
            out += _strategies_of(item, where)
        return out
    raise InvalidType(f"entry point {where} gave {type(obj).__name__}, expected an "
                      "AttackStrategy or a list of them", argument="entry_point")


def load_entry_points(group: str = ENTRY_POINT_GROUP) -> list[AttackStrategy]:
    """The strategies third-party packages declare under ``group``."""
    from importlib.metadata import entry_points

    out: list[AttackStrategy] = []
    for ep in entry_points(group=group):
        out += _strategies_of(ep.load(), f"{ep.name} = {ep.value}")
    return out


#: A process-wide registry for :func:`register_strategy` (empty until you use it).
registry = StrategyRegistry()


def register_strategy(*, id: str, name: str, category: str, severity: str,
                      description: str = "", owasp: Sequence[str] = ()
                      ) -> Callable[[Callable[[ProbeContext], Sequence[Probe]]], AttackStrategy]:
    """Decorator registering a probe generator in the module-level :data:`registry`;
    ``scan(strategies=[...])`` and the CLI find it by id."""
    return registry.strategy(id=id, name=name, category=category, severity=severity,
                             description=description, owasp=owasp)
