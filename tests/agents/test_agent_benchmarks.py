"""The learned agent's benchmark scripts run end to end on tiny settings."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from agents.mappo import TrainConfig, train

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_policy_latency_script(tmp_path):
    mod = _load("policy_latency")
    md, js = tmp_path / "lat.md", tmp_path / "lat.json"
    args = ["--presets", "tapfinger-synthetic", "--archs", "tiny", "--rounds", "5", "--batch", "2"]
    assert mod.main([*args, "--md", str(md), "--json", str(js)]) == 0
    rows = json.loads(js.read_text())
    assert rows[0]["rounds_timed"] == 5 and rows[0]["median_ms"] > 0
    assert "| tapfinger-synthetic | 3 | tiny |" in md.read_text()


def test_targets_script_evaluates_a_run(tmp_path):
    runs = tmp_path / "runs"
    cfg = TrainConfig(
        preset="tapfinger-synthetic",
        env_overrides={"num_tasks": 12},
        total_rounds=64,
        num_envs=2,
        rollout_rounds=32,
        model_overrides={"hidden": 16, "head_hidden": 16, "layers": 1, "heads": 2},
        selection_seeds=(900_000,),
        eval_every=1,
    )
    train(cfg, runs / "hgat-tapfinger-synthetic-s0", progress=False)
    mod = _load("hgat_targets")
    mod.NON_ORACLE = ["random", "optimus-np"]  # keep the tiny case fast
    rc = mod.main(
        ["--preset", "tapfinger-synthetic", "--skip-train", "--runs", str(runs), "--seeds", "2",
         "--workers", "1", "--results-dir", str(tmp_path / "res"), "--checkpoints-dir", str(tmp_path / "ck")]
    )  # fmt: skip
    assert rc == 0
    res = json.loads((tmp_path / "res" / "hgat_targets_tapfinger-synthetic.json").read_text())
    assert res["best_non_oracle"]["name"] in ("random", "optimus-np")
    assert res["ratio_to_lower_bound"] >= 1.0 and len(res["hgat"]["per_seed"]) == 2
    assert (tmp_path / "ck" / "hgat-tapfinger-synthetic-s0" / "model.safetensors").exists()
    assert "HGAT-MAPPO" in (tmp_path / "res" / "hgat_targets_tapfinger-synthetic.md").read_text()
