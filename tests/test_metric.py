"""lossbook.metric: distances, triplet mining and losses, contrastive loss, NT-Xent / InfoNCE.

References are independent of the implementation: torch.nn.functional.triplet_margin_loss,
torch.cdist, brute-force enumerations of triplets and double loops over anchors, and the
closed-form gradients derived in Chapter 5.
"""

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from support import assert_gradcheck, assert_keeps_dtype, assert_rejects_reduction

from lossbook import data
from lossbook import metric as M

F64 = torch.float64


def batch(n=12, dim=5, classes=3, seed=0, dtype=F64):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=g, dtype=dtype)
    y = torch.randint(classes, (n,), generator=g)
    return x, y


def triplets_rows(n=7, dim=4, seed=1, dtype=F64):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(n, dim, generator=g, dtype=dtype) for _ in range(3))


# ---------------------------------------------------------------------------- distances


class TestPairwiseDistances:
    @pytest.mark.parametrize("shape", [((6, 3), None), ((5, 4), (7, 4)), ((1, 2), (3, 2))])
    def test_against_brute_force(self, shape):
        g = torch.Generator().manual_seed(3)
        x = torch.randn(*shape[0], generator=g, dtype=F64)
        y = None if shape[1] is None else torch.randn(*shape[1], generator=g, dtype=F64)
        yy = x if y is None else y
        diff = x[:, None, :] - yy[None, :, :]
        torch.testing.assert_close(M.pairwise_distances(x, y), diff.norm(dim=-1))
        torch.testing.assert_close(
            M.pairwise_distances(x, y, distance="squared_euclidean"), (diff**2).sum(-1)
        )
        cos = F.cosine_similarity(x[:, None, :], yy[None, :, :], dim=-1)
        torch.testing.assert_close(M.pairwise_distances(x, y, distance="cosine"), 1 - cos)
        torch.testing.assert_close(M.pairwise_distances(x, y), torch.cdist(x, yy))

    def test_diagonal_is_exactly_zero(self):
        x, _ = batch(20, 8, dtype=torch.float32)
        d = M.pairwise_distances(100 * x)
        assert (d.diagonal() == 0).all()

    @pytest.mark.parametrize("distance", M.DISTANCES)
    def test_duplicates_give_finite_gradients(self, distance):
        x, _ = batch(6, 3)
        x = torch.cat([x, x[:2]]).requires_grad_(True)  # rows 6, 7 duplicate rows 0, 1
        M.pairwise_distances(x, distance=distance).sum().backward()
        assert torch.isfinite(x.grad).all()

    def test_gradcheck_away_from_zero(self):
        x, _ = batch(5, 3)
        y, _ = batch(4, 3, seed=1)
        for distance in M.DISTANCES:
            assert_gradcheck(lambda t, distance=distance: M.pairwise_distances(t, y, distance=distance), x)

    def test_half_precision_keeps_dtype(self):
        x, _ = batch(6, 3, dtype=torch.float16)
        for distance in M.DISTANCES:
            d = M.pairwise_distances(x, distance=distance)
            assert d.dtype == torch.float16 and torch.isfinite(d).all()

    def test_rejects_bad_input(self):
        x, _ = batch(4, 3)
        with pytest.raises(ValueError, match="distance must be one of"):
            M.pairwise_distances(x, distance="manhattan")
        with pytest.raises(ValueError, match="x must be a 2-D tensor"):
            M.pairwise_distances(x[0])
        with pytest.raises(ValueError, match="same number of columns"):
            M.pairwise_distances(x, x[:, :2])
        with pytest.raises(TypeError, match="x must be a floating-point"):
            M.pairwise_distances(torch.ones(3, 2, dtype=torch.long))


# ---------------------------------------------------------------------------- explicit triplets


