"""Batched consensus: settle a whole batch of tokens in one vectorized call.

This is the path real MoE layers use. Input is either

* ``proposals``: ``[replicas, tokens, k]`` integer expert ids (each replica's top-k
  choice per token; ``[replicas, tokens]`` means ``k = 1``), with ``num_experts``; or
* ``logits``: ``[replicas, tokens, experts]`` router scores plus ``k``; each replica's
  top-k is taken with ``np.argpartition``. A token row holding NaN or ±inf makes
  that replica abstain for that token.

numpy arrays, nested lists and torch tensors (when torch is installed; it is never
imported here) are accepted. A top-k proposal is a *set*: the order of ids inside
it does not matter. A proposal with a duplicate, negative or out-of-range id is an
abstention by default (``invalid="abstain"``: a corrupted replica must not be able
to stop the batch); ``invalid="raise"`` turns it into :class:`InvalidInput` instead.

How it works, in a handful of passes over the data: each replica's set is
encoded as one ``uint64`` key (a bitmask of its ids when ``num_experts <= 64``, the
sorted ids packed into bits otherwise), Boyer–Moore majority voting finds, per
token, the only key that can hold a strict majority, and one comparison counts its
votes. A token is dispatched when its key has ``decision_threshold(R)`` votes.

The common MoE case, top-1 or top-2 over at most 255 experts, uses narrower keys
(``uint8`` / ``uint16``: the ids cast to bytes, a pair ordered ``max << 8 | min``)
that equal each other exactly when the ``uint64`` keys do, invalid proposals
included, so every output is the same as the general path's; each pass then moves
a quarter of the bytes or less.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._arrays import check_positive_int, to_numpy
from ..errors import InvalidInput, InvalidType
from .quorum import check_node_count, decision_threshold

__all__ = ["BatchSettlement", "settle_batch"]

_ONE = np.uint64(1)


class DispatchCounts:
    """``num_tokens`` / ``num_dispatched`` / ``num_withheld`` of a result with a boolean
    ``dispatched [tokens]`` array (mixed into the batch result dataclasses)."""

    dispatched: np.ndarray

    @property
    def num_tokens(self) -> int:
        return int(self.dispatched.shape[0])

    @property
    def num_dispatched(self) -> int:
        return int(np.count_nonzero(self.dispatched))

    @property
    def num_withheld(self) -> int:
        return self.num_tokens - self.num_dispatched


@dataclass(frozen=True)
class BatchSettlement(DispatchCounts):
    """Outcome of :func:`settle_batch`.

    ``expert_ids[t]``: token ``t``'s agreed expert set, ascending (``-1`` where not
    dispatched). ``dispatched[t]``: it reached ``threshold`` votes. ``votes[t]``: votes
    for the agreed set (for a withheld token, for its Boyer–Moore majority candidate,
    which need not be the plurality). ``disagreements[r]``: dispatched tokens for
    which replica ``r`` did not vote for the agreed set (a different or an invalid
    proposal) — who is drifting. ``abstentions[r]``: tokens for which replica ``r``
    gave no valid proposal (bad ids, duplicates, non-finite logits).
    """

    expert_ids: np.ndarray
    dispatched: np.ndarray
    votes: np.ndarray
    disagreements: np.ndarray
    abstentions: np.ndarray
    n: int
    f: int
    quorum: int
    threshold: int
    k: int
    num_experts: int
    replica_ids: tuple[str, ...] = field(default=())

    @property
    def flagged_replicas(self) -> tuple[str, ...]:
        """Replicas that disagreed with a dispatched decision at least once."""
        return tuple(rid for rid, d in zip(self.replica_ids, self.disagreements, strict=True) if d > 0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (per-replica counts; not the per-token arrays)."""
        return {
            "tokens": self.num_tokens,
            "dispatched": self.num_dispatched,
            "withheld": self.num_withheld,
            "n": self.n,
            "f": self.f,
            "quorum": self.quorum,
            "threshold": self.threshold,
            "k": self.k,
            "num_experts": self.num_experts,
            "replicas": {
                rid: {"disagreements": int(d), "abstentions": int(a)}
                for rid, d, a in zip(self.replica_ids, self.disagreements, self.abstentions, strict=True)
            },
            "flagged_replicas": list(self.flagged_replicas),
        }


