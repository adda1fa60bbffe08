"""lossbook.sequence: teacher-forced cross-entropy, scheduled sampling, CTC and its decoders.

References are independent of the implementation: torch.nn.functional.cross_entropy and
torch.nn.functional.ctc_loss, brute-force enumeration of alignments and of labellings,
and autograd through the plain forward recursion.
"""

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from support import assert_rejects_reduction

from lossbook import data
from lossbook import sequence as S

f64 = torch.float64


def padded_batch(seed=0, N=4, T=7, C=5, dtype=f64, ignore_index=-100):
    g = data.generator(seed)
    z = torch.randn(N, T, C, generator=g, dtype=dtype)
    y = torch.randint(0, C, (N, T), generator=g)
    lengths = torch.randint(1, T + 1, (N,), generator=g)
    y = torch.where(torch.arange(T) < lengths[:, None], y, ignore_index)
    return z, y, lengths


# ------------------------------------------------------------------------- sequence_cross_entropy


class TestSequenceCrossEntropy:
    @pytest.mark.parametrize("shape", [(1, 1, 2), (3, 5, 4), (6, 9, 11)])
    @pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
    @pytest.mark.parametrize("ignore_index", [-100, 0])
    def test_token_average_matches_torch(self, shape, reduction, ignore_index):
        z, y, _ = padded_batch(seed=sum(shape), N=shape[0], T=shape[1], C=shape[2], ignore_index=ignore_index)
        a = z.clone().requires_grad_(True)
        b = z.clone().requires_grad_(True)
        ours = S.sequence_cross_entropy(a, y, ignore_index=ignore_index, reduction=reduction)
        ref = F.cross_entropy(b.transpose(1, 2), y, ignore_index=ignore_index, reduction=reduction)
        torch.testing.assert_close(ours, ref)
        ours.sum().backward()
        ref.sum().backward()
        torch.testing.assert_close(a.grad, b.grad)

    def test_sequence_average_is_mean_of_per_sequence_means(self):
        z, y, lengths = padded_batch(seed=3, N=5, T=8)
        none = S.sequence_cross_entropy(z, y, reduction="none")
        expected = torch.stack([none[n, : lengths[n]].mean() for n in range(5)]).mean()
        torch.testing.assert_close(S.sequence_cross_entropy(z, y, average="sequence"), expected)

    def test_token_and_sequence_averages_differ_with_unequal_lengths(self):
        z, y, lengths = padded_batch(seed=4, N=5, T=8)
        assert len(set(lengths.tolist())) > 1
        tok = S.sequence_cross_entropy(z, y, average="token")
        seq = S.sequence_cross_entropy(z, y, average="sequence")
        assert abs(float(tok - seq)) > 1e-3

    def test_averages_agree_with_equal_lengths(self):
        g = data.generator(5)
        z = torch.randn(3, 6, 4, generator=g, dtype=f64)
        y = torch.randint(0, 4, (3, 6), generator=g)
        torch.testing.assert_close(
            S.sequence_cross_entropy(z, y, average="token"),
            S.sequence_cross_entropy(z, y, average="sequence"),
        )

    def test_reduction_algebra(self):
        z, y, _ = padded_batch(seed=6)
        none = S.sequence_cross_entropy(z, y, reduction="none")
        mask = y != -100
        assert torch.all(none[~mask] == 0)
        torch.testing.assert_close(S.sequence_cross_entropy(z, y, reduction="sum"), none.sum())
        torch.testing.assert_close(S.sequence_cross_entropy(z, y), none.sum() / mask.sum())

    def test_sequence_average_skips_empty_sequences(self):
        z, y, _ = padded_batch(seed=7, N=3)
        y2 = y.clone()
        y2[1] = -100
        keep = [0, 2]
        torch.testing.assert_close(
            S.sequence_cross_entropy(z, y2, average="sequence"),
            S.sequence_cross_entropy(z[keep], y2[keep], average="sequence"),
        )

    @pytest.mark.parametrize("average", ["token", "sequence"])
    def test_everything_ignored_gives_zero_that_backpropagates(self, average):
        z = torch.randn(2, 3, 4, dtype=f64, requires_grad=True)
        y = torch.full((2, 3), -100)
        loss = S.sequence_cross_entropy(z, y, average=average)
        assert float(loss.detach()) == 0.0
        loss.backward()
        assert torch.equal(z.grad, torch.zeros_like(z))

    def test_gradcheck(self):
        z, y, _ = padded_batch(seed=8, N=2, T=4, C=3)
        for average in ("token", "sequence"):
            assert torch.autograd.gradcheck(
                lambda t, average=average: S.sequence_cross_entropy(t, y, average=average),
                (z.clone().requires_grad_(True),),
            )

    @pytest.mark.parametrize("dtype", [torch.float32, f64, torch.float16, torch.bfloat16])
    def test_keeps_dtype_and_is_finite_at_extremes(self, dtype):
        z, y, _ = padded_batch(seed=9, dtype=torch.float32)
        # the summed loss of logits at 1e4 exceeds float16's range (65504); 1e2 keeps it finite
        z = (z * (1e2 if dtype == torch.float16 else 1e4)).to(dtype)
        for reduction in ("none", "mean", "sum"):
            out = S.sequence_cross_entropy(z, y, reduction=reduction)
            assert out.dtype == dtype and out.device == z.device
            assert torch.isfinite(out).all()

    def test_rejects_reduction(self):
        z, y, _ = padded_batch()
        assert_rejects_reduction(S.sequence_cross_entropy, z, y)

    def test_rejects_average(self):
        z, y, _ = padded_batch()
        with pytest.raises(ValueError, match="average"):
            S.sequence_cross_entropy(z, y, average="batch")

    def test_rejects_integer_logits(self):
        with pytest.raises(TypeError, match="logits"):
            S.sequence_cross_entropy(
                torch.zeros(2, 3, 4, dtype=torch.long), torch.zeros(2, 3, dtype=torch.long)
            )

    def test_rejects_float_targets(self):
        with pytest.raises(TypeError, match="targets"):
            S.sequence_cross_entropy(torch.zeros(2, 3, 4), torch.zeros(2, 3))

    def test_rejects_wrong_logits_rank(self):
        with pytest.raises(ValueError, match="logits must have shape"):
            S.sequence_cross_entropy(torch.zeros(6, 4), torch.zeros(6, dtype=torch.long))

    def test_rejects_target_shape(self):
        with pytest.raises(ValueError, match="targets must have shape"):
            S.sequence_cross_entropy(torch.zeros(2, 3, 4), torch.zeros(3, 2, dtype=torch.long))

    def test_rejects_class_out_of_range(self):
        with pytest.raises(IndexError, match="targets"):
            S.sequence_cross_entropy(torch.zeros(1, 2, 4), torch.tensor([[0, 4]]))

    def test_rejects_non_integer_ignore_index(self):
        with pytest.raises(TypeError, match="ignore_index"):
            S.sequence_cross_entropy(torch.zeros(1, 2, 4), torch.tensor([[0, 1]]), ignore_index=1.5)

    @settings(max_examples=40, deadline=None)
    @given(st.integers(1, 4), st.integers(1, 6), st.integers(2, 5), st.integers(0, 10_000))
    def test_property_nonnegative_and_bounded_by_max_token(self, N, T, C, seed):
        z, y, _ = padded_batch(seed=seed, N=N, T=T, C=C)
        none = S.sequence_cross_entropy(z, y, reduction="none")
        for average in ("token", "sequence"):
            mean = S.sequence_cross_entropy(z, y, average=average)
            assert float(mean) >= 0
            assert float(mean) <= float(none.max()) + 1e-12


