"""Expert-capacity policies, vectorized over tokens.

Two token-choice policies, both greedy in token order (earlier tokens win):

``"drop"`` — GShard / Switch position priority (Lepikhin et al. 2020; Fedus et al.
    2022). Slots are filled slot-major: every token's first choice, then every
    token's second choice, ... An expert accepts a ``(token, slot)`` routing while its
    position among the routings to that expert (in that order) is below ``capacity``;
    the rest are dropped without rerouting. Position-in-expert is one stable counting
    sort of the expert ids (the cumulative-sum of the one-hot mask in GShard/Switch
    code, without materialising ``[tokens, experts]``).

``"reroute"`` — the seed package's policy. Only the *primary* placement consumes
    capacity: each token, in token order, takes the first expert in its own ranked
    top-``k`` that still has room; its other ``k - 1`` selections are kept as they
    are. A token with no room anywhere in its top-``k`` is dropped. (With ``k = 1``
    this is exactly Switch's top-1 dropping.)

The reroute policy is sequential by definition; :func:`reroute` computes it exactly,
without a per-token loop. Everything follows from each expert's *fill time* (the
token that takes its last slot): a token sits on the first expert of its ranking
whose fill time is not before it. Rounds walk a window of the not-yet-final tokens.
A window in which no expert reaches capacity is final as it stands (one bincount).
Otherwise, under the current placements, the earliest token at which some
not-yet-full expert takes its last slot is exact (every placement before it is),
so that fill time is settled, and the window restarts at the first token that
expert turned away; several fills are settled in one round while they precede the
first turned-away token. Tokens sitting on an expert that filled before them move
down their own ranking when their window comes. At most ``num_experts`` rounds
settle a fill, each costing one counting sort of the window; none run when no
expert overflows. Property tests check it against :func:`reroute_reference`, the
per-token loop, including with one-token windows.
"""

from __future__ import annotations

import numpy as np

__all__ = ["positions_in_expert", "drop", "reroute", "reroute_reference"]


def _small(ids: np.ndarray, num_experts: int) -> np.ndarray:
    # numpy's stable sort is a radix sort for integer types of 16 bits or less.
    if num_experts < 2**15:
        return ids.astype(np.int16, copy=False)
    return ids


def positions_in_expert(flat: np.ndarray, num_experts: int) -> np.ndarray:
    """For each entry of ``flat`` (expert ids, ``num_experts`` = "none"), how many earlier
    entries hold the same expert."""
    n = flat.shape[0]
    order = np.argsort(_small(flat, num_experts + 1), kind="stable")
    counts = np.bincount(flat, minlength=num_experts + 1)
    starts = np.cumsum(counts) - counts
    pos = np.empty(n, dtype=np.intp)
    pos[order] = np.arange(n) - np.repeat(starts, counts)
    return pos


def drop(ids: np.ndarray, capacity: int, num_experts: int) -> np.ndarray:
    """GShard/Switch position priority: ``keep[T, k]`` — which ``(token, slot)`` fit."""
    t, k = ids.shape
    flat = ids.T.ravel()  # slot-major: all first choices, then all second choices, ...
    keep = positions_in_expert(flat, num_experts) < capacity
    return keep.reshape(k, t).T


def _advance(ids_ext: np.ndarray, tokens: np.ndarray, rank: np.ndarray, placed: np.ndarray,
             fill: np.ndarray) -> None:
    """Move ``tokens`` down their own ranking to the first expert with room for them."""
    k = ids_ext.shape[1] - 1
    r = rank[tokens] + 1
    pending = np.ones(tokens.size, dtype=bool)
    while pending.any():
        cur = ids_ext[tokens, np.minimum(r, k)]
        pending = (r < k) & (tokens > fill[cur])
        r = np.where(pending, r + 1, r)
    r = np.minimum(r, k)
    rank[tokens] = r
    placed[tokens] = ids_ext[tokens, r]


_MIN_WINDOW = 512


def reroute(ids: np.ndarray, capacity: int, num_experts: int) -> np.ndarray:
    """The seed's greedy primary-slot policy. ``ids [T, k]`` ranked best first.

    Returns the rank (column of ``ids``) each token is placed on, ``k`` = dropped.
    Works on a window of the tokens not yet final: a window in which no expert fills
    up is final as it stands (and the next one is twice as long); otherwise the fills
    in it are settled as described in the module docstring and the window restarts at
    the first token that has to move.
    """
    t, k = ids.shape
    e = num_experts
    rank = np.zeros(t, dtype=np.intp)
    ext = np.concatenate([ids, np.full((t, 1), e, dtype=ids.dtype)], axis=1)
    placed = ext[:, 0].astype(np.intp)
    if t == 0 or np.bincount(placed, minlength=e).max() <= capacity:
        return rank  # nobody overflows: every token keeps its first choice
    # fill[x] = index of the token that took expert x's last slot; t = not full yet.
    fill = np.full(e + 1, t, dtype=np.intp)
    fill[e] = -1  # the "dropped" pseudo-expert is never available
    full = np.zeros(e + 1, dtype=bool)
    base = np.zeros(e + 1, dtype=np.intp)  # placements among the final tokens [0, start)
    start = 0
    width = max(_MIN_WINDOW, 4 * capacity)
    while start < t:
        stop = min(t, start + width)
        seg = placed[start:stop]
        stale = full[seg] & (np.arange(start, stop) > fill[seg])  # on an expert already full
        if stale.any():
            _advance(ext, start + np.flatnonzero(stale), rank, placed, fill)
            seg = placed[start:stop]
        per = np.bincount(seg, minlength=e + 1)
        need = capacity - base  # room left (>= 1 for an expert not yet full)
        cand = np.flatnonzero((per[:e] >= need[:e]) & ~full[:e])
        if cand.size == 0:  # no expert fills up in this window: it is final
            base += per
            start = stop
            width *= 2
            continue
        n = seg.shape[0]
        order = start + np.argsort(_small(seg, e + 1), kind="stable")
        starts = np.cumsum(per) - per
        last = order[starts[cand] + need[cand] - 1]              # takes the last slot
        over = np.where(per[cand] > need[cand],                   # first one turned away
                        order[np.minimum(starts[cand] + need[cand], n - 1)], stop)
        first_moved = stop
        accepted = []
        for j in np.argsort(last, kind="stable").tolist():
            if last[j] >= first_moved:
                break
            accepted.append(j)
            first_moved = min(first_moved, int(over[j]))
        acc = cand[accepted]
        fill[acc] = last[accepted]
        full[acc] = True
        # every token before the first turned-away one is final now
        base += np.bincount(seg[: first_moved - start], minlength=e + 1)
        start = first_moved
        width = max(_MIN_WINDOW, width // 2)
    return rank


def reroute_reference(ids: list[list[int]], capacity: int, num_experts: int) -> list[int]:
    """The seed's policy as a plain per-token loop (the specification :func:`reroute` is
    tested against). Returns each token's placed rank, ``k`` = dropped."""
    used = [0] * num_experts
    out = []
    for ranked in ids:
        placed = len(ranked)
        for r, expert in enumerate(ranked):
            if used[expert] < capacity:
                used[expert] += 1
                placed = r
                break
        out.append(placed)
    return out
