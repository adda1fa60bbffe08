"""lossbook.bench: the benchmark command runs, covers every case, and writes its JSON.

Timings are measurements, not tests: nothing here asserts a speed.
"""

import json

import pytest
import torch

from lossbook import bench


def test_quick_run_writes_table_and_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--filter", "regression.mse", "--size", "small", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "regression.mse" in table and "F.mse_loss" in table
    data = json.loads(out.read_text())
    assert {"torch", "lossbook", "threads", "device", "date"} <= set(data["environment"])
    (result,) = data["results"]
    assert result["same_value"] and result["ratio"] > 0 and result["ours_peak_bytes"] > 0


def test_unknown_filter_is_an_error():
    with pytest.raises(SystemExit):
        bench.main(["--filter", "no-such-loss"])


def test_every_case_computes_the_same_value_as_its_peer():
    cases = bench._cases()
    names = {c.name for c in cases}
    assert {"regression.huber", "classification.cross_entropy", "probabilistic.kl_div (batchmean)"} <= names
    assert {"metric.nt_xent", "sequence.ctc_loss", "generative.kl_standard_normal"} <= names
    for case in cases:
        if case.size != "small" or not case.same_loss:
            continue
        inputs = case.inputs(torch.device("cpu"), torch.Generator().manual_seed(0))
        torch.testing.assert_close(case.ours(*inputs), case.peer(*inputs), rtol=1e-4, atol=1e-6)


def test_peak_memory_counts_what_a_call_allocates():
    x = torch.randn(10**5)
    used = bench.peak_memory(lambda a: (a * 2).sum(), (x,), (0,), torch.device("cpu"))
    assert used >= 4 * 10**5


def _result(name, size, ratio, same=True):
    return {
        "name": name,
        "size": size,
        "shape": "64x10",
        "peer": "F.x",
        "same_value": same,
        "ours_s": ratio * 1e-4,
        "peer_s": 1e-4,
        "ours_spread": 0.05,
        "peer_spread": 0.04,
        "ratio": ratio,
        "ours_peak_bytes": 10,
        "peer_peak_bytes": 10,
    }


def test_over_target_names_chapters_2_to_4_above_their_size_target():
    results = [
        _result("regression.mse", "large", 1.19),
        _result("regression.huber", "large", 1.43),
        _result("classification.cross_entropy", "small", 1.9),
        _result("probabilistic.kl_div", "small", 2.5),
        _result("metric.nt_xent", "small", 9.0),  # another chapter: no target
        {**_result("regression.log_cosh", "large", 1.5), "peer": "formula"},  # no built-in to match
        _result("classification.focal (overhead)", "large", 5.0, same=None),  # another loss, for scale
    ]
    assert [r["name"] for r in bench.over_target(results)] == ["regression.huber", "probabilistic.kl_div"]
    assert len(bench.with_target(results)) == 4


def test_results_file_round_trip_table_and_figure(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    path = tmp_path / "results.json"
    results = [_result("regression.mse", "large", 0.9), _result("regression.mse", "small", 2.4)]
    path.write_text(json.dumps({"environment": {"torch": "x"}, "results": results}))
    data = bench.load_results(path)
    table = bench.results_table(data["results"])
    assert table.count("\n") == 3 and "| 0.90 |" in table and "| 2.40 |" in table and "64 × 10" in table
    axes = bench.plot_ratios(data["results"])
    assert [ax.get_title() for ax in axes] == ["large inputs", "small batch (64)"]
    (tmp_path / "bad.json").write_text("[]")
    with pytest.raises(ValueError, match="^path must be a results file"):
        bench.load_results(tmp_path / "bad.json")