# ------------------------------------------------------------------------- scheduled sampling


class TestSchedules:
    def test_inverse_decay_values(self):
        k = torch.tensor([0.0, 100.0, 300.0])
        torch.testing.assert_close(S.inverse_decay(k, k0=100), torch.tensor([1.0, 0.5, 0.25]))

    def test_linear_decay_values(self):
        k = torch.tensor([0.0, 5.0, 50.0])
        torch.testing.assert_close(S.linear_decay(k, slope=0.1, floor=0.2), torch.tensor([1.0, 0.5, 0.2]))

    def test_exponential_decay_values(self):
        torch.testing.assert_close(
            S.exponential_decay(torch.tensor([0.0, 2.0]), base=0.5), torch.tensor([1.0, 0.25])
        )

    def test_inverse_sigmoid_matches_formula(self):
        k = torch.arange(0, 2000, 7, dtype=f64)
        k0 = 50.0
        torch.testing.assert_close(S.inverse_sigmoid_decay(k, k0=k0), k0 / (k0 + torch.exp(k / k0)))
        assert torch.isfinite(S.inverse_sigmoid_decay(torch.tensor(1e6), k0=2.0))

    def test_integer_steps_accepted(self):
        torch.testing.assert_close(S.inverse_decay(torch.arange(3), k0=1.0), torch.tensor([1.0, 0.5, 1 / 3]))
        assert float(S.inverse_decay(3, k0=1.0)) == 0.25

    @pytest.mark.parametrize(
        "name,kwargs",
        [
            ("inverse", {"k0": 10}),
            ("linear", {"slope": 0.01}),
            ("exponential", {"base": 0.99}),
            ("inverse sigmoid", {"k0": 10}),
        ],
    )
    def test_property_monotone_in_unit_interval(self, name, kwargs):
        p = S.SCHEDULES[name](torch.arange(0, 1000, dtype=f64), **kwargs)
        assert torch.all((p >= 0) & (p <= 1))
        assert torch.all(p[1:] <= p[:-1])

    @pytest.mark.parametrize(
        "fn,kwargs,match",
        [
            (S.inverse_decay, {"k0": 0}, "k0"),
            (S.inverse_decay, {"k0": -1}, "k0"),
            (S.linear_decay, {"slope": 0}, "slope"),
            (S.linear_decay, {"slope": 0.1, "floor": 2}, "floor"),
            (S.linear_decay, {"slope": 0.1, "start": 1.5}, "start"),
            (S.exponential_decay, {"base": 1.0}, "base"),
            (S.exponential_decay, {"base": 0.0}, "base"),
            (S.inverse_sigmoid_decay, {"k0": 0.5}, "k0"),
        ],
    )
    def test_rejects_bad_hyperparameters(self, fn, kwargs, match):
        with pytest.raises(ValueError, match=match):
            fn(torch.tensor([1.0]), **kwargs)

    def test_rejects_negative_step(self):
        with pytest.raises(ValueError, match="step"):
            S.inverse_decay(torch.tensor([-1.0]), k0=1)


