import numpy as np
import pytest

from openmoe_bft import settle_batch
from openmoe_bft.bft import batch as batch_mod
from openmoe_bft.errors import InvalidInput


def honest_batch(rng, r, t, e, k):
    truth = np.stack([rng.choice(e, k, replace=False) for _ in range(t)])
    props = np.broadcast_to(truth, (r, t, k)).copy()
    for i in range(r):  # each replica lists its set in its own order
        props[i] = np.take_along_axis(props[i], np.argsort(rng.random((t, k)), axis=1), axis=1)
    return truth, props


def test_small_example_counts():
    p = np.array([
        [[0, 1], [2, 3], [0, 1]],
        [[1, 0], [3, 2], [0, 2]],
        [[0, 1], [2, 3], [5, 5]],   # duplicate id: an abstention
        [[2, 3], [2, 3], [0, 9]],   # 9 is out of range: an abstention
    ])
    s = settle_batch(p, num_experts=8, replica_ids=["a", "b", "c", "d"])
    assert s.expert_ids.tolist() == [[0, 1], [2, 3], [-1, -1]]
    assert s.dispatched.tolist() == [True, True, False]
    assert s.votes[:2].tolist() == [3, 4]
    assert s.disagreements.tolist() == [0, 0, 0, 1]
    assert s.abstentions.tolist() == [0, 0, 1, 1]
    assert s.flagged_replicas == ("d",)
    assert (s.n, s.f, s.quorum, s.threshold) == (4, 1, 3, 3)
    assert s.to_dict()["replicas"]["d"] == {"disagreements": 1, "abstentions": 1}


@pytest.mark.parametrize("e, k", [(8, 1), (8, 3), (64, 2), (64, 8), (63, 2), (65, 2), (300, 4), (300, 8), (5000, 8)])
def test_every_key_mode_settles_correctly(e, k):
    rng = np.random.default_rng(e * 100 + k)
    truth, props = honest_batch(rng, 7, 500, e, k)
    props[5] = rng.integers(-3, e + 3, props[5].shape)  # random garbage
    props[6] = props[6] + 1  # drifting
    s = settle_batch(props, num_experts=e)
    assert s.dispatched.all()
    assert (s.expert_ids == np.sort(truth, axis=1)).all()
    assert s.disagreements[:5].tolist() == [0] * 5 and s.disagreements[5] > 400


def test_hash_collisions_cost_dispatch_never_correctness(monkeypatch):
    def all_collide(s, valid):
        keys = np.ones(s.shape[:-1], dtype=np.uint64)
        return keys * valid

    monkeypatch.setattr(batch_mod, "_keys_hashed", all_collide)
    rng = np.random.default_rng(0)
    truth, props = honest_batch(rng, 4, 200, 5000, 8)
    props[3] = rng.integers(0, 5000, props[3].shape)
    s = settle_batch(props, num_experts=5000)
    # every set "hashes" to the same key, yet only exactly-equal sets are counted
    assert (s.expert_ids[s.dispatched] == np.sort(truth, axis=1)[s.dispatched]).all()
    props[:2] = rng.integers(0, 5000, props[:2].shape)
    s = settle_batch(props, num_experts=5000)
    assert not s.dispatched.any()


def test_top1_as_2d_and_lists():
    s = settle_batch([[1, 2, 3], [1, 2, 0], [1, 0, 3]], num_experts=4)
    assert s.expert_ids[:, 0].tolist() == [1, 2, 3] and s.k == 1


def test_zero_tokens():
    s = settle_batch(np.zeros((4, 0, 2), dtype=np.int64), num_experts=8)
    assert s.num_tokens == 0 and s.expert_ids.shape == (0, 2)


def test_logits_path_nan_rows_abstain_and_match_proposals():
    rng = np.random.default_rng(1)
    base = rng.standard_normal((300, 16)).astype(np.float32)
    logits = np.stack([base] * 4)
    logits[3, :10] = np.nan
    logits[2, 10:20, 3] = np.inf
    s = settle_batch(logits=logits, k=2)
    assert s.dispatched.all() and s.abstentions.tolist() == [0, 0, 10, 10]
    truth = np.sort(np.argsort(-base, axis=1)[:, :2], axis=1)
    assert (s.expert_ids == truth).all()
    props = np.argpartition(-logits.astype(np.float64), 1, axis=-1)[..., :2]
    s2 = settle_batch(props, num_experts=16)
    assert (s2.expert_ids[20:] == s.expert_ids[20:]).all()


