"""User profile tables: round trip on a hand-written table, and every malformed case."""

from __future__ import annotations

import io

import numpy as np
import pytest

from agents.baselines import make_scheduler
from agents.evaluate import run_episode
from edgesched_env.parallel_env import EdgeSchedParallelEnv
from edgesched_env.presets import profile_config
from edgesched_env.workload.profile import load_profile
from edgesched_env.workload.tables import DataFormatError

TABLE = """task_type,cpu,gpu,mem,completion_time_s
resnet,2,1,2,1200
resnet,4,1,2,800
resnet,2,2,2,900
resnet,4,2,2,500
lm,1,1,1,600
"""


def _load(text: str, **kw):
    return load_profile(io.StringIO(text), name="prof.csv", **kw)


def test_round_trip_reproduces_and_interpolates():
    models = _load(TABLE)
    assert list(models) == ["resnet", "lm"]
    res = models["resnet"]
    assert res.axes == ((2.0, 4.0), (1.0, 2.0), (2.0,))
    alloc = np.array([[2, 1, 2], [4, 1, 2], [2, 2, 2], [4, 2, 2], [3, 1, 2], [3, 2, 2], [8, 4, 9]])
    rate = res.rate(alloc)
    expected = [1 / 1200, 1 / 800, 1 / 900, 1 / 500]
    np.testing.assert_allclose(rate[:4], expected)
    np.testing.assert_allclose(rate[4], (1 / 1200 + 1 / 800) / 2)  # linear between measured points
    np.testing.assert_allclose(rate[5], (1 / 900 + 1 / 500) / 2)
    np.testing.assert_allclose(rate[6], 1 / 500)  # clamped above the largest measured allocation
    # Below the smallest measured allocation: infeasible.
    below = res.rate(np.array([[1, 1, 2], [2, 0, 2], [2, 1, 1]]))
    assert (below == 0).all()
    # Progress per slot: slot_seconds / completion time.
    dp = res.increment(np.array([[4, 2, 2]]), np.zeros(1), np.array([2.0]), np.array([1.0]))
    assert dp[0] == pytest.approx(60.0 / 500 / 2.0)
    assert models["lm"].rate(np.array([[1, 1, 1]]))[0] == pytest.approx(1 / 600)
    assert res.min_allocation == {0: 2, 1: 1, 2: 2}


def test_throughput_tables_need_nominal_work():
    text = "task_type,cpu,gpu,throughput\nx,1,1,10\nx,1,2,18\n"
    with pytest.raises(ValueError, match=r"nominal_work.*'x'"):
        _load(text, resource_names=("cpu", "gpu"))
    m = _load(text, resource_names=("cpu", "gpu"), nominal_work=600.0)["x"]
    dp = m.increment(np.array([[1, 2]]), np.zeros(1), np.ones(1), np.ones(1))
    assert dp[0] == pytest.approx(18 * 60 / 600)


def test_duplicates_that_agree_are_fine():
    models = _load(TABLE + "resnet,2,1,2,1200\n")
    assert models["resnet"].rate(np.array([[2, 1, 2]]))[0] == pytest.approx(1 / 1200)


@pytest.mark.parametrize(
    ("text", "line", "column", "pattern"),
    [
        ("task_type,cpu,completion_time_s\nx,1,10\n", 1, "gpu", "missing column"),
        ("task_type,cpu,gpu\nx,1,1\n", 1, "completion_time_s", "exactly one of"),
        ("task_type,cpu,gpu,throughput,completion_time_s\nx,1,1,2,3\n", 1, "throughput", "both"),
        ("task_type,cpu,gpu,disk,completion_time_s\nx,1,1,2,3\n", 1, "disk", "unknown column"),
        ("task_type,cpu,gpu,completion_time_s\nx,1,1,10\nx,two,1,10\n", 3, "cpu", "'two' is not a number"),
        ("task_type,cpu,gpu,completion_time_s\nx,1,-1,10\n", 2, "gpu", "negative"),
        ("task_type,cpu,gpu,completion_time_s\nx,1,1,-10\n", 2, "completion_time_s", "negative"),
        ("task_type,cpu,gpu,completion_time_s\nx,1,1,0\n", 2, "completion_time_s", "> 0"),
        ("task_type,cpu,gpu,completion_time_s\nx,1.5,1,10\n", 2, "cpu", "whole number"),
        ("task_type,cpu,gpu,completion_time_s\nx,1,1,\n", 2, "completion_time_s", "empty value"),
        (
            "task_type,cpu,gpu,completion_time_s\nx,1,1,10\ny,1,1,5\nx,1,1,12\n",
            4,
            "completion_time_s",
            "disagrees with line 2",
        ),
        ("task_type,cpu,gpu,completion_time_s\nx,1,1,10\nx,2,2,5\n", 2, "task_type", "full grid"),
        ("task_type,cpu,gpu,completion_time_s\n,1,1,10\n", 2, "task_type", "empty task type"),
        ("task_type,cpu,gpu,completion_time_s\nx,1,1,10,7\n", 2, None, "5 fields, expected 4"),
    ],
)
def test_malformed_files_name_file_line_and_column(text, line, column, pattern):
    with pytest.raises(DataFormatError, match=pattern) as err:
        _load(text)
    assert err.value.file == "prof.csv"
    assert err.value.line == line
    assert err.value.column == column
    assert str(err.value).startswith(f"prof.csv, line {line}")


def test_errors_name_a_real_path(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("task_type,cpu,gpu,completion_time_s\nx,1,nan,10\n")
    with pytest.raises(DataFormatError, match=r"mine\.csv, line 2, column 'gpu'"):
        load_profile(path)


def test_a_preset_from_a_profile_runs(tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_text(TABLE)
    cfg = profile_config(path, num_tasks=30, arrival_rate=0.5)
    assert [t.name for t in cfg.workload.task_types] == ["resnet", "lm"]
    assert cfg.workload.task_types[0].min_request == (2, 1, 2)
    metrics = run_episode(make_scheduler("random"), EdgeSchedParallelEnv(cfg), 0)
    assert metrics["tasks_completed"] == 30