class TestTripletMarginLoss:
    @pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
    @pytest.mark.parametrize("margin", [0.1, 0.5, 2.0])
    @pytest.mark.parametrize("n", [1, 7])
    def test_against_torch(self, reduction, margin, n):
        a, p, neg = triplets_rows(n)
        ours = M.triplet_margin_loss(a, p, neg, margin=margin, reduction=reduction)
        ref = F.triplet_margin_loss(a, p, neg, margin=margin, p=2, eps=0.0, reduction=reduction)
        torch.testing.assert_close(ours, ref)

    def test_fixed_triplet_by_hand(self):
        a, p, n = torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 4.0]]), torch.tensor([[1.0, 0.0]])
        # d(a, p) = 5, d(a, n) = 1: loss = 5 - 1 + 0.5
        assert M.triplet_margin_loss(a, p, n, margin=0.5).item() == 4.5
        # squared: 25 - 1 + 0.5
        assert M.triplet_margin_loss(a, p, n, margin=0.5, distance="squared_euclidean").item() == 24.5
        assert M.triplet_margin_loss(a, n, p, margin=0.5).item() == 0.0

    def test_reduction_algebra(self):
        a, p, n = triplets_rows()
        none = M.triplet_margin_loss(a, p, n, margin=1.0, reduction="none")
        torch.testing.assert_close(M.triplet_margin_loss(a, p, n, reduction="sum"), none.sum())
        torch.testing.assert_close(M.triplet_margin_loss(a, p, n, reduction="mean"), none.mean())

    @pytest.mark.parametrize("distance", ["euclidean", "squared_euclidean"])
    def test_closed_form_gradient_equals_autograd(self, distance):
        a, p, n = triplets_rows(40)
        margin = 2.0 if distance == "euclidean" else 6.0
        xs = [t.clone().requires_grad_(True) for t in (a, p, n)]
        loss = M.triplet_margin_loss(*xs, margin=margin, distance=distance, reduction="none")
        assert 0 < int((loss > 0).sum()) < 40  # both active and inactive triplets
        loss.sum().backward()
        closed = M.triplet_margin_loss_grad(a, p, n, margin=margin, distance=distance)
        for c, x in zip(closed, xs, strict=True):
            torch.testing.assert_close(c, x.grad)

    def test_squared_gradient_formulas(self):
        # the chapter's derivation: grad_a = 2(n - p), grad_p = 2(p - a), grad_n = 2(a - n)
        a, p, n = triplets_rows(5)
        ga, gp, gn = M.triplet_margin_loss_grad(a, p, n, margin=100.0, distance="squared_euclidean")
        torch.testing.assert_close(ga, 2 * (n - p))
        torch.testing.assert_close(gp, 2 * (p - a))
        torch.testing.assert_close(gn, 2 * (a - n))
        assert not torch.allclose(gn, 2 * (n - a))  # the sign usually quoted is wrong

    def test_gradcheck(self):
        a, p, n = triplets_rows()
        for distance in M.DISTANCES:
            assert_gradcheck(
                lambda t, distance=distance: M.triplet_margin_loss(t, p, n, margin=3.0, distance=distance), a
            )

    def test_keeps_dtype(self):
        for dtype in (torch.float16, torch.bfloat16, torch.float32):
            a, p, n = triplets_rows(dtype=dtype)
            assert_keeps_dtype(lambda x, *r, **k: M.triplet_margin_loss(x, *r, **k), a, p, n)

    def test_errors(self):
        a, p, n = triplets_rows()
        assert_rejects_reduction(M.triplet_margin_loss, a, p, n)
        with pytest.raises(ValueError, match="margin must be non-negative"):
            M.triplet_margin_loss(a, p, n, margin=-1.0)
        with pytest.raises(ValueError, match="anchor and negative must have the same shape"):
            M.triplet_margin_loss(a, p, n[:3])
        with pytest.raises(ValueError, match="anchor and positive must have the same shape"):
            M.triplet_margin_loss(a, p[:, :2], n)
        with pytest.raises(TypeError, match="positive must be a floating-point"):
            M.triplet_margin_loss(a, p.long(), n)
        with pytest.raises(ValueError, match="distance must be one of"):
            M.triplet_margin_loss(a, p, n, distance="l1")
        with pytest.raises(ValueError, match="closed-form gradient"):
            M.triplet_margin_loss_grad(a, p, n, distance="cosine")


# ---------------------------------------------------------------------------- miners