class TestScheduledSamplingMix:
    def test_reproducible_and_rate(self):
        gold = torch.zeros(200, 50, dtype=torch.long)
        pred = torch.ones(200, 50, dtype=torch.long)
        x1, m1 = S.scheduled_sampling_mix(gold, pred, 0.3, generator=data.generator(1))
        x2, m2 = S.scheduled_sampling_mix(gold, pred, 0.3, generator=data.generator(1))
        assert torch.equal(x1, x2) and torch.equal(m1, m2)
        assert torch.equal(x1, torch.where(m1, gold, pred))
        rate = float(m1.double().mean())
        assert abs(rate - 0.3) < 4 * math.sqrt(0.3 * 0.7 / m1.numel())

    @pytest.mark.parametrize("p,expect_gold", [(1.0, True), (0.0, False)])
    def test_extremes(self, p, expect_gold):
        gold, pred = torch.zeros(30, dtype=torch.long), torch.ones(30, dtype=torch.long)
        x, m = S.scheduled_sampling_mix(gold, pred, p, generator=data.generator(0))
        assert bool(m.all()) is expect_gold and bool((~m).all()) is not expect_gold
        assert torch.equal(x, gold if expect_gold else pred)

    def test_rejects_p_outside_unit_interval(self):
        with pytest.raises(ValueError, match="p must be in"):
            S.scheduled_sampling_mix(
                torch.zeros(3, dtype=torch.long),
                torch.zeros(3, dtype=torch.long),
                1.5,
                generator=data.generator(0),
            )

    def test_rejects_missing_generator(self):
        with pytest.raises(TypeError, match="generator"):
            S.scheduled_sampling_mix(
                torch.zeros(3, dtype=torch.long), torch.zeros(3, dtype=torch.long), 0.5, generator=None
            )

    def test_rejects_shape_mismatch(self):
        with pytest.raises(ValueError, match="same shape"):
            S.scheduled_sampling_mix(
                torch.zeros(3, dtype=torch.long),
                torch.zeros(4, dtype=torch.long),
                0.5,
                generator=data.generator(0),
            )

    def test_rejects_float_tokens(self):
        with pytest.raises(TypeError, match="gold"):
            S.scheduled_sampling_mix(
                torch.zeros(3), torch.zeros(3, dtype=torch.long), 0.5, generator=data.generator(0)
            )

    def test_no_gradient_through_the_choice(self):
        gold = torch.tensor([1, 2, 3])
        x, _ = S.scheduled_sampling_mix(gold, gold.flip(0), 0.5, generator=data.generator(2))
        assert not x.is_floating_point() and not x.requires_grad