def _replica_ids(replica_ids: Sequence[str] | None, r: int) -> tuple[str, ...]:
    if replica_ids is None:
        return tuple(f"replica-{i}" for i in range(r))
    ids = tuple(replica_ids)
    if len(ids) != r:
        raise InvalidInput(f"got {len(ids)} ids for {r} replicas", argument="replica_ids")
    if len(set(ids)) != len(ids):
        raise InvalidInput("duplicate replica ids", argument="replica_ids")
    return ids


def _topk_from_logits(logits: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-replica top-k ids ``[R, T, k]`` and a finite-row mask ``[R, T]``."""
    if logits.dtype.kind not in "fiu" or logits.dtype == np.bool_:
        raise InvalidType(f"logits must be numeric, got dtype {logits.dtype}", argument="logits")
    finite = np.isfinite(logits).all(axis=-1)
    work = logits if finite.all() else np.where(finite[..., None], logits, 0)
    e = logits.shape[-1]
    ids = np.argpartition(work, e - k, axis=-1)[..., e - k :] if k < e else np.broadcast_to(
        np.arange(e), logits.shape
    )
    return ids, finite


def _keys_bitmask(ids: np.ndarray, num_experts: int) -> tuple[np.ndarray, np.ndarray]:
    """uint64 bitmask key per ``[R, T]`` and the validity mask.

    Out-of-range and negative ids shift to 0 and duplicate ids carry, so an invalid
    proposal has fewer than ``k`` bits set (or a bit at/after ``num_experts``): its key
    can never equal a valid key, so it never needs zeroing.
    """
    k = ids.shape[-1]
    if ids.dtype != np.int64 and ids.dtype != np.uint64:
        ids = ids.astype(np.int64)
    bits = np.left_shift(_ONE, ids.view(np.uint64))  # out-of-range / negative -> 0
    # a duplicate id carries in the sum, so its popcount drops below k
    keys = np.add(bits[..., 0], bits[..., 1]) if k > 1 else bits[..., 0]
    for j in range(2, k):
        keys += bits[..., j]
    valid = np.bitwise_count(keys) == k
    if num_experts < 64:
        valid &= keys < np.uint64(1 << num_experts)
    return keys, valid


_NARROW = True  # k <= 2 over <= 255 experts: uint8/uint16 keys (tests turn it off to compare)
_NONE = 64  # the narrow keys' "no bit" id: what the bitmask shift makes of an id >= 64


class _Scratch:
    """One buffer per :func:`settle_batch` call, carved into the narrow path's per-chunk
    arrays. Besides saving allocations, its single large block sets glibc's dynamic
    mmap/trim thresholds, so the heap keeps these pages between calls instead of
    handing them back and page-faulting them in afresh on every call (which, for
    many separate ~1 MiB temporaries, made a call up to 4x slower depending on what
    the process had allocated before)."""

    def __init__(self, nbytes: int) -> None:
        self.buf = np.empty(nbytes, dtype=np.uint8)
        self.at = 0

    def take(self, shape: tuple[int, ...], dtype: type[np.generic]) -> np.ndarray:
        n = math.prod(shape) * dtype().itemsize
        out = self.buf[self.at:self.at + n].view(dtype).reshape(shape)
        # 64-byte aligned, and staggered so that same-index elements of two pieces do not
        # sit a power of two apart (4K aliasing slowed the two-array ufuncs by ~5-10%)
        self.at += -(-n // 64) * 64 + _STAGGER
        return out


_STAGGER = 5 * 64


def _scratch_bytes(r: int, t: int, k: int) -> int:
    return r * t * (k + 7) + 6 * (64 + _STAGGER)  # c8 (k), key (2), tmp (2), dup, eq, valid (1 each)


def _keys_narrow(
    ids: np.ndarray, finite: np.ndarray | None, num_experts: int, work: _Scratch | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """For ``k <= 2`` and ``num_experts <= 255``: a ``uint8`` (k = 1) or ``uint16`` (k = 2)
    key per ``[R, T]`` that equals another exactly when the ``uint64`` keys of the
    general path do — invalid proposals included, so the majority candidate (and the
    votes of a withheld token) are the same — at an eighth or a quarter of the width.
    Also, when it comes for free, the invalid proposals per replica ``[R]`` (``None``
    otherwise: then a key is valid iff its high byte, its largest id, is below
    ``num_experts``).

    Ids are cast to ``uint8``; a pair ``(a, b)`` is read as one ``uint16`` and ordered
    ``max << 8 | min``. Up to 64 experts the keys mirror the bitmask keys of
    :func:`_keys_bitmask`: an id >= 64 or < 0 is the "no bit" 64, a duplicate ``(y, y)``
    is what the bitmask carry makes of it, the single bit ``y + 1``: ``(64, y + 1)``,
    and a non-finite logits row is the empty set ``(64, 64)``. From 65 to 255 experts
    they mirror the packed keys of :func:`_keys_packed`: every invalid proposal (an id
    out of range, a duplicate, a non-finite row) is the one key of all ones.
    """
    r, t, k = ids.shape
    if work is None:
        work = _Scratch(_scratch_bytes(r, t, k))
    wide = num_experts > _NONE
    if ids.dtype.kind == "i" and ids.dtype.itemsize == 1:
        ids = ids.astype(np.int16)  # read unsigned, a negative int8 could pass for an id >= 128
    u = ids if ids.dtype.kind == "u" else ids.view(ids.dtype.str.replace("i", "u"))
    c8 = work.take((r, t, k), np.uint8)
    np.copyto(c8, u, casting="unsafe")
    top = int(u.max()) if u.size else 0
    if wide and top >= num_experts:  # out of range: 255, never a valid id (branch-free)
        c8 |= _ones_where(np.greater_equal(u, num_experts, out=np.empty(c8.shape, dtype=np.bool_)), np.uint8)
    elif not wide and top >= _NONE:  # ids >= 64 (or negative) become 64, branch-free
        ones = _ones_where(np.greater_equal(u, _NONE, out=np.empty(c8.shape, dtype=np.bool_)), np.uint8)
        c8 |= ones
        ones &= np.uint8(0xFF ^ _NONE)
        c8 ^= ones
    # every id in range and every logits row finite: only a duplicate is invalid
    counted = top < num_experts and (finite is None or bool(finite.all()))
    invalid = np.zeros(r, dtype=np.int64) if counted else None
    if k == 1:
        key = c8.reshape(r, t)
        if finite is not None and not counted:
            _put(key, np.uint8(0xFF if wide else _NONE), ~finite)
        return key, invalid
    v = c8.view(np.uint16).reshape(r, t)
    key = np.right_shift(v, _EIGHT, out=work.take((r, t), np.uint16))
    key |= np.left_shift(v, _EIGHT, out=work.take((r, t), np.uint16))  # the pair the other way round
    dup = np.equal(v, key, out=work.take((r, t), np.bool_))
    np.maximum(v, key, out=key)
    if wide:
        if invalid is not None:
            for i in np.flatnonzero(dup.any(axis=1)):
                invalid[i] = np.count_nonzero(dup[i])
        bad = dup if top < num_experts else dup | (key >= np.uint16(0xFF00))
        if bad.any():
            key |= _ones_where(bad, np.uint16)
        if finite is not None and not counted:
            _put(key, np.uint16(0xFFFF), ~finite)
        return key, invalid
    for i in np.flatnonzero(dup.any(axis=1)):  # usually rare: fix only the duplicates
        d = dup[i]
        n = int(np.count_nonzero(d))
        if invalid is not None:
            invalid[i] = n
        if n * _SPARSE <= t:
            at = np.flatnonzero(d)
            key[i, at] = _carry(key[i, at])
        else:
            _put(key[i], _carry(key[i]), d)
    if finite is not None and not counted:
        _put(key, np.uint16(_NONE << 8 | _NONE), ~finite)
    return key, invalid


def _carry(pair: np.ndarray) -> np.ndarray:
    """The narrow key of the bitmask sum of a duplicate ``(y, y)``: the single bit
    ``y + 1``, i.e. ``(64, y + 1)``; ``(63, 63)`` and ``(64, 64)`` are the empty set."""
    y = pair & np.uint16(0xFF)
    y += np.uint16(1) - (y >> np.uint16(6))
    y |= np.uint16(_NONE << 8)
    return y


_EIGHT = np.uint16(8)
_SPARSE = 32  # a mask with at most 1 / _SPARSE of its entries set is applied by index


def _ones_where(mask: np.ndarray, dtype: Any) -> np.ndarray:
    """All ones where ``mask`` is set, 0 elsewhere, in ``dtype`` (an unsigned int)."""
    return np.negative(mask.view(np.uint8).astype(dtype))


def _put(dst: np.ndarray, src: np.ndarray | Any, mask: np.ndarray) -> None:
    """``dst[mask] = src`` without the cost a masked copy has on a dense, scattered mask
    (``np.copyto(where=)`` branches per element: ~250 us for 65,536 tokens at 50 %):
    a masked copy when few are set (cheap then), else an xor blend. ``dst`` is an
    unsigned int array."""
    n = int(np.count_nonzero(mask))
    if not n:
        return
    if n * _SPARSE <= mask.size:
        np.copyto(dst, src, where=mask)
        return
    x = np.bitwise_xor(dst, src)
    x &= _ones_where(mask, dst.dtype)
    dst ^= x


def _keys_packed(ids: np.ndarray, num_experts: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted ids packed into a uint64 key (+1, so 0 = invalid)."""
    k = ids.shape[-1]
    s, valid = _sorted_rows(ids, num_experts)
    bits = _bits(num_experts)
    keys = np.zeros(s.shape[:-1], dtype=np.uint64)
    for j in range(k):
        keys |= np.left_shift(np.where(valid, s[..., j], 0).astype(np.uint64), np.uint64(bits * j))
    keys += _ONE
    keys *= valid
    return keys, valid


def _bits(num_experts: int) -> int:
    return max(1, int(num_experts - 1).bit_length())


def _sorted_rows(ids: np.ndarray, num_experts: int) -> tuple[np.ndarray, np.ndarray]:
    """Each proposal's ids sorted, and whether it is k distinct ids in [0, num_experts)."""
    k = ids.shape[-1]
    s = np.sort(ids.astype(np.int64, copy=False), axis=-1)
    valid = (s[..., 0] >= 0) & (s[..., -1] < num_experts)
    if k > 1:
        valid &= (np.diff(s, axis=-1) > 0).all(axis=-1)
    return s, valid


def _keys_hashed(s: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """For sets too wide to pack: a 64-bit FNV-style hash of the sorted ids (0 = invalid).

    Hash equality only nominates a candidate; votes are then counted by exact row
    comparison, so a collision can cost a dispatch but never causes a wrong one.
    """
    keys = np.full(s.shape[:-1], 0xCBF29CE484222325, dtype=np.uint64)
    mult = np.uint64(0x100000001B3)
    with np.errstate(over="ignore"):
        for j in range(s.shape[-1]):
            keys = (keys ^ s[..., j].astype(np.uint64)) * mult
    keys |= _ONE  # never 0 for a valid set
    keys *= valid
    return keys


def _majority_candidate(keys: np.ndarray) -> np.ndarray:
    """Per column of ``keys [R, T]``, the only value that can hold a strict majority
    (Boyer–Moore majority vote, vectorized over tokens)."""
    r, t = keys.shape
    cand = keys[0].copy()
    # s = count + i after row i: a match adds 2, so no per-row decrement is needed, and
    # the Boyer–Moore count is 0 before row i exactly when s == i - 1
    s = np.ones(t, dtype=np.int8 if 2 * r - 1 <= 127 else np.int32)
    for i in range(1, r):
        row = keys[i]
        _put(cand, row, s == i - 1)  # the count was 0: row i's value becomes the candidate
        eq = (row == cand).view(np.int8)
        s += eq
        s += eq
    return cand


def _exponent(powers_of_two: np.ndarray) -> np.ndarray:
    """log2 of uint64 powers of two, exactly, through the float64 exponent bits."""
    return (powers_of_two.astype(np.float64).view(np.int64) >> 52) - 1023


def settle_batch(
    proposals: Any = None,
    *,
    logits: Any = None,
    k: int | None = None,
    num_experts: int | None = None,
    replica_ids: Sequence[str] | None = None,
    invalid: str = "abstain",
) -> BatchSettlement:
    """Settle a batch of routing proposals from ``R`` replicas in one call.

    >>> import numpy as np
    >>> p = np.array([[[0, 1]], [[1, 0]], [[0, 1]], [[2, 3]]])   # 4 replicas, 1 token, top-2
    >>> s = settle_batch(p, num_experts=4)
    >>> s.expert_ids.tolist(), s.dispatched.tolist(), s.disagreements.tolist()
    ([[0, 1]], [True], [0, 0, 0, 1])
    """
    if invalid not in ("abstain", "raise"):
        raise InvalidInput(f"expected 'abstain' or 'raise', got {invalid!r}", argument="invalid")
    if (proposals is None) == (logits is None):
        raise InvalidInput("give exactly one of proposals= or logits=", argument="proposals")
    finite: np.ndarray | None = None
    if logits is not None:
        arr = to_numpy(logits, "logits")
        if arr.ndim != 3:
            raise InvalidInput(
                f"expected logits of shape [replicas, tokens, experts], got {arr.shape}", argument="logits"
            )
        r, t, e = arr.shape
        if r < 1:
            raise InvalidInput("need at least one replica", argument="logits")
        if num_experts is not None and num_experts != e:
            raise InvalidInput(f"logits have {e} experts, num_experts says {num_experts}", argument="num_experts")
        num_experts = e
        if k is None:
            raise InvalidInput("k is required with logits", argument="k")
        k = check_positive_int(k, "k")
        if k > e:
            raise InvalidInput(f"k={k} is larger than the {e} experts", argument="k")
        ids, finite = _topk_from_logits(arr, k)
    else:
        ids = to_numpy(proposals, "proposals")
        if ids.ndim == 2:
            ids = ids[..., None]
        if ids.ndim != 3:
            raise InvalidInput(
                f"expected proposals of shape [replicas, tokens, k], got {ids.shape}", argument="proposals"
            )
        if ids.dtype.kind not in "iu":
            raise InvalidType(
                f"expert ids must be integers, got dtype {ids.dtype}", argument="proposals"
            )
        r, t, kk = ids.shape
        if r < 1:
            raise InvalidInput("need at least one replica", argument="proposals")
        if num_experts is None:
            raise InvalidInput("num_experts is required with proposals", argument="num_experts")
        num_experts = check_positive_int(num_experts, "num_experts")
        if kk < 1:
            raise InvalidInput("k (the last axis) must be at least 1", argument="proposals")
        if k is not None and k != kk:
            raise InvalidInput(f"proposals have k={kk}, k says {k}", argument="k")
        k = kk
        if k > num_experts:
            raise InvalidInput(f"k={k} is larger than the {num_experts} experts", argument="proposals")
    rids = _replica_ids(replica_ids, r)
    check_node_count(r, "replicas")
    threshold = decision_threshold(r)
    f = (r - 1) // 3
    if k <= 2 and num_experts <= 255 and _NARROW:
        mode = "narrow"
    elif num_experts <= 64:
        mode = "bitmask"
    elif k * _bits(num_experts) <= 63:
        mode = "packed"
    else:
        mode = "hashed"
    if invalid == "raise":
        _raise_on_invalid(ids, finite, num_experts, rids)

    # the narrow path writes every row; the others only the dispatched ones
    expert_ids = np.empty((t, k), dtype=np.int64) if mode == "narrow" else np.full((t, k), -1, dtype=np.int64)
    dispatched = np.zeros(t, dtype=bool)
    votes = np.zeros(t, dtype=np.int32)
    counts = np.zeros((2, r), dtype=np.int64)  # agreeing on dispatched tokens, valid
    # Work on token chunks of ~2 MiB of keys: the temporaries stay cache-sized and are
    # recycled by the allocator instead of being page-faulted in fresh on every call.
    chunk = max(1024, _CHUNK_BYTES // (8 * r)) if mode != "narrow" else max(4096, _NARROW_CHUNK_KEYS // r)
    work = _Scratch(_scratch_bytes(r, min(t, chunk), k)) if mode == "narrow" else None
    for c0 in range(0, t, chunk):
        sl = slice(c0, min(t, c0 + chunk))
        _settle_chunk(
            ids[:, sl], None if finite is None else finite[:, sl], mode, k, num_experts,
            threshold, expert_ids[sl], dispatched[sl], votes[sl], counts, work,
        )
    agree, valid_total = counts
    n_dispatched = int(np.count_nonzero(dispatched))
    return BatchSettlement(
        expert_ids=expert_ids,
        dispatched=dispatched,
        votes=votes,
        disagreements=n_dispatched - agree,
        abstentions=t - valid_total,
        n=r,
        f=f,
        quorum=2 * f + 1,
        threshold=threshold,
        k=k,
        num_experts=num_experts,
        replica_ids=rids,
    )


_CHUNK_BYTES = 2 << 20
_NARROW_CHUNK_KEYS = 1 << 19  # 1 MiB of uint16 keys: fewer, larger chunks win for the narrow keys


def _raise_on_invalid(
    ids: np.ndarray, finite: np.ndarray | None, num_experts: int, rids: tuple[str, ...]
) -> None:
    _, valid = _sorted_rows(ids, num_experts)
    if finite is not None:
        valid &= finite
    if valid.all():
        return
    bad_r, bad_t = (int(v[0]) for v in np.nonzero(~valid))
    what = "non-finite logits" if finite is not None and not finite[bad_r, bad_t] else (
        f"{ids[bad_r, bad_t].tolist()}"
    )
    raise InvalidInput(
        f"replica {rids[bad_r]!r} proposed {what} for token {bad_t}: expected "
        f"{ids.shape[-1]} distinct ids in [0, {num_experts})",
        argument="logits" if finite is not None else "proposals",
    )


def _settle_chunk_narrow(
    ids: np.ndarray, finite: np.ndarray | None, num_experts: int, threshold: int,
    out_ids: np.ndarray, out_dispatched: np.ndarray, out_votes: np.ndarray, counts: np.ndarray,
    work: _Scratch,
) -> None:
    r, t, k = ids.shape
    work.at = 0
    keys, invalid = _keys_narrow(ids, finite, num_experts, work)
    limit = keys.dtype.type(num_experts << (8 * (k - 1)))  # valid iff largest id < num_experts
    cand = _majority_candidate(keys)
    eq = np.equal(keys, cand, out=work.take((r, t), np.bool_))
    n_votes = eq.view(np.uint8).sum(axis=0, dtype=np.uint8 if r < 256 else np.int32)
    n_votes *= cand < limit
    disp = n_votes >= threshold
    out_votes[:] = n_votes
    out_dispatched[:] = disp
    # the agreed ids as int8 bytes (low byte = smallest id): 0xFF = -1 for a withheld token
    all_dispatched = bool(disp.all())
    if not all_dispatched:
        cand |= _ones_where(~disp, cand.dtype)
    ids8 = cand.view(np.int8 if num_experts <= 128 else np.uint8).reshape(-1, k)
    if k == 2 and sys.byteorder == "big":
        ids8 = ids8[:, ::-1]
    np.copyto(out_ids, ids8)
    if num_experts > 128 and not all_dispatched:  # ids up to 254 are read unsigned: 255 is -1
        out_ids -= (out_ids == 255) * 256
    if not all_dispatched:
        eq &= disp
    for i in range(r):  # per-row count_nonzero is far faster than axis=1
        counts[0, i] += np.count_nonzero(eq[i])
    if invalid is not None:
        counts[1] += keys.shape[1] - invalid
    else:
        valid = np.less(keys, limit, out=work.take((r, t), np.bool_))
        for i in range(r):
            counts[1, i] += np.count_nonzero(valid[i])


def _settle_chunk(
    ids: np.ndarray, finite: np.ndarray | None, mode: str, k: int, num_experts: int,
    threshold: int, out_ids: np.ndarray, out_dispatched: np.ndarray, out_votes: np.ndarray,
    counts: np.ndarray, work: _Scratch | None = None,
) -> None:
    if mode == "narrow":
        if work is None:
            work = _Scratch(_scratch_bytes(*ids.shape))
        _settle_chunk_narrow(
            ids, finite, num_experts, threshold, out_ids, out_dispatched, out_votes, counts, work
        )
        return
    rows: np.ndarray | None = None
    if mode == "bitmask":
        keys, valid = _keys_bitmask(ids, num_experts)
    elif mode == "packed":
        keys, valid = _keys_packed(ids, num_experts)
    else:
        rows, valid = _sorted_rows(ids, num_experts)
    if finite is not None:
        valid &= finite
        if mode != "hashed":
            keys *= finite
    if rows is not None:
        keys = _keys_hashed(rows, valid)

    cand = _majority_candidate(keys)
    eq = keys == cand
    if rows is not None:
        # hash equality only nominated cand: confirm votes by exact comparison of the sets
        ref = rows[np.argmax(eq, axis=0), np.arange(cand.shape[0])]
        eq &= (rows == ref[None]).all(axis=-1)
    n_votes = eq[0].astype(np.int32)
    for i in range(1, eq.shape[0]):
        n_votes += eq[i]
    if mode == "bitmask":
        cand_ok = np.bitwise_count(cand) == k
        if num_experts < 64:
            cand_ok &= cand < np.uint64(1 << num_experts)
    else:
        cand_ok = cand != 0
    n_votes *= cand_ok
    disp = n_votes >= threshold
    out_votes[:] = n_votes
    out_dispatched[:] = disp

    if mode == "bitmask":
        rest = cand * disp  # withheld tokens decode from 0 -> exponent -1023 -> clipped to -1
        for j in range(k):
            low = rest & (~rest + _ONE)  # lowest set bit
            np.maximum(_exponent(low), -1, out=out_ids[:, j])
            rest ^= low
    elif mode == "packed":
        raw = cand - _ONE
        field = np.uint64((1 << _bits(num_experts)) - 1)
        for j in range(k):
            out_ids[:, j] = (np.right_shift(raw, np.uint64(_bits(num_experts) * j)) & field).astype(np.int64)
        out_ids[~disp] = -1
    else:
        out_ids[:] = ref
        out_ids[~disp] = -1

    eq &= disp
    for i in range(eq.shape[0]):  # per-row count_nonzero is far faster than axis=1
        counts[0, i] += np.count_nonzero(eq[i])
        counts[1, i] += np.count_nonzero(valid[i])