def brute_force(d, y, kind, margin):
    out = []
    b = len(y)
    for a, p, n in itertools.product(range(b), repeat=3):
        if a == p or y[a] != y[p] or y[n] == y[a]:
            continue
        dap, dan = d[a][p], d[a][n]
        ok = {
            "all": True,
            "hard": dan < dap,
            "semihard": dap < dan < dap + margin,
            "easy": dan >= dap + margin,
        }[kind]
        if ok:
            out.append((a, p, n))
    return out


def brute_force_batch_hard(d, y):
    out = []
    for a in range(len(y)):
        pos = [j for j in range(len(y)) if j != a and y[j] == y[a]]
        neg = [j for j in range(len(y)) if y[j] != y[a]]
        if pos and neg:
            p = max(pos, key=lambda j: (d[a][j], -j))  # farthest, first index on ties
            n = min(neg, key=lambda j: (d[a][j], j))  # closest, first index on ties
            out.append((a, p, n))
    return out


def as_list(triplets):
    return list(zip(*(t.tolist() for t in triplets), strict=True))


labelled_batches = st.integers(2, 9).flatmap(
    lambda b: st.tuples(
        st.lists(st.integers(0, 3), min_size=b, max_size=b),
        st.lists(st.integers(0, 6), min_size=b * 2, max_size=b * 2),  # coarse coordinates: ties happen
    )
)


class TestMiners:
    @settings(max_examples=60, deadline=None)
    @given(labelled_batches, st.sampled_from(M.TRIPLET_KINDS), st.sampled_from([0.0, 0.5, 1.0, 3.0]))
    def test_select_triplets_equals_brute_force(self, batch_, kind, margin):
        labels, coords = batch_
        y = torch.tensor(labels)
        x = torch.tensor(coords, dtype=F64).reshape(len(labels), 2)
        d = M.pairwise_distances(x)
        got = as_list(M.select_triplets(d, y, kind=kind, margin=margin))
        assert got == brute_force(d.tolist(), labels, kind, margin)

    @settings(max_examples=60, deadline=None)
    @given(labelled_batches)
    def test_batch_hard_equals_brute_force(self, batch_):
        labels, coords = batch_
        y = torch.tensor(labels)
        x = torch.tensor(coords, dtype=F64).reshape(len(labels), 2)
        d = M.pairwise_distances(x, distance="squared_euclidean")
        assert as_list(M.batch_hard_triplets(d, y)) == brute_force_batch_hard(d.tolist(), labels)

    def test_batch_hard_random_ties_are_ties_and_reproducible(self):
        y = torch.tensor([0, 0, 0, 1, 1, 1])
        x = torch.tensor([[0.0], [1.0], [-1.0], [3.0], [-3.0], [5.0]], dtype=F64)
        d = M.pairwise_distances(x)
        seen = set()
        for seed in range(20):
            a, p, n = M.batch_hard_triplets(d, y, generator=torch.Generator().manual_seed(seed))
            assert p[0].item() in (1, 2) and n[0].item() in (3, 4)  # anchor 0: two tied choices each
            seen.add((p[0].item(), n[0].item()))
            again = M.batch_hard_triplets(d, y, generator=torch.Generator().manual_seed(seed))
            assert all(torch.equal(u, v) for u, v in zip((a, p, n), again, strict=True))
        assert len(seen) > 1
        assert as_list(M.batch_hard_triplets(d, y))[0] == (0, 1, 3)  # first index without generator

    def test_partition_of_valid_triplets(self):
        x, y = batch(16, 3, seed=5)
        d = M.pairwise_distances(x)
        sizes = {k: len(M.select_triplets(d, y, kind=k, margin=0.7)[0]) for k in M.TRIPLET_KINDS}
        assert sizes["hard"] + sizes["semihard"] + sizes["easy"] == sizes["all"]  # no ties here

    def test_batch_all_count(self):
        # P classes of K: P K (K - 1) (P K - K) valid triplets
        y = torch.arange(4).repeat_interleave(3)
        d = torch.zeros(12, 12)
        assert len(M.select_triplets(d, y)[0]) == 4 * 3 * 2 * 9

    def test_errors(self):
        x, y = batch()
        d = M.pairwise_distances(x)
        with pytest.raises(ValueError, match="kind must be one of"):
            M.select_triplets(d, y, kind="hardest")
        with pytest.raises(ValueError, match="margin must be given"):
            M.select_triplets(d, y, kind="semihard")
        with pytest.raises(ValueError, match="margin must be non-negative"):
            M.select_triplets(d, y, kind="easy", margin=-0.1)
        with pytest.raises(ValueError, match="distances must be a square matrix"):
            M.select_triplets(d[:, :5], y)
        with pytest.raises(ValueError, match="labels must have shape"):
            M.select_triplets(d, y[:5])
        with pytest.raises(TypeError, match="labels must hold integer"):
            M.batch_hard_triplets(d, y.double())
        with pytest.raises(TypeError, match="generator must be a torch.Generator"):
            M.batch_hard_triplets(d, y, generator=0)