def test_invalid_raise_mode_names_replica_and_token():
    p = np.array([[[0, 1]], [[0, 1]], [[0, 8]]])
    with pytest.raises(InvalidInput, match=r"replica 'replica-2' proposed \[0, 8\] for token 0"):
        settle_batch(p, num_experts=8, invalid="raise")
    with pytest.raises(InvalidInput, match="non-finite"):
        settle_batch(logits=np.array([[[0.0, np.nan]]]), k=1, invalid="raise")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(proposals=np.zeros((0, 3, 2), dtype=int), num_experts=4), "at least one replica"),
        (dict(proposals=np.zeros((2, 3, 2, 1), dtype=int), num_experts=4), "shape"),
        (dict(proposals=np.zeros((2, 3, 2)), num_experts=4), "integers"),
        (dict(proposals=np.zeros((2, 3, 2), dtype=bool), num_experts=4), "integers"),
        (dict(proposals=np.zeros((2, 3, 5), dtype=int), num_experts=4), "larger than"),
        (dict(proposals=np.zeros((2, 3, 0), dtype=int), num_experts=4), "at least 1"),
        (dict(proposals=np.zeros((2, 3, 2), dtype=int)), "num_experts is required"),
        (dict(proposals=np.zeros((2, 3, 2), dtype=int), num_experts=0), "num_experts"),
        (dict(proposals=np.zeros((2, 3, 2), dtype=int), num_experts=4, k=3), "k="),
        (dict(proposals=[np.zeros((3, 2), int), np.zeros((4, 2), int)], num_experts=4), "same number of tokens"),
        (dict(proposals=np.zeros((2, 3, 2), dtype=int), num_experts=4, replica_ids=["a", "a"]), "duplicate"),
        (dict(proposals=np.zeros((2, 3, 2), dtype=int), num_experts=4, replica_ids=["a"]), "1 ids for 2"),
        (dict(proposals=np.zeros((2, 3, 2), dtype=int), num_experts=4, invalid="ignore"), "invalid"),
        (dict(), "exactly one"),
        (dict(proposals=np.zeros((1, 1, 1), dtype=int), logits=np.zeros((1, 1, 2))), "exactly one"),
        (dict(logits=np.zeros((2, 3, 4))), "k is required"),
        (dict(logits=np.zeros((2, 3, 4)), k=5), "larger than"),
        (dict(logits=np.zeros((2, 3, 4)), k=0), "k"),
        (dict(logits=np.zeros((3, 4)), k=1), "shape"),
        (dict(logits=np.array([[["a", "b"]]]), k=1), "numeric"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(InvalidInput, match=match):
        settle_batch(**kwargs)


def test_torch_tensors_are_accepted():
    torch = pytest.importorskip("torch")
    props = torch.tensor([[[0, 1]], [[1, 0]], [[0, 1]]])
    s = settle_batch(props, num_experts=4)
    assert s.expert_ids.tolist() == [[0, 1]]
    logits = torch.randn(5, 8).expand(3, 5, 8)
    s = settle_batch(logits=logits, k=2)
    assert s.dispatched.all()
    s16 = settle_batch(logits=logits.to(torch.bfloat16), k=2)
    assert s16.num_tokens == 5


def test_input_is_not_modified():
    rng = np.random.default_rng(3)
    _, props = honest_batch(rng, 4, 50, 64, 2)
    before = props.copy()
    settle_batch(props, num_experts=64)
    assert (props == before).all()


# --- the narrow (uint8 / uint16 key) path for k <= 2 and <= 255 experts ---------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _fields(s):
    return (s.expert_ids.tolist(), s.dispatched.tolist(), s.votes.tolist(),
            s.disagreements.tolist(), s.abstentions.tolist(), s.to_dict())


def _both_paths(monkeypatch, *args, **kwargs):
    fast = settle_batch(*args, **kwargs)
    with monkeypatch.context() as m:
        m.setattr(batch_mod, "_NARROW", False)
        ref = settle_batch(*args, **kwargs)
    return fast, ref


@st.composite
def messy_proposals(draw):
    """Replicas drawn from a few shared sets, then corrupted: out-of-range and negative
    ids (near and far), duplicates, ids just past 64, and several integer dtypes."""
    r = draw(st.integers(1, 11))
    t = draw(st.integers(0, 40))
    k = draw(st.integers(1, 2))
    e = draw(st.sampled_from([k, k + 1, 3, 8, 63, 64, 65, 100, 128, 129, 200, 255]))
    e = max(e, k)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, e, (draw(st.integers(1, 3)), t, k))
    props = pool[rng.integers(0, len(pool), r)]
    lo, hi = draw(st.sampled_from([(0, e), (-3, e + 3), (60, 70), (250, 260), (-(2**40), 2**40)]))
    corrupt = rng.random((r, t, k)) < draw(st.floats(0, 0.6))
    props = np.where(corrupt, rng.integers(lo, hi, (r, t, k)), props)
    if k == 2:
        props[..., 1] = np.where(rng.random((r, t)) < 0.15, props[..., 0], props[..., 1])
    dtype = draw(st.sampled_from(["int64", "int32", "int16", "int8", "uint64", "uint8"]))
    if dtype.startswith("u"):
        props = np.abs(props)
    info = np.iinfo(dtype)
    props = np.clip(props, info.min, info.max).astype(dtype)
    if draw(st.booleans()):
        props = props[:, :, ::-1]  # non-contiguous
    return props, e


