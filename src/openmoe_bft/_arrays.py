"""Shared input coercion for the numeric modules (batch consensus, aggregators, MoE).

Accepts numpy arrays, nested lists/tuples and torch tensors (torch is never
imported here: a tensor is recognised by its module name and read through
``.detach().cpu().numpy()``). Errors name the offending argument.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InvalidInput, InvalidType

__all__ = ["to_numpy", "check_positive_int", "check_nonneg_int"]


def to_numpy(x: Any, argument: str) -> np.ndarray:
    """``x`` as a numpy array; ragged nesting is :class:`InvalidInput` naming ``argument``."""
    if isinstance(x, np.ndarray):
        return x
    if type(x).__module__.split(".")[0] == "torch" and hasattr(x, "detach"):
        x = x.detach().cpu()
        if str(x.dtype) in ("torch.bfloat16", "torch.float16"):
            x = x.float()  # numpy has no bfloat16; widen before handing over
        return x.numpy()
    if isinstance(x, (list, tuple)):
        parts = [to_numpy(p, f"{argument}[{i}]") if not np.isscalar(p) else p for i, p in enumerate(x)]
        shapes = {np.shape(p) for p in parts}
        if len(shapes) > 1:
            first = np.shape(parts[0])
            bad = next(i for i, p in enumerate(parts) if np.shape(p) != first)
            raise InvalidInput(
                f"replica {bad} has shape {np.shape(parts[bad])}, replica 0 has {first}: "
                "every replica must give the same number of tokens and of experts (or k)",
                argument=argument,
            )
        try:
            return np.asarray(parts)
        except ValueError as exc:
            raise InvalidInput(f"not a rectangular array: {exc}", argument=argument) from exc
    try:
        return np.asarray(x)
    except Exception as exc:
        raise InvalidType(f"cannot read {type(x).__name__} as an array: {exc}", argument=argument) from exc


def _is_int(value: Any) -> bool:
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, np.integer))


def check_positive_int(value: Any, argument: str) -> int:
    """``value`` as an int ≥ 1 (bools refused), else :class:`InvalidInput`."""
    if not _is_int(value) or value < 1:
        raise InvalidInput(f"expected an int >= 1, got {value!r}", argument=argument)
    return int(value)


def check_nonneg_int(value: Any, argument: str) -> int:
    """``value`` as an int ≥ 0 (bools refused), else :class:`InvalidInput`."""
    if not _is_int(value) or value < 0:
        raise InvalidInput(f"expected an int >= 0, got {value!r}", argument=argument)
    return int(value)
