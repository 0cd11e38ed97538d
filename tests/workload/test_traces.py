"""Trace replay and arrival processes: order, count and exact time compression."""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from importlib import resources

import numpy as np
import pytest

from edgesched_env.config import EnvConfig
from edgesched_env.presets import make_config
from edgesched_env.workload.arrivals import diurnal_arrival_slots, generate_workload
from edgesched_env.workload.tables import DataFormatError
from edgesched_env.workload.traces import TraceReplay, load_trace


def _cut_rows() -> list[dict[str, str]]:
    text = (resources.files("edgesched_env.workload") / "data" / "philly_cut.csv").read_text()
    return list(csv.DictReader(io.StringIO(text)))


def test_philly_replay_matches_the_cut_and_compression_is_exact():
    rows = _cut_rows()
    cfg = make_config("edge-philly")
    trace = cfg.workload.trace
    assert trace is not None and trace.source == "philly"
    t = cfg.workload.num_tasks
    wl = generate_workload(cfg, np.random.default_rng(0))
    assert wl.num_tasks == t
    submit = [int(r["submit_s"]) for r in rows[trace.start_row : trace.start_row + t]]
    assert submit == sorted(submit)  # the cut is sorted
    expected = [math.floor((s - submit[0]) / trace.arrival_seconds_per_slot) for s in submit]
    assert wl.arrival_slot.tolist() == expected
    # Homes follow the Philly virtual cluster (rank among the cut's sorted ids, mod N).
    ids = sorted({r["cluster"] for r in rows})
    homes = [ids.index(r["cluster"]) % cfg.num_clusters for r in rows[:t]]
    assert wl.home is not None and wl.home.tolist() == homes


def test_start_row_and_compression_are_configurable():
    rows = _cut_rows()
    tr = TraceReplay("philly", start_row=100, arrival_seconds_per_slot=37.0, duration_seconds_per_slot=90.0)
    jobs = tr.jobs(50)
    assert jobs.submit_s.tolist() == [float(r["submit_s"]) for r in rows[100:150]]
    s0 = float(rows[100]["submit_s"])
    assert tr.arrival_slots(jobs).tolist() == [
        math.floor((float(r["submit_s"]) - s0) / 37.0) for r in rows[100:150]
    ]
    d = [min(max(float(r["duration_s"]) / 90.0, 1.0), 100.0) for r in rows[100:150]]
    np.testing.assert_allclose(tr.duration_slots(jobs), d)
    with pytest.raises(ValueError, match=r"has 1692 jobs.*needs 1701"):
        tr.jobs(1601)


def test_trace_work_makes_tasks_run_about_their_duration():
    cfg = make_config("edge-philly", work_sigma=0.0)
    trace = cfg.workload.trace
    wl = generate_workload(cfg, np.random.default_rng(1))
    jobs = trace.jobs(cfg.workload.num_tasks)
    dur = trace.duration_slots(jobs)
    gpus = np.clip(jobs.num_gpus, 1, cfg.num_levels[1] - 1)
    for i in range(0, cfg.workload.num_tasks, 7):
        model = cfg.workload.task_types[wl.type_idx[i]].speed
        g = int(gpus[i])
        cpu = math.ceil(model.best_cpus_per_gpu * g)
        mem = math.ceil(model.best_mem_gb_per_gpu * g / 16.0)
        dp = model.increment(np.array([[cpu, g, mem]]), np.zeros(1), wl.work[i : i + 1], np.ones(1))[0]
        assert 1.0 / dp == pytest.approx(dur[i], rel=1e-9)


def test_pollux_workload_replay_carries_model_types():
    cfg = make_config("edge-pollux")
    wl = generate_workload(cfg, np.random.default_rng(0))
    jobs = load_trace("pollux-workload-1")
    names = [t.name for t in cfg.workload.task_types]
    assert [names[k] for k in wl.type_idx] == list(jobs.application)
    assert (
        wl.arrival_slot.tolist() == np.floor((jobs.submit_s - jobs.submit_s[0]) / 120.0).astype(int).tolist()
    )


def test_unknown_trace_and_bad_user_trace(tmp_path):
    with pytest.raises(ValueError, match=r"pollux-workload-1 .. -8"):
        load_trace("pollux-workload-9")
    path = tmp_path / "t.csv"
    path.write_text("submit_s,duration_s,num_gpus\n0,10,1\n5,x,1\n")
    with pytest.raises(DataFormatError, match=r"t\.csv, line 3, column 'duration_s'"):
        load_trace(str(path))
    path.write_text("submit_s,num_gpus\n0,1\n5,0\n")
    with pytest.raises(DataFormatError, match=r"line 3, column 'num_gpus'"):
        load_trace(str(path))


def test_user_trace_is_sorted_and_replayed(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("submit_s,duration_s,num_gpus\n300,600,1\n0,1200,2\n120,60,1\n")
    base = make_config("edge-ml-small")
    tr = TraceReplay(str(path), arrival_seconds_per_slot=60.0, duration_seconds_per_slot=60.0)
    cfg = make_config(base, arrival_process="trace", trace=tr, num_tasks=3)
    wl = generate_workload(cfg, np.random.default_rng(0))
    assert wl.arrival_slot.tolist() == [0, 2, 5]


def test_trace_types_must_exist():
    base = make_config("edge-pollux")
    with pytest.raises(ValueError, match="not among"):
        make_config(base, task_types=base.workload.task_types[:2], type_probs=(0.5, 0.5))


def test_diurnal_rate_swings():
    rng = np.random.default_rng(0)
    slots = diurnal_arrival_slots(4.0, 0.9, 100.0, 20000, rng)
    counts = np.bincount(slots)
    phase = np.arange(counts.shape[0]) % 100
    peak = counts[(phase > 15) & (phase < 35)].mean()
    trough = counts[(phase > 65) & (phase < 85)].mean()
    assert peak > 4 * trough
    assert slots.shape == (20000,) and np.all(np.diff(slots) >= 0)
    cfg = make_config("edge-ml-small", arrival_process="diurnal", diurnal_amplitude=0.5)
    assert isinstance(cfg, EnvConfig)
    a = generate_workload(cfg, np.random.default_rng(3))
    b = generate_workload(cfg, np.random.default_rng(3))
    assert a.arrival_slot.tolist() == b.arrival_slot.tolist()


def test_trace_replay_is_frozen_config():
    tr = TraceReplay()
    with pytest.raises(dataclasses.FrozenInstanceError):
        tr.start_row = 3  # type: ignore[misc]
    with pytest.raises(ValueError, match="arrival_seconds_per_slot"):
        TraceReplay(arrival_seconds_per_slot=0.0)
