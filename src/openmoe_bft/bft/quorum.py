"""Quorum arithmetic.

``f = (n - 1) // 3`` Byzantine replicas are tolerated and ``quorum_size(n) = 2f + 1``
(the seed's formulas, unchanged).

One deliberate difference from the seed, for safety: for ``n`` not of the form
``3f + 1`` the bare ``2f + 1`` lets two different values both reach "quorum"
(``n = 6``: two groups of 3) or lets a single vote decide (``n = 3``). A value is
therefore *decided* only when it has ``decision_threshold(n) =
max(2f + 1, n // 2 + 1)`` votes — a quorum that is also a strict majority of ``n``.
For ``n = 3f + 1`` both numbers are equal, so nothing changes there.
"""

from __future__ import annotations

import operator
from typing import Any

from ..errors import InvalidInput, InvalidType

__all__ = ["tolerated_faults", "quorum_size", "decision_threshold", "check_node_count"]


def check_node_count(n: Any, argument: str = "n") -> int:
    """Return ``n`` as an int ≥ 1, or raise :class:`InvalidInput` saying why not.

    ints and numpy integers are accepted; bools, floats and strings are refused.
    """
    if isinstance(n, bool) or type(n).__name__ == "bool_" or not hasattr(n, "__index__"):
        raise InvalidType(
            f"expected a positive int number of nodes, got {type(n).__name__} {n!r}",
            argument=argument,
        )
    n = operator.index(n)
    if n < 1:
        raise InvalidInput(f"expected at least 1 node, got {n}", argument=argument)
    return n


def tolerated_faults(n: int) -> int:
    """``f = (n - 1) // 3``: how many Byzantine replicas ``n`` replicas tolerate."""
    return (check_node_count(n) - 1) // 3


def quorum_size(n: int) -> int:
    """``2f + 1``: the Byzantine quorum (the seed's formula; see :func:`decision_threshold`)."""
    return 2 * tolerated_faults(n) + 1


def decision_threshold(n: int) -> int:
    """Votes a value needs to be decided: ``max(2f + 1, n // 2 + 1)``."""
    n = check_node_count(n)
    return max(2 * ((n - 1) // 3) + 1, n // 2 + 1)