# ---------------------------------------------------------------------------- triplet loss on a batch


class TestTripletLoss:
    @pytest.mark.parametrize("mining", M.TRIPLET_KINDS + ("batch_hard",))
    @pytest.mark.parametrize("distance", M.DISTANCES)
    def test_equals_explicit_triplets(self, mining, distance):
        x, y = batch(14, 4, seed=2)
        d = M.pairwise_distances(x, distance=distance)
        if mining == "batch_hard":
            a, p, n = M.batch_hard_triplets(d, y)
        else:
            a, p, n = M.select_triplets(d, y, kind=mining, margin=0.3)
        ref = M.triplet_margin_loss(x[a], x[p], x[n], margin=0.3, distance=distance, reduction="none")
        out = M.triplet_loss(x, y, margin=0.3, mining=mining, distance=distance, reduction="none")
        torch.testing.assert_close(out, ref)

    def test_batch_hard_fast_path_has_the_gradient_of_the_mined_triplets(self):
        x, y = batch(14, 4, seed=2)
        a, p, n = M.batch_hard_triplets(M.pairwise_distances(x), y)
        leaf = x.clone().requires_grad_(True)
        M.triplet_loss(leaf, y, margin=0.3, mining="batch_hard", reduction="sum").backward()
        ref = x.clone().requires_grad_(True)
        M.triplet_margin_loss(ref[a], ref[p], ref[n], margin=0.3, reduction="sum").backward()
        torch.testing.assert_close(leaf.grad, ref.grad)
        # the generator path mines the same triplets when there are no ties
        g = torch.Generator().manual_seed(0)
        torch.testing.assert_close(
            M.triplet_loss(x, y, mining="batch_hard", generator=g, reduction="none"),
            M.triplet_loss(x, y, mining="batch_hard", reduction="none"),
        )

    def test_reduction_algebra_and_counts(self):
        x, y = batch(14, 4, seed=2)
        none = M.triplet_loss(x, y, margin=0.5, reduction="none")
        torch.testing.assert_close(M.triplet_loss(x, y, margin=0.5, reduction="sum"), none.sum())
        torch.testing.assert_close(M.triplet_loss(x, y, margin=0.5, reduction="mean"), none.mean())
        loss, counts = M.triplet_loss(x, y, margin=0.5, reduction="mean_active", return_counts=True)
        assert counts == M.TripletCounts(none.numel(), int((none > 0).sum()))
        torch.testing.assert_close(loss, none[none > 0].mean())

    @pytest.mark.parametrize("reduction", M.TRIPLET_REDUCTIONS)
    def test_no_valid_triplet_is_a_zero_that_backpropagates(self, reduction):
        x = torch.randn(5, 3, dtype=F64, requires_grad=True)
        loss, counts = M.triplet_loss(
            x, torch.zeros(5, dtype=torch.long), reduction=reduction, return_counts=True
        )
        assert counts == (0, 0) and loss.sum().item() == 0.0
        loss.sum().backward()
        assert torch.equal(x.grad, torch.zeros_like(x))

    def test_easy_triplets_carry_no_gradient(self):
        x, y = batch(14, 4, seed=2)
        x.requires_grad_(True)
        loss, counts = M.triplet_loss(x, y, margin=0.3, mining="easy", return_counts=True)
        loss.backward()
        assert counts.num_triplets > 0 and counts.num_active == 0
        assert torch.equal(x.grad, torch.zeros_like(x))

    @pytest.mark.parametrize("mining", ["all", "batch_hard", "semihard"])
    @pytest.mark.parametrize("distance", M.DISTANCES)
    def test_duplicate_embeddings_give_finite_gradients(self, mining, distance):
        x, y = batch(8, 3, seed=4)
        x = torch.cat([x, x, torch.zeros(2, 3, dtype=F64)]).requires_grad_(True)
        y = torch.cat([y, y, torch.tensor([0, 1])])
        M.triplet_loss(x, y, margin=0.5, mining=mining, distance=distance).backward()
        assert torch.isfinite(x.grad).all()

    def test_gradcheck(self):
        x, y = batch(8, 3, seed=6)
        for mining in ("all", "batch_hard"):
            assert_gradcheck(lambda t, mining=mining: M.triplet_loss(t, y, margin=1.0, mining=mining), x)

    @pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
    def test_keeps_dtype(self, dtype):
        x, y = batch(10, 4, dtype=dtype)
        for reduction in M.TRIPLET_REDUCTIONS:
            out = M.triplet_loss(x, y, reduction=reduction)
            assert out.dtype == dtype and torch.isfinite(out).all()

    def test_errors(self):
        x, y = batch()
        assert_rejects_reduction(M.triplet_loss, x, y)
        with pytest.raises(ValueError, match="mining must be one of"):
            M.triplet_loss(x, y, mining="hardest")
        with pytest.raises(ValueError, match="margin must be non-negative"):
            M.triplet_loss(x, y, margin=-0.2)
        with pytest.raises(ValueError, match="labels must have shape"):
            M.triplet_loss(x, y[:-1])
        with pytest.raises(ValueError, match="embeddings must be a 2-D tensor"):
            M.triplet_loss(x[0], y[:1])
        with pytest.raises(TypeError, match="labels must hold integer"):
            M.triplet_loss(x, y.float())
        with pytest.raises(ValueError, match="distance must be one of"):
            M.triplet_loss(x, y, distance="dot")


