"""benchmarks/env_speed.py and its worker: the jobs the ``versus`` section sends, and the README's
figures of its saved run."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

from _scripts import load_script

ROOT = Path(__file__).resolve().parents[2]
TINY = {"num_tasks": 6}


def worker() -> ModuleType:
    return load_script("benchmarks/_v0_worker.py")


def test_a_vector_job_warms_up_once_then_counts_the_rounds_of_its_block() -> None:
    w = worker()
    job = {"kind": "vector", "preset": "tapfinger-synthetic", "overrides": TINY, "num_envs": 2, "steps": 5}
    first = w.run_job(job)
    assert first["warmup_steps"] >= 1 and first["roots"] == [str(ROOT)]
    again = w.run_job(job)
    assert "warmup_steps" not in again  # the same vector env, carried on
    for res in (first, again):
        assert res["steps"] == 5 and res["rounds"] + res["resets"] == 2 * 5
        assert res["env_s"] > 0 and res["env_cpu_s"] >= 0


def test_a_single_env_job_times_reset_and_steps_of_one_episode() -> None:
    res = worker().run_job({"preset": "tapfinger-synthetic", "overrides": TINY, "seed": 0})
    assert res["rounds"] > 0 and res["slots"] > 0 and res["return0"] < 0
    assert min(res["env_s"], res["reset_s"]) > 0 and res["env_cpu_s"] >= 0 and res["reset_cpu_s"] >= 0


def test_the_readme_quotes_the_saved_versus_run() -> None:
    rep = json.loads((ROOT / "benchmarks" / "results" / "env_speed_v0.json").read_text())
    readme = (ROOT / "README.md").read_text()
    assert rep["meta"]["v0_commit"].startswith("553c5ed")
    single, vector = rep["versus"]["single"], rep["versus"]["vector"]
    assert all(r["same_episodes"] for r in single) and vector["same_episodes"]
    for r in single:
        assert f"| {r['preset']} " in readme
        assert f" {r['new_vs_v0_cpu']:.2f}x " in readme and f" {r['new_vs_v0_wall']:.2f}x " in readme
    assert f"{vector['new_vs_v0_cpu']:.2f}x (CPU time)" in readme
