"""benchmarks/maskable_ppo.py: a tiny end-to-end run, and its seed policy."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import ModuleType

import pytest
from _scripts import load_script

pytest.importorskip("sb3_contrib")
torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")


def load_bench() -> ModuleType:
    """Import the benchmark script as a module (``benchmarks/`` is not a package)."""
    return load_script("benchmarks/maskable_ppo.py")


def test_seed_parsing_and_disjoint_training_pool() -> None:
    bench = load_bench()
    assert bench.parse_seeds("1000-1002") == [1000, 1001, 1002]
    assert bench.parse_seeds("3, 5-6,9") == [3, 5, 6, 9]
    for bad in ("", "5-3", "1,1", "-1"):
        with pytest.raises(ValueError):
            bench.parse_seeds(bad)
    pool = bench.train_seed_pool([5, 7, 1000])
    assert pool.min() >= 0 and pool.max() < bench.TRAIN_SEED_LIMIT and not {5, 7} & set(pool.tolist())
    dealer = bench._SeedDealer(pool, train_seed=0, num_envs=3)
    dealt = [dealer.next_seed(i % 3) for i in range(pool.shape[0])]
    assert sorted(dealt) == sorted(pool.tolist()) and not dealer.seeds_repeated()


def test_maskable_ppo_bench_tiny_run(tmp_path: Path) -> None:
    bench = load_bench()
    out = tmp_path / "run"
    argv = ["--quick", "--max-steps", "256", "--num-tasks", "10", "--num-envs", "2"]
    argv += ["--eval-seeds", "1000-1001", "--baselines", "random", "--out", str(out)]
    result = bench.main(argv)

    on_disk = json.loads((out / "result.json").read_text())
    assert on_disk["per_seed_mean_jct"] == result["per_seed_mean_jct"]
    assert set(on_disk["per_seed_mean_jct"]) == {"1000", "1001"}
    assert all(math.isfinite(v) and v > 0 for v in on_disk["per_seed_mean_jct"].values())
    assert on_disk["train_timesteps"] >= 256 and on_disk["stopped_by"] == "max_steps"
    assert on_disk["hyperparameters"]["n_steps"] == 64 and on_disk["hyperparameters"]["gamma"] == 0.99
    assert set(on_disk["baselines"]["random"]["per_seed_mean_jct"]) == {"1000", "1001"}
    assert (out / "progress.csv").read_text().startswith("timesteps,wall_s,")

    # The weights load into a fresh policy of the same shape and replay the same evaluation.
    weights = safetensors_torch.load_file(str(out / "policy.safetensors"))
    overrides = {"num_tasks": 10}
    fresh = bench.make_model(bench.make_env("tapfinger-synthetic", overrides), seed=1)
    expected = fresh.policy.state_dict()
    assert set(weights) == set(expected)
    assert all(weights[k].shape == expected[k].shape for k in expected)
    fresh.policy.load_state_dict(weights, strict=True)
    replay = bench.evaluate_policy(fresh, "tapfinger-synthetic", [1000, 1001], overrides)
    assert {str(r["seed"]): r["mean_jct"] for r in replay} == on_disk["per_seed_mean_jct"]
