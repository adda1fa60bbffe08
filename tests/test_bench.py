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