@settings(max_examples=300, deadline=None)
@given(messy_proposals())
def test_narrow_keys_match_the_bitmask_path_exactly(case):
    props, e = case
    with pytest.MonkeyPatch.context() as mp:
        fast, ref = _both_paths(mp, props, num_experts=e)
    # every field, the votes of withheld tokens included (they are sealed in receipts)
    assert _fields(fast) == _fields(ref)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 9), st.integers(0, 30), st.integers(1, 2), st.sampled_from([2, 5, 64, 100, 200]),
       st.integers(0, 2**32 - 1))
def test_narrow_logits_path_matches_the_bitmask_path(r, t, k, e, seed):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((1, t, e)).repeat(r, 0)
    drift = rng.random(r) < 0.3
    logits[drift] += rng.standard_normal((int(drift.sum()), t, e))
    bad = rng.random((r, t)) < 0.15
    logits[bad, int(rng.integers(0, e))] = rng.choice([np.nan, np.inf, -np.inf])
    with pytest.MonkeyPatch.context() as mp:
        fast, ref = _both_paths(mp, logits=logits, k=k)
    assert _fields(fast) == _fields(ref)


def test_narrow_path_duplicates_and_out_of_range_keep_bitmask_identities():
    # the bitmask keys make (y, y) the single bit y + 1, equal to (y + 1, >= 64), and
    # (63, 63) the empty set, equal to (>= 64, >= 64): a withheld token's Boyer–Moore
    # candidate (and so its votes) depends on those identities
    p = np.array([
        [[3, 3], [63, 63], [0, 1]],
        [[4, 99], [70, -1], [1, 0]],
        [[4, 200], [-5, 64], [0, 1]],
        [[5, 6], [5, 6], [2, 3]],
    ])
    s = settle_batch(p, num_experts=64)
    assert s.dispatched.tolist() == [False, False, True]
    assert s.votes.tolist() == [0, 0, 3]
    assert s.abstentions.tolist() == [2, 2, 2, 0]
    keys, _ = batch_mod._keys_narrow(p, None, 64)
    bitmask, _ = batch_mod._keys_bitmask(p, 64)
    assert ((keys[:, :, None] == keys[:, None, :]) == (bitmask[:, :, None] == bitmask[:, None, :])).all()
    assert ((keys[:, None] == keys[None]) == (bitmask[:, None] == bitmask[None])).all()