# ---------------------------------------------------------------------------- contrastive


def pairs(n=9, dim=3, seed=7):
    g = torch.Generator().manual_seed(seed)
    x1 = torch.randn(n, dim, generator=g, dtype=F64)
    x2 = torch.randn(n, dim, generator=g, dtype=F64)
    t = torch.randint(2, (n,), generator=g)
    return x1, x2, t


class TestContrastive:
    @pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
    def test_against_formula(self, reduction):
        x1, x2, t = pairs()
        d = [math.dist(u, v) for u, v in zip(x1.tolist(), x2.tolist(), strict=True)]
        ref = torch.tensor(
            [
                0.5 * di**2 if ti == 1 else 0.5 * max(0.0, 2.0 - di) ** 2
                for di, ti in zip(d, t.tolist(), strict=True)
            ],
            dtype=F64,
        )
        ref = {"none": ref, "mean": ref.mean(), "sum": ref.sum()}[reduction]
        torch.testing.assert_close(M.contrastive_loss(x1, x2, t, margin=2.0, reduction=reduction), ref)

    def test_convention_against_hinge_embedding_loss(self):
        # torch's hinge_embedding_loss on d^2/2 with y = +1 (similar) equals our similar-pair term
        x1, x2, _ = pairs()
        d = (x1 - x2).norm(dim=1)
        ours = M.contrastive_loss(x1, x2, torch.ones(9, dtype=torch.long), reduction="none")
        torch.testing.assert_close(
            ours, F.hinge_embedding_loss(0.5 * d**2, torch.ones(9, dtype=F64), reduction="none")
        )

    def test_reduction_algebra(self):
        x1, x2, t = pairs()
        none = M.contrastive_loss(x1, x2, t, reduction="none")
        torch.testing.assert_close(M.contrastive_loss(x1, x2, t, reduction="sum"), none.sum())
        torch.testing.assert_close(M.contrastive_loss(x1, x2, t, reduction="mean"), none.mean())

    def test_closed_form_gradient_for_similar_and_dissimilar_pairs(self):
        x1, x2, t = pairs(40)
        assert 0 < int(t.sum()) < 40
        xa = x1.clone().requires_grad_(True)
        xb = x2.clone().requires_grad_(True)
        M.contrastive_loss(xa, xb, t, margin=2.0, reduction="sum").backward()
        closed = M.contrastive_loss_grad(x1, x2, t, margin=2.0)
        torch.testing.assert_close(closed, xa.grad)
        torch.testing.assert_close(-closed, xb.grad)
        # the formulas usually quoted: (x1 - x2) d for similar pairs is wrong
        sim = t == 1
        d = (x1 - x2).norm(dim=1, keepdim=True)
        assert not torch.allclose(xa.grad[sim], ((x1 - x2) * d)[sim])

    def test_dissimilar_pairs_beyond_margin_and_coincident_pairs(self):
        x1 = torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]], dtype=F64, requires_grad=True)
        x2 = torch.tensor([[3.0, 0.0], [0.0, 0.0], [1.0, 1.0]], dtype=F64)
        t = torch.tensor([0, 0, 1])
        loss = M.contrastive_loss(x1, x2, t, margin=1.0, reduction="none")
        assert loss.tolist() == [0.0, 0.5, 0.0]
        loss.sum().backward()
        assert torch.isfinite(x1.grad).all() and torch.equal(x1.grad, torch.zeros_like(x1))

    def test_gradcheck(self):
        x1, x2, t = pairs()
        assert_gradcheck(lambda a: M.contrastive_loss(a, x2, t, margin=2.0), x1)

    @pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
    def test_keeps_dtype(self, dtype):
        x1, x2, t = pairs()
        assert_keeps_dtype(lambda a, *r, **k: M.contrastive_loss(a, *r, **k), x1.to(dtype), x2.to(dtype), t)

    def test_errors(self):
        x1, x2, t = pairs()
        assert_rejects_reduction(M.contrastive_loss, x1, x2, t)
        with pytest.raises(IndexError, match="target holds class index 2"):
            M.contrastive_loss(x1, x2, torch.full((9,), 2))
        with pytest.raises(IndexError, match="target holds class index -1"):
            M.contrastive_loss(x1, x2, 2 * t - 1)
        with pytest.raises(TypeError, match="target must hold integer"):
            M.contrastive_loss(x1, x2, t.double())
        with pytest.raises(ValueError, match="target must have shape"):
            M.contrastive_loss(x1, x2, t[:3])
        with pytest.raises(ValueError, match="x1 and x2 must have the same shape"):
            M.contrastive_loss(x1, x2[:3], t)
        with pytest.raises(ValueError, match="margin must be positive"):
            M.contrastive_loss(x1, x2, t, margin=0.0)


