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
without a per-token loop, in at most ``num_experts`` vectorized rounds (one per expert
that fills up; none when no expert overflows). Each round finds, under the current
placements, the earliest token at which some not-yet-full expert takes its last
slot; every placement before it is final, so that expert's fill time is exact, and
the tokens after it that were placed on it move down their own ranking. Several
fills are accepted in one round while they precede the first moved token. Rounds
only look at the active tokens (after the final prefix, not dropped), a set that
shrinks as experts fill. Property tests check it against :func:`reroute_reference`,
the per-token loop.
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


def reroute(ids: np.ndarray, capacity: int, num_experts: int) -> np.ndarray:
    """The seed's greedy primary-slot policy. ``ids [T, k]`` ranked best first.

    Returns the rank (column of ``ids``) each token is placed on, ``k`` = dropped.
    Each round only looks at the ``active`` tokens: not final yet and not dropped.
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
    base = np.zeros(e + 1, dtype=np.intp)  # placements among the final tokens
    active = np.arange(t)
    while active.size:
        seg = placed[active]
        n = seg.shape[0]
        per = np.bincount(seg, minlength=e + 1)
        need = capacity - base  # room left (>= 1 for an expert not yet full)
        cand = np.flatnonzero((per[:e] >= need[:e]) & ~full[:e])
        if cand.size == 0:
            return rank
        order = active[np.argsort(_small(seg, e + 1), kind="stable")]
        starts = np.cumsum(per) - per
        last = order[starts[cand] + need[cand] - 1]              # takes the last slot
        over = np.where(per[cand] > need[cand],                   # first one turned away
                        order[np.minimum(starts[cand] + need[cand], n - 1)], t)
        first_moved = t
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
        cut = np.searchsorted(active, first_moved)
        base += np.bincount(seg[:cut], minlength=e + 1)
        active = active[cut:]
        seg = seg[cut:]
        # tokens over capacity on a full expert move down their own ranking
        moving = active[full[seg] & (active > fill[seg])]
        r = rank[moving] + 1
        pending = np.ones(moving.size, dtype=bool)
        while pending.any():
            cur = ext[moving, np.minimum(r, k)]
            pending = (r < k) & (moving > fill[cur])
            r = np.where(pending, r + 1, r)
        rank[moving] = np.minimum(r, k)
        placed[moving] = ext[moving, rank[moving]]
        active = active[placed[active] < e]  # dropped tokens are final
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