@pytest.mark.parametrize("r", [1, 2, 4, 7, 31, 64, 65, 130])
def test_majority_candidate_is_the_strict_majority_for_any_replica_count(r):
    rng = np.random.default_rng(r)
    t = 300
    keys = rng.integers(0, 3, (r, t)).astype(np.uint16)
    cand = batch_mod._majority_candidate(keys)
    for tok in range(t):
        values, counts = np.unique(keys[:, tok], return_counts=True)
        if counts.max() * 2 > r:
            assert cand[tok] == values[counts.argmax()]
    # the reference Boyer–Moore, step by step
    ref = keys[0].copy()
    count = np.ones(t, dtype=np.int64)
    for i in range(1, r):
        ref = np.where(count == 0, keys[i], ref)
        count += np.where(keys[i] == ref, 1, -1)
    assert (cand == ref).all()


@pytest.mark.parametrize("k", [1, 2])
def test_narrow_path_is_the_same_in_many_small_chunks(monkeypatch, k):
    # chunks reuse one scratch buffer: results must not depend on the chunking
    rng = np.random.default_rng(k)
    truth, props = honest_batch(rng, 7, 20_000, 64, k)
    props[5] = rng.integers(-2, 70, props[5].shape)
    props[6, ::3] = props[6, ::3, :1]  # duplicates (k = 2)
    whole = settle_batch(props, num_experts=64)
    monkeypatch.setattr(batch_mod, "_NARROW_CHUNK_KEYS", 1)  # 4096-token chunks
    chunked = settle_batch(props, num_experts=64)
    assert _fields(chunked) == _fields(whole)
    assert whole.dispatched.all() and (whole.expert_ids == np.sort(truth, axis=1)).all()


@pytest.mark.parametrize("kind", ["out_of_range", "duplicates", "random_sets", "nan_rows"])
def test_narrow_path_on_scattered_adversarial_input_matches_the_bitmask_path(monkeypatch, kind):
    # dense, scattered masks take the branch-free (xor blend) paths rather than the indexed ones
    rng = np.random.default_rng(len(kind))
    truth, props = honest_batch(rng, 7, 6000, 64, 2)
    if kind == "out_of_range":
        props[:3] = np.where(rng.random(props[:3].shape) < 0.5, rng.integers(-100, 300, props[:3].shape), props[:3])
    elif kind == "duplicates":
        props[:3, :, 1] = np.where(rng.random((3, 6000)) < 0.5, props[:3, :, 0], props[:3, :, 1])
        # (a, a) is the bitmask key of (a + 1, out of range): both in rows 0 and 1 of every
        # other token, which is then withheld, its Boyer–Moore candidate that shared key
        a = np.minimum(props[0, ::2, 0], 62)
        props[0, ::2] = a[:, None]
        props[1, ::2, 0], props[1, ::2, 1] = a + 1, 99
        props[2, ::2] = rng.integers(0, 64, props[2, ::2].shape)
    elif kind == "random_sets":  # Boyer–Moore restarts on most tokens, every other one withheld
        props[:2] = rng.integers(0, 64, props[:2].shape)
        props[2, ::2] = rng.integers(0, 64, props[2, ::2].shape)
    if kind == "nan_rows":
        logits = rng.standard_normal((1, 6000, 64)).repeat(7, 0)
        logits[:3][rng.random((3, 6000)) < 0.5] = np.nan
        fast, ref = _both_paths(monkeypatch, logits=logits, k=2)
        assert fast.abstentions[:3].min() > 2000
    else:
        fast, ref = _both_paths(monkeypatch, props, num_experts=64)
    assert _fields(fast) == _fields(ref)
    if kind == "random_sets":
        assert 2900 < fast.num_dispatched < 3100


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 300), st.floats(0, 1), st.sampled_from([np.uint8, np.uint16, np.uint64]),
       st.booleans(), st.integers(0, 2**32 - 1))
def test_put_is_a_masked_assignment(n, p, dtype, scalar, seed):
    rng = np.random.default_rng(seed)
    dst = rng.integers(0, np.iinfo(dtype).max, n, dtype=dtype, endpoint=True)
    src = dtype(rng.integers(0, 200)) if scalar else rng.integers(0, np.iinfo(dtype).max, n, dtype=dtype)
    mask = rng.random(n) < p
    want = dst.copy()
    want[mask] = src if scalar else src[mask]
    batch_mod._put(dst, src, mask)
    assert (dst == want).all()