# ---------------------------------------------------------------------------- NT-Xent / InfoNCE


def nt_xent_double_loop(z1, z2, tau):
    z = torch.cat([z1, z2]).tolist()
    n2 = len(z)
    n = n2 // 2

    def cos(u, v):
        dot = sum(a * b for a, b in zip(u, v, strict=True))
        return dot / math.sqrt(sum(a * a for a in u) * sum(b * b for b in v))

    losses = []
    for i in range(n2):
        pos = (i + n) % n2
        denom = sum(math.exp(cos(z[i], z[k]) / tau) for k in range(n2) if k != i)
        losses.append(-math.log(math.exp(cos(z[i], z[pos]) / tau) / denom))
    return torch.tensor(losses, dtype=F64)


class TestNTXent:
    @pytest.mark.parametrize("n", [1, 2, 6])
    @pytest.mark.parametrize("tau", [0.07, 0.5, 2.0])
    def test_against_double_loop(self, n, tau):
        z1, _ = batch(n, 4, seed=8)
        z2, _ = batch(n, 4, seed=9)
        torch.testing.assert_close(
            M.nt_xent(z1, z2, temperature=tau, reduction="none"), nt_xent_double_loop(z1, z2, tau)
        )

    def test_reduction_algebra(self):
        z1, _ = batch(6, 4, seed=8)
        z2, _ = batch(6, 4, seed=9)
        none = M.nt_xent(z1, z2, reduction="none")
        torch.testing.assert_close(M.nt_xent(z1, z2, reduction="sum"), none.sum())
        torch.testing.assert_close(M.nt_xent(z1, z2, reduction="mean"), none.mean())

    def test_gradcheck(self):
        z1, _ = batch(4, 3, seed=8)
        z2, _ = batch(4, 3, seed=9)
        assert_gradcheck(lambda a: M.nt_xent(a, z2, temperature=0.3), z1)

    def test_float16_at_tau_007_is_finite_and_close(self):
        z1, _ = batch(64, 16, seed=10, dtype=torch.float32)
        z2 = z1 + 0.1 * batch(64, 16, seed=11, dtype=torch.float32)[0]
        h1, h2 = z1.half().requires_grad_(True), z2.half().requires_grad_(True)
        loss = M.nt_xent(h1, h2, temperature=0.07)
        loss.backward()
        assert loss.dtype == torch.float16
        assert torch.isfinite(h1.grad).all() and torch.isfinite(h2.grad).all()
        ref = M.nt_xent(h1.detach().double(), h2.detach().double(), temperature=0.07)
        assert abs(loss.item() - ref.item()) < 1e-2 * max(1.0, ref.item())
        # the naive float16 computation overflows: exp(1/0.07) > 65504
        assert torch.isinf(torch.exp(torch.tensor(1 / 0.07, dtype=torch.float16)))

    def test_duplicate_embeddings_give_finite_gradients(self):
        z = torch.ones(4, 3, dtype=torch.float32, requires_grad=True)
        M.nt_xent(z, z.detach().clone(), temperature=0.07).backward()
        assert torch.isfinite(z.grad).all()

    @pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
    def test_keeps_dtype(self, dtype):
        z1, _ = batch(5, 4, seed=8, dtype=dtype)
        assert_keeps_dtype(lambda a, *r, **k: M.nt_xent(a, *r, **k), z1, z1.flip(0))

    def test_errors(self):
        z1, _ = batch(5, 4)
        assert_rejects_reduction(M.nt_xent, z1, z1)
        for bad in (0.0, -0.1, float("nan")):
            with pytest.raises(ValueError, match="temperature must be positive"):
                M.nt_xent(z1, z1, temperature=bad)
        with pytest.raises(ValueError, match="z1 and z2 must have the same shape"):
            M.nt_xent(z1, z1[:3])
        with pytest.raises(ValueError, match="z1 must be a 2-D tensor"):
            M.nt_xent(z1[0], z1[0])
        with pytest.raises(TypeError, match="z2 must be a floating-point"):
            M.nt_xent(z1, z1.long())