# ------------------------------------------------------------------------- CTC: alignments


class TestAlignments:
    def test_collapse(self):
        assert S.ctc_collapse([1, 1, 0, 1, 2, 2, 0]) == (1, 1, 2)
        assert S.ctc_collapse([3, 3, 3], blank=3) == ()
        assert S.ctc_collapse([]) == ()

    @pytest.mark.parametrize("target", [(1,), (1, 2), (1, 1), (1, 2, 3), (1, 1, 2), (2, 2, 2), (1, 2, 1)])
    @pytest.mark.parametrize("T", range(0, 8))
    def test_count_closed_form_equals_enumeration(self, target, T):
        paths = S.ctc_alignments(target, T)
        assert paths.shape[0] == S.ctc_num_alignments(T, target)
        assert all(S.ctc_collapse(p) == tuple(target) for p in paths.tolist())

    def test_enumeration_is_complete(self):
        target, T = (1, 1, 2), 6
        every = [p for p in itertools.product(range(4), repeat=T) if S.ctc_collapse(p) == target]
        assert S.ctc_alignments(target, T).shape[0] == len(every)

    def test_cat_with_four_frames(self):
        # c, a, t = 1, 2, 3: seven alignments of length 4 (the syllabus lists four of them)
        paths = {tuple(p) for p in S.ctc_alignments((1, 2, 3), 4).tolist()}
        assert len(paths) == 7
        assert {(1, 1, 2, 3), (1, 2, 2, 3), (1, 2, 3, 3), (0, 1, 2, 3)} <= paths

    @pytest.mark.parametrize(
        "target,expected", [((), 0), ((1,), 1), ((1, 2), 2), ((1, 1), 3), ((1, 1, 1), 5), ((1, 2, 2, 3), 5)]
    )
    def test_min_input_length(self, target, expected):
        assert S.ctc_min_input_length(target) == expected
        assert S.ctc_num_alignments(expected, target) >= 1
        if expected:
            assert S.ctc_num_alignments(expected - 1, target) == 0

    def test_brute_force_equals_dp(self):
        lp, tg, il, tl = data.ctc_batch(6, 5, 4, 3, seed=11)
        dp = S.ctc_loss(lp, tg, il, tl, reduction="none")
        for n in range(5):
            bf = S.ctc_brute_force_nll(lp[: il[n], n], tg[n, : tl[n]].tolist())
            torch.testing.assert_close(bf, dp[n])

    def test_brute_force_infeasible_is_inf(self):
        lp = torch.randn(2, 3, dtype=f64).log_softmax(-1)
        assert S.ctc_brute_force_nll(lp, [1, 1]) == math.inf

    def test_probabilities_of_all_labellings_sum_to_one(self):
        lp = torch.randn(4, 3, dtype=f64).log_softmax(-1)
        labellings = {S.ctc_collapse(p) for p in itertools.product(range(3), repeat=4)}
        total = sum(math.exp(-float(S.ctc_brute_force_nll(lp, list(y)))) for y in labellings)
        assert math.isclose(total, 1.0, rel_tol=1e-12)


# ------------------------------------------------------------------------- CTC: the loss


CASES = [
    dict(T=10, N=4, C=5, U=4, blank=0, seed=0),
    dict(T=25, N=7, C=6, U=8, blank=3, seed=1),
    dict(T=16, N=5, C=3, U=6, blank=2, seed=2),  # two labels only: many repeats
    dict(T=40, N=3, C=12, U=15, blank=11, seed=3),
]


def case(T, N, C, U, blank, seed, dtype=f64):
    return data.ctc_batch(T, N, C, U, blank=blank, seed=seed, dtype=dtype)


