"""Chapter 9: the decision tree and the quick-reference losses, against independent references.

The shared contract (reductions, dtypes, error contract of input/target, gradcheck) runs on the
registry rows in tests/support.py; here: every branch of ``recommend``, values against brute
force and closed forms, gradients, stability, the losses' own rejected inputs, and properties.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lossbook import classification, data, regression
from lossbook import selection as S

f64 = torch.float64


# =============================================================================== recommend()

BRANCHES = [
    (dict(task="regression", outliers=True), "regression.huber"),
    (dict(task="regression", outliers=False), "regression.mse"),
    (dict(task="quantile"), "regression.quantile"),
    (dict(task="classification", labels="binary"), "classification.binary_cross_entropy_with_logits"),
    (
        dict(task="classification", labels="binary", imbalance_ratio=3),
        "classification.binary_cross_entropy_with_logits",
    ),
    (
        dict(task="classification", labels="binary", imbalance_ratio=50),
        "classification.binary_cross_entropy_with_logits",
    ),
    (dict(task="classification", labels="binary", imbalance_ratio=101), "classification.focal"),
    (dict(task="classification", labels="exclusive"), "classification.cross_entropy"),
    (dict(task="classification", labels="exclusive", imbalance_ratio=20), "classification.cross_entropy"),
    (dict(task="classification", labels="multi-label"), "classification.binary_cross_entropy_with_logits"),
    (dict(task="ordinal"), "selection.coral"),
    (dict(task="segmentation"), "classification.cross_entropy"),
    (dict(task="segmentation", imbalance_ratio=30), "selection.dice"),
    (dict(task="detection", head="class"), "classification.focal"),
    (dict(task="detection", head="box"), "regression.huber"),
    (dict(task="embedding", supervision="class labels"), "selection.arcface"),
    (dict(task="embedding", supervision="triplets"), "metric.triplet_margin_loss"),
    (dict(task="embedding", supervision="pairs"), "metric.contrastive_loss"),
    (dict(task="embedding", supervision="augmented views"), "metric.info_nce"),
    (dict(task="ranking", relevance="full order"), "selection.listmle"),
    (dict(task="ranking", relevance="graded"), "selection.listnet"),
    (dict(task="sequence", alignment=True), "sequence.sequence_cross_entropy"),
    (dict(task="sequence", alignment=False), "sequence.ctc_loss"),
    (dict(task="generative", model="VAE"), "generative.elbo_loss"),
    (dict(task="generative", model="GAN"), "generative.wgan_critic_loss"),
    (dict(task="generative", model="autoregressive"), "classification.cross_entropy"),
    (dict(task="reinforcement"), "selection.ppo_clip"),
    (dict(task="multi-task"), "selection.uncertainty_weighting"),
]


def _leaves(node=S.TREE):
    if isinstance(node, S.Leaf):
        yield node
    else:
        for _, _, child in node.branches:
            yield from _leaves(child)


@pytest.mark.parametrize("answers, function", BRANCHES, ids=[str(b[0]) for b in BRANCHES])
def test_every_branch(answers, function):
    rec = S.recommend(**answers)
    assert rec.function == function
    assert rec.chapter.startswith("book/")


def test_the_branches_reach_every_leaf():
    reached = {id(_find_leaf(**a)) for a, _ in BRANCHES}
    assert reached == {id(leaf) for leaf in _leaves()}


def _find_leaf(**answers):
    rec = S.recommend(**answers)
    return next(leaf for leaf in _leaves() if leaf.recommendation is rec)


def test_the_book_functions_it_names_exist_where_the_chapter_exists():
    import importlib.util

    resolved = 0
    for leaf in _leaves():
        rec = leaf.recommendation
        if importlib.util.find_spec(f"lossbook.{rec.function.split('.')[0]}") is not None:
            assert callable(rec.resolve()), rec.function
            resolved += 1
    assert resolved >= 20


def test_imbalance_thresholds_are_inclusive_at_the_boundaries():
    assert "pos_weight" not in S.recommend("classification", labels="binary", imbalance_ratio=3.0).note
    assert "pos_weight" in S.recommend("classification", labels="binary", imbalance_ratio=3.01).note
    assert (
        S.recommend("classification", labels="binary", imbalance_ratio=100).function != "classification.focal"
    )


def test_figure_is_generated_from_the_tree():
    nodes, edges = S.tree_nodes(), S.tree_edges()
    leaves = [text for _, text, leaf in nodes if leaf]
    assert leaves == [leaf.recommendation.loss for leaf in _leaves()]
    assert len(edges) == len(nodes) - 1  # a tree
    assert {c for _, c, _ in edges} == set(range(1, len(nodes)))
    labels = {label for p, _, label in edges if p == 0}
    assert labels == {label for label, _, _ in S.TREE.branches}


def test_plot_tree_draws_every_node():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    S.plot_tree(ax)
    texts = [t.get_text() for t in ax.texts]
    for _, text, _ in S.tree_nodes():
        assert text in texts
    plt.close(fig)


def test_rejects_unknown_task():
    with pytest.raises(ValueError, match="^task must be one of 'regression'.*got 'clustering'"):
        S.recommend("clustering")


def test_rejects_unknown_argument():
    with pytest.raises(TypeError, match="unknown arguments \\['outlier'\\]"):
        S.recommend("regression", outlier=True)


def test_rejects_missing_required_answer():
    with pytest.raises(
        ValueError,
        match="^outliers is required for task=.regression.; one of .yes., .no. \\(pass True or False\\)",
    ):
        S.recommend("regression")


def test_rejects_answer_no_branch_accepts():
    with pytest.raises(
        ValueError, match="^labels must be one of 'binary', 'exclusive', 'multi-label'; got 'multi'"
    ):
        S.recommend("classification", labels="multi")


def test_rejects_impossible_combination_outliers_for_classification():
    with pytest.raises(ValueError, match="^outliers does not apply to task='classification'"):
        S.recommend("classification", labels="binary", outliers=True)


def test_rejects_impossible_combination_imbalance_for_multilabel():
    with pytest.raises(ValueError, match="^imbalance_ratio does not apply to .*labels='multi-label'"):
        S.recommend("classification", labels="multi-label", imbalance_ratio=10)


@pytest.mark.parametrize("bad", [0.5, -1, float("nan"), float("inf"), True, "10"])
def test_rejects_bad_imbalance_ratio(bad):
    with pytest.raises(ValueError, match="^imbalance_ratio must be a finite number >= 1"):
        S.recommend("classification", labels="binary", imbalance_ratio=bad)


# =============================================================================== Dice


def _dice_brute(p, t, smooth):
    out = []
    for pi, ti in zip(p.reshape(p.shape[0], -1).tolist(), t.reshape(t.shape[0], -1).tolist(), strict=True):
        inter = sum(a * b for a, b in zip(pi, ti, strict=True))
        out.append(1 - (2 * inter + smooth) / (sum(pi) + sum(ti) + smooth))
    return torch.tensor(out, dtype=f64)


@pytest.mark.parametrize("shape", [(4,), (2, 5), (3, 2, 4), (2, 1, 3, 3)])
@pytest.mark.parametrize("smooth", [0.0, 1.0])
def test_soft_dice_matches_brute_force(shape, smooth):
    g = data.generator(0)
    p = torch.rand(shape, generator=g, dtype=f64)
    t = (torch.rand(shape, generator=g, dtype=f64) < 0.5).to(f64)
    ref = _dice_brute(p if len(shape) > 1 else p[None], t if len(shape) > 1 else t[None], smooth)
    torch.testing.assert_close(S.soft_dice(p, t, smooth=smooth, reduction="none"), ref)
    torch.testing.assert_close(S.soft_dice(p, t, smooth=smooth), ref.mean())


def test_soft_dice_of_hard_masks_is_one_minus_the_set_dice_coefficient():
    a = {1, 2, 5, 7}
    b = {2, 5, 6}
    p = torch.tensor([[float(i in a) for i in range(10)]], dtype=f64)
    t = torch.tensor([[float(i in b) for i in range(10)]], dtype=f64)
    expected = 1 - 2 * len(a & b) / (len(a) + len(b))
    assert S.soft_dice(p, t, smooth=0.0).item() == pytest.approx(expected, abs=1e-15)


def test_soft_dice_empty_masks_are_a_perfect_match_with_finite_gradient():
    p = torch.zeros(2, 3, dtype=f64, requires_grad=True)
    loss = S.soft_dice(p, torch.zeros(2, 3, dtype=f64), smooth=0.0)
    loss.backward()
    assert loss.item() == 0 and torch.isfinite(p.grad).all()


def test_soft_dice_gradient_closed_form():
    g = data.generator(1)
    p = torch.rand(3, 6, generator=g, dtype=f64, requires_grad=True)
    t = (torch.rand(3, 6, generator=g, dtype=f64) < 0.5).to(f64)
    S.soft_dice(p, t, smooth=1.0, reduction="sum").backward()
    inter = (p * t).sum(1, keepdim=True)
    denom = p.sum(1, keepdim=True) + t.sum(1, keepdim=True) + 1.0
    expected = -(2 * t * denom - (2 * inter + 1.0)) / denom**2
    torch.testing.assert_close(p.grad, expected.detach())


def test_dice_is_soft_dice_of_the_sigmoid():
    z = torch.randn(3, 7, generator=data.generator(2), dtype=f64)
    t = (torch.rand(3, 7, generator=data.generator(3), dtype=f64) < 0.3).to(f64)
    torch.testing.assert_close(
        S.dice(z, t, reduction="none"), S.soft_dice(torch.sigmoid(z), t, reduction="none")
    )


def test_dice_matches_segmentation_models_pytorch_where_installed():
    smp = pytest.importorskip("segmentation_models_pytorch")
    z = torch.randn(1, 1, 8, 8, generator=data.generator(4), dtype=f64)
    t = (torch.rand(1, 1, 8, 8, generator=data.generator(5), dtype=f64) < 0.4).to(f64)
    ref = smp.losses.DiceLoss("binary", from_logits=True, smooth=1.0, eps=0.0)(z, t)
    torch.testing.assert_close(S.dice(z, t, smooth=1.0), ref)


def test_dice_rejects_negative_smooth():
    with pytest.raises(ValueError, match="^smooth must be non-negative"):
        S.soft_dice(torch.rand(2, 3), torch.rand(2, 3), smooth=-1.0)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 4), st.integers(1, 8), st.floats(0.0, 2.0), st.integers(0, 2**31 - 1))
def test_soft_dice_lies_in_unit_interval_and_is_symmetric(n, m, smooth, seed):
    g = torch.Generator().manual_seed(seed)
    p, t = torch.rand(n, m, generator=g, dtype=f64), torch.rand(n, m, generator=g, dtype=f64)
    v = S.soft_dice(p, t, smooth=smooth, reduction="none")
    assert ((v >= -1e-12) & (v <= 1 + 1e-12)).all()
    torch.testing.assert_close(v, S.soft_dice(t, p, smooth=smooth, reduction="none"))


# =============================================================================== ArcFace


def _arcface_reference(c, t, s, m):
    """The defining formula with acos: logit_y = s cos(acos(c_y) + m) (or the fallback)."""
    theta = torch.acos(c.gather(1, t[:, None]))
    shifted = torch.where(theta + m < math.pi, torch.cos(theta + m), torch.cos(theta) - m * math.sin(m))
    logits = s * c.scatter(1, t[:, None], shifted)
    return torch.nn.functional.cross_entropy(logits, t, reduction="none")


@pytest.mark.parametrize("margin", [0.0, 0.2, 0.5, 1.0])
def test_arcface_matches_the_acos_formula(margin):
    g = data.generator(6)
    c = 1.8 * torch.rand(7, 5, generator=g, dtype=f64) - 0.9
    t = torch.randint(0, 5, (7,), generator=g)
    torch.testing.assert_close(
        S.arcface(c, t, scale=10.0, margin=margin, reduction="none"), _arcface_reference(c, t, 10.0, margin)
    )


def test_arcface_without_margin_is_scaled_cross_entropy():
    g = data.generator(7)
    c = 2 * torch.rand(4, 3, generator=g, dtype=f64) - 1
    t = torch.randint(0, 3, (4,), generator=g)
    c = c.clamp(-1 + 1e-6, 1 - 1e-6)
    torch.testing.assert_close(S.arcface(c, t, scale=5.0, margin=0.0), classification.cross_entropy(5 * c, t))


@pytest.mark.parametrize("dtype", [torch.float32, f64])
@pytest.mark.parametrize("cos_y", [1.0, 1 - 1e-12, -1.0, -1 + 1e-12, 0.0])
def test_arcface_value_and_gradient_are_finite_at_theta_zero_and_pi(dtype, cos_y):
    c = torch.tensor([[cos_y, 0.3, -0.2]], dtype=dtype, requires_grad=True)
    loss = S.arcface(c, torch.tensor([0]), scale=64.0, margin=0.5)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(c.grad).all(), (loss, c.grad)


def test_arcface_naive_acos_gradient_is_not_finite_at_theta_zero():
    """Why the clamp matters: d acos(c)/dc = -1/sqrt(1 - c^2) is infinite at c = 1."""
    c = torch.tensor([[1.0, 0.3]], dtype=f64, requires_grad=True)
    _arcface_reference(c, torch.tensor([0]), 64.0, 0.5).sum().backward()
    assert not torch.isfinite(c.grad).all()


def test_arcface_margin_raises_the_loss_of_the_target():
    c = torch.tensor([[0.6, 0.1, 0.2]], dtype=f64)
    t = torch.tensor([0])
    values = [S.arcface(c, t, scale=8.0, margin=m).item() for m in (0.0, 0.1, 0.3, 0.5)]
    assert values == sorted(values) and values[0] < values[-1]


def test_arcface_logit_decreases_in_theta_across_the_fallback():
    c = torch.linspace(-1, 1, 2001, dtype=f64)[:, None]
    other = torch.full_like(c, -1.0)
    losses = S.arcface(
        torch.cat([c, other], 1), torch.zeros(len(c), dtype=torch.long), scale=4.0, reduction="none"
    )
    assert (losses.diff() <= 1e-12).all()  # the loss falls as the cosine rises


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"scale": 0.0}, "^scale must be positive"),
        ({"margin": -0.1}, "^margin must be in"),
        ({"margin": 2.0}, "^margin must be in"),
        ({"eps": 0.0}, "^eps must be in"),
    ],
)
def test_arcface_rejects_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        S.arcface(torch.zeros(2, 3), torch.tensor([0, 1]), **kwargs)


def test_arcface_rejects_cosines_outside_unit_interval():
    with pytest.raises(ValueError, match="^input must hold cosines in"):
        S.arcface(torch.tensor([[1.5, 0.0]]), torch.tensor([0]))


def test_arcface_rejects_class_index_out_of_range():
    with pytest.raises(IndexError, match="^target holds class index 3"):
        S.arcface(torch.zeros(2, 3), torch.tensor([0, 3]))


def test_arcface_rejects_wrong_target_shape():
    with pytest.raises(ValueError, match=r"^target must have shape \(2,\)"):
        S.arcface(torch.zeros(2, 3), torch.tensor([0, 1, 2]))


def test_arcface_rejects_float_target():
    with pytest.raises(TypeError, match="^target must hold integer class indices"):
        S.arcface(torch.zeros(2, 3), torch.tensor([0.0, 1.0]))


# =============================================================================== ListNet / ListMLE


def _plackett_luce(s, order):
    """P(order | s) by the product formula, in plain Python."""
    s = [float(v) for v in s]
    remaining = list(order)
    prob = 1.0
    for i in order:
        prob *= math.exp(s[i]) / sum(math.exp(s[k]) for k in remaining)
        remaining.remove(i)
    return prob


@pytest.mark.parametrize("length", [2, 3, 4, 5])
def test_listmle_likelihood_sums_to_one_over_every_permutation(length):
    s = torch.randn(length, generator=data.generator(length), dtype=f64)
    total = 0.0
    for perm in itertools.permutations(range(length)):
        relevance = torch.empty(length, dtype=f64)
        relevance[list(perm)] = torch.arange(length, 0, -1, dtype=f64)  # perm[0] most relevant
        nll = S.listmle(s, relevance)
        assert math.exp(-nll.item()) == pytest.approx(_plackett_luce(s, perm), rel=1e-12)
        total += math.exp(-nll.item())
    assert total == pytest.approx(1.0, abs=1e-12)


def test_listmle_most_likely_order_is_the_score_order():
    s = torch.tensor([0.3, 2.0, -1.0, 1.1], dtype=f64)
    best = min(
        itertools.permutations(range(4)),
        key=lambda p: S.listmle(s, torch.tensor([4 - p.index(i) for i in range(4)], dtype=f64)).item(),
    )
    assert list(best) == torch.argsort(s, descending=True).tolist()


def test_listnet_is_cross_entropy_of_the_two_softmaxes():
    g = data.generator(8)
    s, t = torch.randn(3, 6, generator=g, dtype=f64), torch.randn(3, 6, generator=g, dtype=f64)
    p = torch.softmax(t, -1)
    ref = -(p * torch.log(torch.exp(s) / torch.exp(s).sum(-1, keepdim=True))).sum(-1)
    torch.testing.assert_close(S.listnet(s, t, reduction="none"), ref)


def test_listnet_gradient_closed_form():
    g = data.generator(9)
    s = torch.randn(2, 5, generator=g, dtype=f64, requires_grad=True)
    t = torch.randn(2, 5, generator=g, dtype=f64)
    S.listnet(s, t, reduction="sum").backward()
    torch.testing.assert_close(s.grad, (torch.softmax(s, -1) - torch.softmax(t, -1)).detach())


@settings(max_examples=50, deadline=None)
@given(st.integers(2, 6), st.floats(-5, 5), st.integers(0, 2**31 - 1))
def test_listwise_losses_are_shift_invariant_in_the_scores(length, shift, seed):
    g = torch.Generator().manual_seed(seed)
    s, t = torch.randn(length, generator=g, dtype=f64), torch.randn(length, generator=g, dtype=f64)
    for fn in (S.listnet, S.listmle):
        torch.testing.assert_close(fn(s + shift, t), fn(s, t))
    assert S.listmle(s, t) >= 0


@settings(max_examples=50, deadline=None)
@given(st.integers(2, 6), st.integers(0, 2**31 - 1))
def test_listmle_depends_on_relevance_only_through_its_order(length, seed):
    g = torch.Generator().manual_seed(seed)
    s, t = torch.randn(length, generator=g, dtype=f64), torch.randn(length, generator=g, dtype=f64)
    torch.testing.assert_close(S.listmle(s, t), S.listmle(s, torch.exp(3 * t)))


def test_listmle_rejects_scalar_input():
    with pytest.raises(ValueError, match="^input must have at least one dimension"):
        S.listmle(torch.tensor(1.0), torch.tensor(1.0))


# =============================================================================== CORAL


def test_coral_is_a_sum_of_binary_cross_entropies_over_the_levels():
    g = data.generator(10)
    z = torch.randn(6, 4, generator=g, dtype=f64)
    y = torch.randint(0, 5, (6,), generator=g)
    levels = S.coral_levels(y, 5).to(f64)
    ref = classification.binary_cross_entropy_with_logits(z, levels, reduction="none").sum(1)
    torch.testing.assert_close(S.coral(z, y, reduction="none"), ref)
    assert levels.tolist()[0] == [float(y[0] > k) for k in range(4)]


def test_coral_predict_counts_positive_logits():
    assert S.coral_predict(torch.tensor([[2.0, 0.5, -1.0, -3.0], [-1.0, -2.0, -3.0, -4.0]])).tolist() == [
        2,
        0,
    ]


def test_coral_fit_is_rank_consistent():
    """Fitted with one shared score and a bias per threshold, the biases are non-increasing,
    so P(y > k) decreases in k for every input (Cao et al., Theorem 1)."""
    x, y = data.ordinal_regression(300, num_classes=5, seed=0)
    w = torch.zeros(x.shape[1], dtype=f64, requires_grad=True)
    b = torch.zeros(4, dtype=f64, requires_grad=True)
    from lossbook import optim

    optim.lbfgs(lambda: S.coral((x @ w)[:, None] + b, y), [w, b])
    assert (b.diff() < 0).all(), b
    p = torch.sigmoid((x @ w)[:, None] + b).detach()
    assert (p.diff(dim=1) <= 0).all()


def test_coral_rejects_rank_out_of_range():
    with pytest.raises(IndexError, match="^target holds class index 5"):
        S.coral(torch.zeros(2, 4), torch.tensor([0, 5]))


def test_coral_rejects_wrong_input_rank():
    with pytest.raises(ValueError, match=r"^input must have shape \(N, K - 1\)"):
        S.coral(torch.zeros(4), torch.tensor([0, 1, 2, 3]))


def test_coral_levels_rejects_num_classes():
    with pytest.raises(ValueError, match="^num_classes must be a positive int"):
        S.coral_levels(torch.tensor([0]), 0)


# =============================================================================== uncertainty weighting


def test_uncertainty_weighting_optimum_is_log_of_each_task_loss():
    L = torch.tensor([0.02, 0.7, 3.0, 40.0], dtype=f64)
    s = torch.zeros(4, dtype=f64, requires_grad=True)
    from lossbook import optim

    optim.lbfgs(lambda: S.uncertainty_weighting(L, s), [s], tolerance_grad=1e-12, tolerance_change=1e-15)
    torch.testing.assert_close(s.detach(), torch.log(L), atol=1e-7, rtol=0)
    torch.testing.assert_close(
        S.uncertainty_weighting(L, torch.log(L), reduction="none"), 0.5 * (1 + torch.log(L))
    )


def test_uncertainty_weighting_gradients_closed_form():
    L = torch.tensor([0.5, 2.0], dtype=f64, requires_grad=True)
    s = torch.tensor([0.1, -0.4], dtype=f64, requires_grad=True)
    S.uncertainty_weighting(L, s).backward()
    torch.testing.assert_close(L.grad, 0.5 * torch.exp(-s.detach()))
    torch.testing.assert_close(s.grad, 0.5 - 0.5 * torch.exp(-s.detach()) * L.detach())


def test_uncertainty_weighting_rejects_negative_losses():
    with pytest.raises(ValueError, match="^losses must hold non-negative values"):
        S.uncertainty_weighting(torch.tensor([1.0, -0.5]), torch.zeros(2))


@settings(max_examples=50, deadline=None)
@given(st.floats(1e-3, 1e3), st.floats(-5, 5))
def test_uncertainty_weighting_is_at_least_its_closed_form_minimum(loss, s):
    L = torch.tensor([loss], dtype=f64)
    value = S.uncertainty_weighting(L, torch.tensor([s], dtype=f64)).item()
    assert value >= 0.5 * (1 + math.log(loss)) - 1e-12


# =============================================================================== policy gradient


def test_reinforce_baseline_leaves_the_expected_gradient_unchanged():
    """Exact expectation over a 4-action softmax policy: sum_a pi(a) * grad(-(G_a - b) log pi(a))."""
    theta = torch.tensor([0.2, -0.5, 1.0, 0.0], dtype=f64)
    G = torch.tensor([1.0, 3.0, -2.0, 0.5], dtype=f64)

    def expected_grad(b):
        total = torch.zeros(4, dtype=f64)
        for a in range(4):
            th = theta.clone().requires_grad_(True)
            logp = torch.log_softmax(th, 0)[a]
            S.reinforce(logp, G[a], torch.tensor(b, dtype=f64)).backward()
            total += torch.softmax(theta, 0)[a] * th.grad
        return total

    exact = -(torch.softmax(theta, 0) * (G - (torch.softmax(theta, 0) * G).sum()))  # -d E[G] / d theta
    torch.testing.assert_close(expected_grad(0.0), exact)
    torch.testing.assert_close(expected_grad(5.0), exact)


def test_reinforce_does_not_differentiate_returns_or_baseline():
    lp = torch.tensor([-0.5, -1.0], dtype=f64, requires_grad=True)
    G = torch.tensor([1.0, 2.0], dtype=f64, requires_grad=True)
    b = torch.tensor([0.5, 0.5], dtype=f64, requires_grad=True)
    S.reinforce(lp, G, b, reduction="sum").backward()
    torch.testing.assert_close(lp.grad, -(G - b).detach())
    assert G.grad is None and b.grad is None


def test_reinforce_rejects_baseline_shape():
    with pytest.raises(ValueError, match="^log_probs and baseline must have the same shape"):
        S.reinforce(torch.zeros(3), torch.zeros(3), torch.zeros(2))


def test_ppo_clip_gradient_is_flat_where_clipped_and_minus_ratio_advantage_elsewhere():
    eps = 0.2
    old = torch.zeros(6, dtype=f64)
    ratio = torch.tensor([1.5, 1.1, 0.5, 0.9, 1.5, 0.5], dtype=f64)
    adv = torch.tensor([1.0, 1.0, -1.0, -1.0, -1.0, 1.0], dtype=f64)
    lp = torch.log(ratio).requires_grad_(True)
    S.ppo_clip(lp, old, adv, clip_range=eps, reduction="sum").backward()
    # clipped (flat): A>0 and r>1+eps; A<0 and r<1-eps. Not flat: inside, and the pessimistic sides.
    expected = torch.tensor([0.0, -1.1, 0.0, 0.9, 1.5, -0.5], dtype=f64)
    torch.testing.assert_close(lp.grad, expected)
    torch.testing.assert_close(S.ppo_clip_grad(lp.detach(), old, adv, clip_range=eps), expected)


def test_ppo_clip_equals_policy_gradient_surrogate_at_the_old_policy():
    g = data.generator(11)
    lp = torch.randn(5, generator=g, dtype=f64) - 1
    adv = torch.randn(5, generator=g, dtype=f64)
    x = lp.clone().requires_grad_(True)
    S.ppo_clip(x, lp, adv, reduction="sum").backward()
    torch.testing.assert_close(x.grad, -adv)  # r = 1: the gradient of -A log pi


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1])
def test_ppo_clip_rejects_clip_range(bad):
    with pytest.raises(ValueError, match="^clip_range must be in"):
        S.ppo_clip(torch.zeros(2), torch.zeros(2), torch.ones(2), clip_range=bad)


def test_ppo_clip_rejects_advantages_shape():
    with pytest.raises(ValueError, match="^log_probs and advantages must have the same shape"):
        S.ppo_clip(torch.zeros(2), torch.zeros(2), torch.ones(3))


def test_ppo_value_is_half_squared_error_and_clipping_is_pessimistic():
    v = torch.tensor([1.0, 0.0, 2.0], dtype=f64)
    G = torch.tensor([0.0, 0.0, 0.0], dtype=f64)
    old = torch.tensor([0.0, 0.5, 0.0], dtype=f64)
    torch.testing.assert_close(S.ppo_value(v, G, reduction="none"), 0.5 * v**2)
    clipped = S.ppo_value(v, G, old_values=old, clip_range=0.2, reduction="none")
    # clipped predictions: 0.2, 0.3, 0.2 -> squared errors 0.04, 0.09, 0.04; max with v^2
    torch.testing.assert_close(clipped, 0.5 * torch.tensor([1.0, 0.09, 4.0], dtype=f64))
    assert (clipped >= S.ppo_value(v, G, reduction="none")).all()


def test_ppo_value_rejects_clip_without_old_values():
    with pytest.raises(ValueError, match="^old_values is required with clip_range"):
        S.ppo_value(torch.zeros(2), torch.zeros(2), clip_range=0.2)


def test_ppo_value_rejects_old_values_without_clip():
    with pytest.raises(ValueError, match="^old_values is used only with clip_range"):
        S.ppo_value(torch.zeros(2), torch.zeros(2), old_values=torch.zeros(2))


def test_ppo_value_rejects_clip_range():
    with pytest.raises(ValueError, match="^clip_range must be positive"):
        S.ppo_value(torch.zeros(2), torch.zeros(2), old_values=torch.zeros(2), clip_range=0.0)


# =============================================================================== smooth L1 and Huber


@pytest.mark.parametrize("beta", [0.1, 1.0, 3.0])
def test_smooth_l1_is_huber_over_beta(beta):
    g = data.generator(12)
    x, y = 3 * torch.randn(20, generator=g, dtype=f64), torch.randn(20, generator=g, dtype=f64)
    torch.testing.assert_close(
        torch.nn.functional.smooth_l1_loss(x, y, beta=beta), regression.huber(x, y, delta=beta) / beta
    )


# =============================================================================== data generators


def test_ordinal_regression_generator_is_seeded_and_covers_every_rank():
    x, y = data.ordinal_regression(200, num_classes=5, seed=3)
    x2, y2 = data.ordinal_regression(200, num_classes=5, seed=3)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert x.shape == (200, 2) and y.dtype == torch.long
    assert set(y.tolist()) == set(range(5))


def test_ordinal_regression_generator_rejects_num_classes():
    with pytest.raises(ValueError, match="^num_classes must be a positive int"):
        data.ordinal_regression(10, num_classes=0)


def test_outlier_regression_generator():
    x, y, clean = data.outlier_regression(100, fraction=0.1, seed=1)
    assert x.shape == (100, 3) and y.shape == clean.shape == (100,)
    assert int((y != clean).sum()) == 10
    x2, y2, _ = data.outlier_regression(100, fraction=0.1, seed=1)
    assert torch.equal(y, y2)


def test_outlier_regression_generator_rejects_fraction():
    with pytest.raises(ValueError, match="^fraction must be in"):
        data.outlier_regression(10, fraction=1.5)


# =============================================================================== extreme inputs


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize(
    "name",
    ["dice", "listnet", "listmle", "coral", "arcface"],
)
def test_extreme_inputs_give_finite_values_and_gradients(name, dtype):
    big = 1e4  # the losses stay below float16's largest value, 65504
    z = torch.tensor([[big, -big, 0.0, big / 2]], dtype=dtype)
    if name == "dice":
        args = (z, torch.tensor([[1.0, 0.0, 1.0, 0.0]], dtype=dtype))
    elif name in ("listnet", "listmle"):
        args = (z, torch.tensor([[0.0, 3.0, 1.0, 2.0]], dtype=dtype))
    elif name == "coral":
        args = (z, torch.tensor([2]))
    else:
        args = (torch.tensor([[1.0, -1.0, 0.0, 1.0]], dtype=dtype), torch.tensor([1]))
    x = args[0].clone().requires_grad_(True)
    loss = getattr(S, name)(x, *args[1:])
    loss.backward()
    assert loss.dtype == dtype and torch.isfinite(loss), loss
    assert torch.isfinite(x.grad).all(), x.grad


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 5), st.integers(2, 6), st.integers(0, 2**31 - 1))
def test_coral_is_nonnegative_and_zero_only_in_the_limit(n, k, seed):
    g = torch.Generator().manual_seed(seed)
    z = 5 * torch.randn(n, k - 1, generator=g, dtype=f64)
    y = torch.randint(0, k, (n,), generator=g)
    assert (S.coral(z, y, reduction="none") > 0).all()
    perfect = 50.0 * (2 * S.coral_levels(y, k).to(f64) - 1)  # logits of the right sign, large
    assert float(S.coral(perfect, y, reduction="sum")) < 1e-15 * n * k + 1e-20