class TestInfoNCE:
    def test_info_nce_is_cross_entropy_over_cosine_logits(self):
        q, _ = batch(7, 4, seed=12)
        k, _ = batch(7, 4, seed=13)
        logits = F.cosine_similarity(q[:, None], k[None], dim=-1) / 0.2
        ref = torch.stack([-(logits[i, i] - torch.logsumexp(logits[i], 0)) for i in range(7)])
        torch.testing.assert_close(M.info_nce(q, k, temperature=0.2, reduction="none"), ref)
        torch.testing.assert_close(M.info_nce_from_scores(logits), ref.mean())

    @settings(max_examples=40, deadline=None)
    @given(st.integers(1, 12), st.integers(0, 10_000), st.floats(0.01, 100.0))
    def test_bound_never_exceeds_log_n(self, n, seed, scale):
        g = torch.Generator().manual_seed(seed)
        scores = scale * torch.randn(n, n, generator=g, dtype=F64)
        scores += 50 * scale * torch.eye(n, dtype=F64)  # even a near-perfect critic
        loss = M.info_nce_from_scores(scores)
        assert loss.item() >= 0 and math.log(n) - loss.item() <= math.log(n)

    def test_reduction_algebra_and_gradcheck(self):
        q, _ = batch(6, 4, seed=12)
        k, _ = batch(6, 4, seed=13)
        none = M.info_nce(q, k, reduction="none")
        torch.testing.assert_close(M.info_nce(q, k, reduction="sum"), none.sum())
        torch.testing.assert_close(M.info_nce(q, k, reduction="mean"), none.mean())
        assert_gradcheck(lambda a: M.info_nce(a, k, temperature=0.5), q)

    def test_float16_keeps_dtype_and_is_finite(self):
        q, _ = batch(32, 8, seed=12, dtype=torch.float16)
        q.requires_grad_(True)
        loss = M.info_nce(q, q.detach(), temperature=0.07)
        loss.backward()
        assert loss.dtype == torch.float16 and torch.isfinite(loss) and torch.isfinite(q.grad).all()

    def test_errors(self):
        q, _ = batch(6, 4)
        assert_rejects_reduction(M.info_nce, q, q)
        assert_rejects_reduction(M.info_nce_from_scores, q[:, :4][:4])
        with pytest.raises(ValueError, match="temperature must be positive"):
            M.info_nce(q, q, temperature=0)
        with pytest.raises(ValueError, match="query and key must have the same shape"):
            M.info_nce(q, q[:2])
        with pytest.raises(ValueError, match="scores must be a square matrix"):
            M.info_nce_from_scores(q)