class TestCTCMatchesTorch:
    @pytest.mark.parametrize("params", CASES)
    @pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
    @pytest.mark.parametrize("fn", [S.ctc_loss, S.ctc_loss_reference])
    def test_values(self, params, reduction, fn):
        lp, tg, il, tl = case(**params)
        assert len(set(il.tolist())) > 1 and len(set(tl.tolist())) > 1
        ours = fn(lp, tg, il, tl, blank=params["blank"], reduction=reduction)
        ref = F.ctc_loss(lp, tg, il, tl, blank=params["blank"], reduction=reduction)
        torch.testing.assert_close(ours, ref)

    def test_cases_contain_repeated_labels(self):
        lp, tg, il, tl = case(**CASES[2])
        assert bool(((tg[:, 1:] == tg[:, :-1]) & (torch.arange(1, tg.shape[1]) < tl[:, None])).any())

    @pytest.mark.parametrize("params", CASES)
    @pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
    def test_gradients_through_log_softmax(self, params, reduction):
        lp, tg, il, tl = case(**params)
        a = lp.clone().requires_grad_(True)
        b = lp.clone().requires_grad_(True)
        S.ctc_loss(a.log_softmax(-1), tg, il, tl, blank=params["blank"], reduction=reduction).sum().backward()
        F.ctc_loss(b.log_softmax(-1), tg, il, tl, blank=params["blank"], reduction=reduction).sum().backward()
        torch.testing.assert_close(a.grad, b.grad)

    def test_torch_gradient_on_a_leaf_is_the_logit_gradient(self):
        # torch returns p - gamma for d/d log_probs; the exact gradient is -gamma.
        lp, tg, il, tl = case(**CASES[0])
        a = lp.clone().requires_grad_(True)
        b = lp.clone().requires_grad_(True)
        S.ctc_loss(a, tg, il, tl, reduction="sum").backward()
        F.ctc_loss(b, tg, il, tl, reduction="sum").backward()
        inside = (torch.arange(lp.shape[0])[:, None] < il[None, :]).to(f64)[:, :, None]
        torch.testing.assert_close(b.grad, a.grad + lp.exp() * inside)

    @pytest.mark.parametrize("params", CASES)
    def test_concatenated_targets(self, params):
        lp, tg, il, tl = case(**params)
        flat = torch.cat([tg[n, : tl[n]] for n in range(tg.shape[0])])
        torch.testing.assert_close(
            S.ctc_loss(lp, flat, il, tl, blank=params["blank"], reduction="none"),
            S.ctc_loss(lp, tg, il, tl, blank=params["blank"], reduction="none"),
        )

    def test_unbatched(self):
        lp, tg, il, tl = case(**CASES[0])
        n = 1
        torch.testing.assert_close(
            S.ctc_loss(lp[: il[n], n], tg[n, : tl[n]], [int(il[n])], [int(tl[n])], reduction="sum"),
            S.ctc_loss(lp, tg, il, tl, reduction="none")[n],
        )

    def test_lists_as_lengths(self):
        lp, tg, il, tl = case(**CASES[0])
        torch.testing.assert_close(
            S.ctc_loss(lp, tg, il.tolist(), tuple(tl.tolist())), S.ctc_loss(lp, tg, il, tl)
        )


class TestCTCGradient:
    @pytest.mark.parametrize("params", CASES[:3])
    def test_alpha_beta_gradient_equals_autograd_of_reference(self, params):
        lp, tg, il, tl = case(**params)
        a = lp.clone().requires_grad_(True)
        b = lp.clone().requires_grad_(True)
        S.ctc_loss(a, tg, il, tl, blank=params["blank"]).backward()
        S.ctc_loss_reference(b, tg, il, tl, blank=params["blank"]).backward()
        torch.testing.assert_close(a.grad, b.grad)

    @pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
    def test_gradcheck_on_a_leaf(self, reduction):
        lp, tg, il, tl = case(T=7, N=3, C=4, U=3, blank=1, seed=5)
        x = lp.clone().requires_grad_(True)
        assert torch.autograd.gradcheck(
            lambda t: S.ctc_loss(t, tg, il, tl, blank=1, reduction=reduction), (x,)
        )

    def test_reference_second_derivative(self):
        lp, tg, il, tl = case(T=6, N=2, C=3, U=2, blank=0, seed=6)
        x = lp.clone().requires_grad_(True)
        assert torch.autograd.gradgradcheck(lambda t: S.ctc_loss_reference(t, tg, il, tl), (x,))

    def test_gradient_is_minus_occupancy(self):
        # Each frame's occupancies sum to 1 over the classes inside the input length.
        lp, tg, il, tl = case(**CASES[1])
        x = lp.clone().requires_grad_(True)
        S.ctc_loss(x, tg, il, tl, blank=3, reduction="sum").backward()
        per_frame = -x.grad.sum(-1)
        inside = torch.arange(lp.shape[0])[:, None] < il[None, :]
        torch.testing.assert_close(per_frame[inside], torch.ones(int(inside.sum()), dtype=f64))
        assert torch.all(per_frame[~inside] == 0)

    def test_syllabus_formula_in_the_logits(self):
        # d(-log P)/dz_{t,k} = p_{t,k} - (1/P) sum_{s: l'_s = k} alpha_t(s) beta_t(s)
        lp, tg, il, tl = case(T=8, N=1, C=4, U=3, blank=0, seed=7)
        z = lp.clone().requires_grad_(True)
        S.ctc_loss(z.log_softmax(-1), tg, il, tl, reduction="sum").backward()
        y = tg[0, : tl[0]].tolist()
        T, p = int(il[0]), lp[:, 0].exp()
        paths = S.ctc_alignments(y, T)
        weights = torch.exp(lp[torch.arange(T)[None, :], 0, paths].sum(1))
        occupancy = torch.zeros(T, 4, dtype=f64)
        for w, path in zip(weights, paths, strict=True):
            occupancy[torch.arange(T), path] += w
        occupancy /= weights.sum()
        torch.testing.assert_close(z.grad[:T, 0], p[:T] - occupancy)


