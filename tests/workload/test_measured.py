"""Measured speed models reproduce their sources' points (Pollux, Synergy, Gavel)."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgesched_env.config import ClusterSpec
from edgesched_env.workload.measured import (
    MODEL_MATCHING,
    gpu_generation_factor,
    gpu_generations,
    measured_model,
    measured_model_names,
)
from edgesched_env.workload.parametric import OptimusSpeed
from edgesched_env.workload.tables import load_json_data

DATA = load_json_data("measured_models.json")
NAMES = measured_model_names()
REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"


def test_catalogue_has_the_required_models():
    required = {"resnet18-cifar10", "resnet50-imagenet", "bert", "deepspeech2", "yolov3", "ncf"}
    synergy = {"alexnet", "mobilenet", "shufflenet", "gnmt", "transformer", "lstm", "vae", "m5"}
    assert required | synergy <= set(NAMES)
    # Every Synergy model is used by some model type.
    used = {m.synergy for m in MODEL_MATCHING.values()}
    assert set(DATA["synergy"]) <= used


@pytest.mark.parametrize("name", NAMES)
def test_gpu_scaling_reproduces_pollux_at_the_measured_counts(name):
    model = measured_model(name)
    pol = DATA["pollux"][MODEL_MATCHING[name].pollux]
    tput = np.array(pol["samples_per_s"])
    g = np.array(pol["gpus"], dtype=float)
    # At the ideal per-gpu cpu/memory demand the speed is the measured throughput ratio.
    cpus = g * model.best_cpus_per_gpu
    mem = g * model.best_mem_gb_per_gpu
    np.testing.assert_allclose(model.relative_speed(g, cpus, mem), tput / tput[0], rtol=1e-12)
    # And the ratio is the step-time ratio of the raw measurement: X(g) = g * bsz / step_time.
    step = np.array(pol["step_time_s"])
    np.testing.assert_allclose(tput, g * pol["local_bsz"] / step, rtol=1e-8)
    # Monotone where the data is monotone (all six Pollux models are, on one node).
    if np.all(np.diff(tput) > 0):
        between = np.linspace(1, 4, 31)
        s = model.relative_speed(between, between * model.best_cpus_per_gpu, None)
        assert np.all(np.diff(s) > 0)
    # Below 1 GPU: no progress; above 4: flat (no extrapolation).
    assert model.relative_speed(0.0, 4.0)[0] == 0.0
    assert model.relative_speed(8.0, 8 * model.best_cpus_per_gpu)[0] == pytest.approx(tput[-1] / tput[0])


@pytest.mark.parametrize("name", [n for n in NAMES if MODEL_MATCHING[n].synergy is not None])
def test_cpu_memory_factor_reproduces_synergy_grid(name):
    model = measured_model(name)
    syn = DATA["synergy"][MODEL_MATCHING[name].synergy]
    grid = np.array(syn["norm_tput"])
    xs, ys = np.array(syn["cpus_per_gpu"]), np.array(syn["mem_gb_per_gpu"])
    x, y = np.meshgrid(xs, ys, indexing="ij")
    got = model.cpu_mem_factor(x.ravel(), y.ravel()).reshape(grid.shape)
    best = model._grid(  # the normalising value, at the ideal demand clamped into the grid
        np.clip([syn["best_cpus_per_gpu"]], xs[0], xs[-1]),
        np.clip([syn["best_mem_gb_per_gpu"]], ys[0], ys[-1]),
    )[0]
    np.testing.assert_allclose(got * best, grid, rtol=1e-12)
    # At 1 GPU the full speed is the grid value relative to the ideal.
    one = model.relative_speed(np.ones(xs.shape[0]), xs, np.full(xs.shape[0], ys[1]))
    np.testing.assert_allclose(one * best, grid[:, 1], rtol=1e-12)
    # Monotone in cpus where the data is (every Synergy column is non-decreasing in cpus).
    if np.all(np.diff(grid, axis=0) >= 0):
        fine = np.linspace(0.25, 24, 97)
        vals = model.cpu_mem_factor(fine, np.full(fine.shape, 62.5))
        assert np.all(np.diff(vals) >= -1e-12)


@pytest.mark.parametrize(
    "name", ["resnet18-cifar10", "resnet50-imagenet", "deepspeech2", "yolov3", "alexnet", "mobilenet", "m5"]
)
def test_cpu_starvation_makes_more_gpus_slower(name):
    """Synergy shows these models slow down with fewer cpus per gpu: more GPUs without cpus hurt."""
    syn = DATA["synergy"][MODEL_MATCHING[name].synergy]
    assert syn["norm_tput"][0][1] < syn["norm_tput"][1][1]  # the data shows it
    model = measured_model(name)
    one_gpu, four_gpus = model.relative_speed([1.0, 4.0], [1.0, 1.0], [64.0, 256.0])
    assert four_gpus < one_gpu
    # With enough cpus, more GPUs are faster.
    assert model.relative_speed(4.0, 4 * model.best_cpus_per_gpu)[0] > 2.0


def test_cpu_starvation_at_two_cpus_for_resnet18():
    model = measured_model("resnet18-cifar10")
    one_gpu, two_gpus = model.relative_speed([1.0, 2.0], [2.0, 2.0], [64.0, 128.0])
    assert two_gpus < one_gpu


@pytest.mark.parametrize("name", ["bert", "gnmt", "transformer", "lstm", "ncf"])
def test_cpu_insensitive_models_do_not_starve(name):
    model = measured_model(name)
    a, b = model.relative_speed([1.0, 1.0], [1.0, 8.0], [64.0, 64.0])
    assert a == pytest.approx(b)


def test_increment_composes_units_and_work():
    model = measured_model("resnet18-cifar10")  # cpu, gpu, mem (16 GB units)
    alloc = np.array([[9, 1, 4], [18, 2, 8], [2, 1, 4]], dtype=np.int64)
    work = np.array([1.0, 2.0, 0.5])
    dp = model.increment(alloc, np.zeros(3), work, np.ones(3))
    expected = model.relative_speed(alloc[:, 1], alloc[:, 0], alloc[:, 2] * 16.0) / (
        model.nominal_slots * work
    )
    np.testing.assert_allclose(dp, expected)
    assert dp[0] == pytest.approx(1.0 / model.nominal_slots)  # ideal demand on 1 GPU: 9 cpus, 64 GB


@pytest.mark.parametrize("name", ["resnet18-cifar10", "bert", "yolov3"])
def test_memoised_increment_is_bit_identical_to_the_formula(name, monkeypatch):
    """The per-(allocation, factor) memo returns exactly what one relative_speed call gives,
    for repeated rows, rows first seen in a later call, several factors and a cleared memo."""
    import edgesched_env.workload.measured as measured

    model = measured_model(name)
    model._arr["rate_memo"].clear()
    rng = np.random.default_rng(0)
    factors = np.array(sorted(gpu_generations().values()))
    monkeypatch.setattr(measured, "_RATE_MEMO_MAX", 40)  # forces clears along the way
    for _ in range(30):
        n = int(rng.integers(1, 12))
        alloc = rng.integers(0, 9, size=(n, 3)).astype(np.int64)
        alloc[: n // 2] = alloc[0]  # repeats within a call
        sf = factors[rng.integers(0, factors.shape[0], size=n)]
        work = rng.uniform(0.5, 2.0, size=n)
        dp = model.increment(alloc, np.zeros(n), work, sf)
        a = alloc.astype(np.float64)
        expected = model.relative_speed(a[:, 1], a[:, 0], a[:, 2] * 16.0, sf) / (model.nominal_slots * work)
        assert dp.dtype == np.float64 and dp.tobytes() == expected.tobytes()
    assert len(model._arr["rate_memo"]) <= 40 + 12


def test_gpu_generations_follow_gavel():
    gens = gpu_generations()
    assert gens["v100"] == 1.0 and 0 < gens["k80"] < gens["p100"] < 1.0
    for gen in ("k80", "p100"):
        spec = ClusterSpec((24, 4, 16), gpu_generation=gen)
        assert spec.speed_factor == gpu_generation_factor(gen)
        for name in NAMES:
            model = measured_model(name)
            fam = DATA["gavel"][MODEL_MATCHING[name].gavel]["relative_to_v100"][gen]
            fast = model.increment(np.array([[9, 1, 4]]), np.zeros(1), np.ones(1), np.ones(1))
            slow = model.increment(
                np.array([[9, 1, 4]]), np.zeros(1), np.ones(1), np.array([spec.speed_factor])
            )
            assert slow[0] == pytest.approx(fast[0] * fam, rel=1e-12)
    # Any other factor multiplies as is.
    model = measured_model("bert")
    base = model.increment(np.array([[2, 1, 4]]), np.zeros(1), np.ones(1), np.ones(1))
    odd = model.increment(np.array([[2, 1, 4]]), np.zeros(1), np.ones(1), np.array([0.5]))
    assert odd[0] == pytest.approx(0.5 * base[0])


def test_cluster_generation_errors():
    with pytest.raises(ValueError, match="unknown GPU generation 'h100'"):
        ClusterSpec((4, 4), gpu_generation="h100")
    with pytest.raises(ValueError, match="contradicts gpu_generation"):
        ClusterSpec((4, 4), speed_factor=2.0, gpu_generation="k80")
    assert ClusterSpec((4, 4)).speed_factor == 1.0  # default unchanged


def test_unknown_model_lists_known():
    with pytest.raises(ValueError, match=r"unknown measured model 'gpt5'.*resnet18-cifar10"):
        measured_model("gpt5")


def test_optimus_parametric_model():
    m = OptimusSpeed(a=2.0, b=0.5, c=0.2, d=0.1, e=0.05, nominal_steps=100.0, slot_seconds=60.0)
    alloc = np.array([[4, 2], [0, 2], [4, 0]], dtype=np.int64)
    dp = m.increment(alloc, np.zeros(3), np.array([1.0, 1.0, 1.0]), np.ones(3))
    step = 2.0 / 2 + 0.5 + 0.2 * 2 / 4 + 0.1 * 2 + 0.05 * 4
    assert dp[0] == pytest.approx(60.0 / (step * 100.0))
    assert dp[1] == 0.0 and dp[2] == 0.0
    with pytest.raises(ValueError, match=r"OptimusSpeed.c"):
        OptimusSpeed(1.0, 0.0, -1.0, 0.0, 0.0)


@pytest.mark.skipif(not (SHARED / "INDEX.md").is_file(), reason="../shared/data not available")
def test_derive_script_regenerates_the_packaged_files(tmp_path):
    subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "derive_data.py"),
            "--shared",
            str(SHARED),
            "--out",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    pkg = REPO / "edgesched_env" / "workload" / "data"
    for name in ("measured_models.json", "philly_cut.csv", "pollux_workloads.csv"):
        assert filecmp.cmp(tmp_path / name, pkg / name, shallow=False), name


def test_package_data_is_small():
    pkg = REPO / "edgesched_env" / "workload" / "data"
    assert sum(p.stat().st_size for p in pkg.iterdir()) < 300_000
    assert (pkg / "README.md").is_file()