# ---------------------------------------------------------------------------- retrieval and data


class TestRecallAtK:
    def test_against_brute_force(self):
        x, y = batch(15, 3, seed=14)
        d = torch.cdist(x, x).tolist()
        for k in (1, 3):
            hits = 0
            for i in range(15):
                order = sorted((j for j in range(15) if j != i), key=lambda j: d[i][j])
                hits += any(y[j] == y[i] for j in order[:k])
            assert M.recall_at_k(x, y, k=k).item() == pytest.approx(hits / 15)

    def test_perfect_and_dtype(self):
        x = torch.tensor([[0.0], [0.1], [5.0], [5.1]])
        assert M.recall_at_k(x, torch.tensor([0, 0, 1, 1])).item() == 1.0
        assert M.recall_at_k(x, torch.tensor([0, 1, 0, 1])).item() == 0.0
        assert M.recall_at_k(x, torch.tensor([0, 0, 1, 1])).dtype == torch.float32

    def test_errors(self):
        x, y = batch(5, 2)
        for bad in (0, 5, 1.0, True):
            with pytest.raises(ValueError, match="k must be an int"):
                M.recall_at_k(x, y, k=bad)


class TestData:
    def test_clustered_data(self):
        x, y = data.clustered_data(50, 4, d=6, seed=3)
        assert x.shape == (50, 6) and y.shape == (50,) and x.dtype == F64
        assert torch.bincount(y).tolist() == [13, 13, 12, 12]
        x2, y2 = data.clustered_data(50, 4, d=6, seed=3)
        assert torch.equal(x, x2) and torch.equal(y, y2)
        # class means sit on the circle of the given radius in the first two coordinates
        xb, yb = data.clustered_data(40_000, 4, d=3, radius=2.0, nuisance=0.5, seed=1)
        means = torch.stack([xb[yb == k].mean(0) for k in range(4)])
        torch.testing.assert_close(
            means[:, :2].norm(dim=1), torch.full((4,), 2.0, dtype=F64), atol=0.05, rtol=0
        )
        assert abs(xb[:, 2].std().item() - 0.5) < 0.01
        with pytest.raises(ValueError, match="num_classes must be at least 2"):
            data.clustered_data(10, 1)
        with pytest.raises(ValueError, match="nuisance must be non-negative"):
            data.clustered_data(10, 2, nuisance=-1.0)

    def test_correlated_gaussians(self):
        x, y = data.correlated_gaussians(200_000, d=2, rho=0.8, seed=2)
        assert x.shape == y.shape == (200_000, 2)
        corr = ((x - x.mean(0)) * (y - y.mean(0))).mean(0) / (x.std(0) * y.std(0))
        torch.testing.assert_close(corr, torch.full((2,), 0.8, dtype=F64), atol=5e-3, rtol=0)
        for bad in (1.0, -1.0, 1.5):
            with pytest.raises(ValueError, match="rho must be in"):
                data.correlated_gaussians(10, rho=bad)