class TestCTCInfeasible:
    def setup_method(self):
        self.lp = torch.randn(6, 3, 4, dtype=f64).log_softmax(-1)
        self.tg = torch.tensor([[1, 1, 1, 1], [1, 2, 3, 0], [2, 2, 0, 0]])
        self.il = torch.tensor([6, 2, 6])  # sequence 0 needs 7 frames, sequence 1 needs 3
        self.tl = torch.tensor([4, 3, 2])

    @pytest.mark.parametrize("fn", [S.ctc_loss, S.ctc_loss_reference])
    def test_inf_and_finite_gradient(self, fn):
        x = self.lp.clone().requires_grad_(True)
        loss = fn(x, self.tg, self.il, self.tl, reduction="none")
        assert loss[0] == math.inf and loss[1] == math.inf and torch.isfinite(loss[2])
        ref = F.ctc_loss(self.lp, self.tg, self.il, self.tl, reduction="none")
        torch.testing.assert_close(loss, ref)
        loss.sum().backward()
        assert torch.isfinite(x.grad).all()
        assert torch.all(x.grad[:, :2] == 0)

    @pytest.mark.parametrize("fn", [S.ctc_loss, S.ctc_loss_reference])
    @pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
    def test_zero_infinity_matches_torch(self, fn, reduction):
        a = self.lp.clone().requires_grad_(True)
        b = self.lp.clone().requires_grad_(True)
        ours = fn(a.log_softmax(-1), self.tg, self.il, self.tl, reduction=reduction, zero_infinity=True)
        ref = F.ctc_loss(
            b.log_softmax(-1), self.tg, self.il, self.tl, reduction=reduction, zero_infinity=True
        )
        torch.testing.assert_close(ours, ref)
        ours.sum().backward()
        ref.sum().backward()
        torch.testing.assert_close(a.grad, b.grad)

    def test_minimum_length_is_feasible(self):
        target = [1, 1, 2, 2, 2]
        T = S.ctc_min_input_length(target)
        lp = torch.randn(T, 3, dtype=f64).log_softmax(-1)
        assert torch.isfinite(S.ctc_loss(lp, torch.tensor(target), [T], [5]))
        assert S.ctc_loss(lp[:-1], torch.tensor(target), [T - 1], [5]) == math.inf

    def test_empty_target_and_empty_input(self):
        lp = torch.randn(5, 2, 3, dtype=f64).log_softmax(-1)
        tg = torch.zeros(2, 0, dtype=torch.long)
        got = S.ctc_loss(lp, tg, [5, 0], [0, 0], reduction="none")
        torch.testing.assert_close(got, F.ctc_loss(lp, tg, [5, 0], [0, 0], reduction="none"))
        torch.testing.assert_close(got[0], -lp[:, 0, 0].sum())


class TestCTCDtypeAndErrors:
    @pytest.mark.parametrize("dtype", [torch.float32, f64, torch.float16, torch.bfloat16])
    def test_keeps_dtype(self, dtype):
        lp, tg, il, tl = case(**CASES[0], dtype=torch.float32)
        lp = lp.to(dtype)
        for reduction in ("none", "mean", "sum"):
            out = S.ctc_loss(lp, tg, il, tl, reduction=reduction)
            assert out.dtype == dtype and out.device == lp.device
            assert torch.isfinite(out).all()

    def test_float32_matches_torch(self):
        lp, tg, il, tl = case(**CASES[1], dtype=torch.float32)
        torch.testing.assert_close(S.ctc_loss(lp, tg, il, tl, blank=3), F.ctc_loss(lp, tg, il, tl, blank=3))

    def test_rejects_reduction(self):
        lp, tg, il, tl = case(**CASES[0])
        assert_rejects_reduction(S.ctc_loss, lp, tg, il, tl)
        assert_rejects_reduction(S.ctc_loss_reference, lp, tg, il, tl)

    def bad(self, exc, match, **override):
        lp, tg, il, tl = case(**CASES[0])
        args = dict(log_probs=lp, targets=tg, input_lengths=il, target_lengths=tl)
        blank = override.pop("blank", 0)
        args.update(override)
        with pytest.raises(exc, match=match):
            S.ctc_loss(
                args["log_probs"], args["targets"], args["input_lengths"], args["target_lengths"], blank=blank
            )

    def test_rejects_integer_log_probs(self):
        self.bad(TypeError, "log_probs", log_probs=torch.zeros(10, 4, 5, dtype=torch.long))

    def test_rejects_log_probs_rank(self):
        self.bad(ValueError, "log_probs must have shape", log_probs=torch.zeros(10, 4, 5, 1))

    def test_rejects_float_targets(self):
        self.bad(TypeError, "targets", targets=torch.ones(4, 4))

    def test_rejects_label_out_of_range(self):
        self.bad(IndexError, "targets", targets=torch.full((4, 4), 5))

    def test_rejects_blank_in_targets(self):
        self.bad(ValueError, "must not contain the blank", targets=torch.zeros(4, 4, dtype=torch.long))

    def test_rejects_blank_out_of_range(self):
        self.bad(ValueError, "blank must be in", blank=5)

    def test_rejects_input_length_above_T(self):
        self.bad(ValueError, "input_lengths must be at most", input_lengths=torch.full((4,), 11))

    def test_rejects_negative_length(self):
        self.bad(
            ValueError, "target_lengths must be non-negative", target_lengths=torch.tensor([1, -1, 1, 1])
        )

    def test_rejects_wrong_number_of_lengths(self):
        self.bad(ValueError, "input_lengths must hold one length", input_lengths=torch.full((3,), 5))

    def test_rejects_target_length_above_targets(self):
        self.bad(ValueError, "target_lengths must be at most", target_lengths=torch.full((4,), 5))

    def test_rejects_concatenated_length_mismatch(self):
        self.bad(ValueError, "concatenated targets", targets=torch.ones(3, dtype=torch.long))

    def test_rejects_float_lengths(self):
        self.bad(TypeError, "input_lengths", input_lengths=torch.full((4,), 5.0))

    def test_rejects_device_mismatch(self):
        if not torch.cuda.is_available():
            pytest.skip("needs a second device")
        self.bad(ValueError, "device", targets=torch.ones(4, 4, dtype=torch.long, device="cuda"))

    @settings(max_examples=30, deadline=None)
    @given(
        st.integers(1, 12), st.integers(1, 4), st.integers(2, 5), st.integers(1, 5), st.integers(0, 10_000)
    )
    def test_property_matches_reference_and_nonnegative(self, T, N, C, U, seed):
        g = data.generator(seed)
        lp = torch.randn(T, N, C, generator=g, dtype=f64).log_softmax(-1)
        blank = int(torch.randint(0, C, (1,), generator=g))
        labels = torch.randint(0, C - 1, (N, U), generator=g)
        tg = labels + (labels >= blank).long()
        tl = torch.randint(0, U + 1, (N,), generator=g)
        il = torch.randint(0, T + 1, (N,), generator=g)
        ours = S.ctc_loss(lp, tg, il, tl, blank=blank, reduction="none")
        torch.testing.assert_close(ours, S.ctc_loss_reference(lp, tg, il, tl, blank=blank, reduction="none"))
        torch.testing.assert_close(ours, F.ctc_loss(lp, tg, il, tl, blank=blank, reduction="none"))
        assert torch.all(ours >= 0)
        for n in range(N):
            y = tg[n, : tl[n]].tolist()
            assert bool(torch.isinf(ours[n])) == (int(il[n]) < S.ctc_min_input_length(y))


# ------------------------------------------------------------------------- CTC: decoders


def labelling_probabilities(lp, blank=0):
    """Exact P(labelling | x) for every labelling, by enumerating all paths."""
    T, C = lp.shape
    probs = {}
    for path in itertools.product(range(C), repeat=T):
        y = S.ctc_collapse(path, blank=blank)
        probs[y] = probs.get(y, 0.0) + math.exp(float(lp[torch.arange(T), list(path)].sum()))
    return probs


class TestDecoders:
    @pytest.mark.parametrize("seed", range(6))
    @pytest.mark.parametrize("blank", [0, 2])
    def test_unpruned_beam_is_exact(self, seed, blank):
        lp = (2 * torch.randn(5, 3, generator=data.generator(seed), dtype=f64)).log_softmax(-1)
        exact = labelling_probabilities(lp, blank)
        beams = S.ctc_prefix_beam_search(lp, beam_width=10_000, blank=blank)
        assert {y for y, _ in beams} >= {y for y, p in exact.items() if p > 0}
        for y, logp in beams:
            assert math.isclose(math.exp(logp), exact.get(y, 0.0), rel_tol=1e-9, abs_tol=1e-300)
        best = max(exact, key=exact.get)
        assert beams[0][0] == best

    @pytest.mark.parametrize("seed", range(6))
    def test_greedy_is_collapse_of_best_path(self, seed):
        lp = torch.randn(5, 3, generator=data.generator(seed), dtype=f64).log_softmax(-1)
        best_path = max(
            itertools.product(range(3), repeat=5), key=lambda p: float(lp[torch.arange(5), list(p)].sum())
        )
        assert S.ctc_greedy_decode(lp) == [S.ctc_collapse(best_path)]

    def test_greedy_can_miss_the_best_labelling(self):
        # Two frames; the blank is the likeliest symbol in each, but "a" the likeliest labelling.
        p = torch.tensor([[0.4, 0.35, 0.25], [0.4, 0.35, 0.25]], dtype=f64)
        exact = labelling_probabilities(p.log())
        assert S.ctc_greedy_decode(p.log()) == [()]
        best = max(exact, key=exact.get)
        assert best == (1,) and S.ctc_prefix_beam_search(p.log(), beam_width=4)[0][0] == best

    def test_greedy_respects_lengths_and_batch(self):
        lp, _, il, _ = case(**CASES[0])
        out = S.ctc_greedy_decode(lp, il)
        assert len(out) == lp.shape[1]
        assert out[1] == S.ctc_greedy_decode(lp[: il[1], 1])[0]

    def test_rejects_beam_width(self):
        with pytest.raises(ValueError, match="beam_width"):
            S.ctc_prefix_beam_search(torch.zeros(3, 2), beam_width=0)

    def test_rejects_decoder_shapes(self):
        with pytest.raises(ValueError, match="log_probs"):
            S.ctc_prefix_beam_search(torch.zeros(3, 2, 2))
        with pytest.raises(ValueError, match="input_lengths"):
            S.ctc_greedy_decode(torch.zeros(3, 2, 2), [4, 1])


# ------------------------------------------------------------------------- data generators


class TestData:
    def test_digit_strings(self):
        x = data.digit_strings(50, 6, seed=3)
        assert x.shape == (50, 6) and x.dtype == torch.long
        assert int(x.min()) >= 0 and int(x.max()) <= 9
        assert torch.equal(x, data.digit_strings(50, 6, seed=3))
        assert not torch.equal(x, data.digit_strings(50, 6, seed=4))
        with pytest.raises(ValueError, match="num_digits"):
            data.digit_strings(5, 3, num_digits=1)

    @pytest.mark.parametrize("blank", [0, 2, 4])
    def test_ctc_batch(self, blank):
        lp, tg, il, tl = data.ctc_batch(20, 30, 5, 6, blank=blank, seed=1)
        assert lp.shape == (20, 30, 5)
        torch.testing.assert_close(lp.exp().sum(-1), torch.ones(20, 30, dtype=f64))
        for n in range(30):
            y = tg[n, : tl[n]].tolist()
            assert blank not in y and all(tg[n, tl[n] :] == blank)
            assert S.ctc_min_input_length(y) <= int(il[n]) <= 20
        lp2, tg2, il2, tl2 = data.ctc_batch(20, 30, 5, 6, blank=blank, seed=1, vary_lengths=False)
        assert torch.all(il2 == 20) and torch.all(tl2 == 6)

    def test_ctc_batch_rejects_short_input(self):
        with pytest.raises(ValueError, match="input_length"):
            data.ctc_batch(3, 4, 5, 6)
