"""The learned agent's benchmark scripts run end to end on tiny settings."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

from _scripts import load_script

from agents.mappo import TrainConfig, train

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    return load_script(f"benchmarks/{name}.py")


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


def test_paper_table_script_on_tiny_settings(tmp_path, monkeypatch):
    from agents.pretrained import available

    mod = _load("paper_table")
    shipped = {k: v for k, v in mod.SETTINGS.items() if v[0] in available()}
    assert shipped
    # two settings with a shipped agent, and one without (reported as missing, not run)
    keep = dict(list(shipped.items())[:2])
    keep["no agent"] = ("edge-philly", {}, 1.0, (0.0, 0.0, 0.0, 0.0))
    monkeypatch.setattr(mod, "SETTINGS", keep)
    res = tmp_path / "res"
    args = [
        "--seeds",
        "2",
        "--num-tasks",
        "10",
        "--no-docs",
        "--out",
        str(tmp_path / "o"),
        "--results",
        str(res),
    ]
    assert mod.main([*args, "--workers", "1"]) == 0
    rep = json.loads((res / "paper_table.json").read_text())
    assert len(rep["rows"]) == 2 and rep["missing"] == [{"setting": "no agent", "preset": "edge-philly"}]
    for row in rep["rows"]:
        m = row["mean_jct"]
        assert set(m) >= {"hgat", "tiresias", "optimus-paper", "random", "min", "lower-bound"}
        assert m["lower-bound"] <= min(m.values()) + 1e-9
        red = (m["random"] - m["hgat"]) / m["random"] * 100
        assert abs(row["reductions"]["random"] - red) < 1e-9
        assert all(u >= 0 for v in row["units_per_cluster"].values() for u in v.values())
    md = (res / "paper_table.md").read_text()
    assert md.count("\n| synthetic") + md.count("\n| hetero") + md.count("\n| sjf") == 4
    assert "| no agent | no `edge-philly` agent shipped yet |" in md


def test_transfer_script_on_tiny_settings(tmp_path):
    mod = _load("transfer")
    res = tmp_path / "res"
    args = ["--stage", "eval", "--seeds", "1", "--num-tasks", "6", "--no-docs", "--workers", "1"]
    args += ["--runs", str(tmp_path / "runs"), "--store", str(tmp_path / "store")]  # no target policies
    assert mod.main([*args, "--out", str(tmp_path / "o"), "--results", str(res)]) == 0
    rep = json.loads((res / "transfer.json").read_text())
    assert len(rep["rows"]) == len(mod.settings())
    for row in rep["rows"]:
        assert row["lower_bound"] <= min(row["zero_shot"], row["best_heuristic"][1]) + 1e-9
        assert row["best_heuristic"][1] == min(row["heuristics"].values())
    big = [r for r in rep["rows"] if r["overrides"].get("clusters") == 24]
    assert len(big) == 1  # the 24-cluster setting ran with the 3-cluster agent


def test_transfer_script_trains_installs_and_benches_a_target_policy(tmp_path):
    mod = _load("transfer")
    res, store = tmp_path / "res", tmp_path / "store"
    tiny = ["--num-envs", "2", "--train-set", "rollout_rounds=16", "--model-set", "hidden=16"]
    tiny += ["--model-set", "head_hidden=16", "--model-set", "layers=1", "--set", "num_tasks=6"]
    args = ["--targets", "rate3", "--rounds", "32", *[f"--train-arg={t}" for t in tiny]]
    args += ["--runs", str(tmp_path / "runs"), "--store", str(store), "--out", str(tmp_path / "o")]
    args += ["--results", str(res), "--seeds", "1", "--num-tasks", "6", "--workers", "1", "--no-docs"]
    assert mod.main(args) == 0
    meta = json.loads((store / "rate3" / "checkpoint.json").read_text())["meta"]
    assert meta["model_config"]["hidden"] == 16
    cmd = (store / "rate3" / "training" / "command.txt").read_text()
    assert "--set arrival_rate=3.0" in cmd and "--rounds 32" in cmd
    rows = {r["key"]: r for r in json.loads((res / "transfer.json").read_text())["rows"]}
    assert rows["rate3"]["target"]["rounds"] >= 32 and rows["rate3"]["target_trained"] > 0
    assert rows["rate4"]["target_trained"] is None  # not asked for: no policy, no number
    assert rows["source"]["target_trained"] == rows["source"]["zero_shot"]
    assert "not trained" in (res / "transfer.md").read_text()


def test_ablations_script_trains_installs_and_tables_tiny_variants(tmp_path):
    mod = _load("ablations")
    res, store = tmp_path / "res", tmp_path / "store"
    tiny = ["--num-envs", "2", "--train-set", "rollout_rounds=16", "--model-set", "hidden=16"]
    tiny += ["--model-set", "head_hidden=16", "--model-set", "layers=1"]
    args = ["--rounds", "32", "--variants", "no-pointer,decentralised-actor", "--set", "num_tasks=6"]
    args += [f"--train-arg={t}" for t in tiny]
    args += ["--runs", str(tmp_path / "runs"), "--store", str(store), "--out", str(tmp_path / "bench")]
    args += ["--results", str(res), "--seeds", "2", "--num-tasks", "6", "--workers", "1", "--no-docs"]
    assert mod.main(args) == 0
    for name in ("no-pointer", "decentralised-actor", "full-s2"):
        meta = json.loads((store / name / "checkpoint.json").read_text())["meta"]
        assert (store / name / "training" / "train_result.json").is_file()
        assert meta["model_config"]["hidden"] == 16
    meta = json.loads((store / "no-pointer" / "checkpoint.json").read_text())["meta"]
    assert meta["model_config"]["task_choice"] == "uniform"
    rep = json.loads((res / "ablations.json").read_text())
    assert [r["variant"] for r in rep["rows"]] == ["full", "no-pointer", "decentralised-actor"]
    assert rep["rows"][1]["paper_worse_pct"] == 39.1 and rep["rows"][1]["rounds"] == 32
    full = rep["rows"][0]["mean_jct"]
    for r in rep["rows"]:
        assert abs(r["worse_pct"] - 100 * (r["mean_jct"] - full) / full) < 1e-9
    assert rep["seed_spread"]["seeds"] == [0, 1, 2] and len(rep["seed_spread"]["mean_jct"]) == 3
    assert "| no pointer (uniform task choice) |" in (res / "ablations.md").read_text()


def test_headroom_report_orders_and_closes_the_gap(tmp_path):
    """The headroom report's arithmetic on hand-made bench outputs (no episode is run)."""
    import argparse

    mod = _load("headroom")
    heur = {"random": 20.0, "min": 30.0, "fifo-greedy": 12.0, "srtf": 9.0, "tetris": 10.0}
    heur |= {"optimus": 14.0, "optimus-np": 8.0, "optimus-paper": 11.0, "optimus-np-paper": 7.5}
    plans = []
    for preset in mod.PRESETS:
        for stage, m in (("full", heur), ("before", {e: 2 * heur[e] for e in mod.ESTIMATORS})):
            d = tmp_path / stage / preset
            d.mkdir(parents=True)
            recs = [{"scheduler": k, "seed": s, "mean_jct": v} for k, v in m.items() for s in (0, 1)]
            (d / "results.json").write_text(json.dumps(recs))
        d = tmp_path / "headroom" / preset
        d.mkdir(parents=True)
        h = {"lower-bound": 4.0, "oracle-greedy": 6.0, "fifo-greedy": 12.0, "srtf": 7.0, "random": 20.0}
        recs = [{"scheduler": k, "seed": s, "mean_jct": v} for k, v in h.items() for s in (0, 1)]
        (d / "results.json").write_text(json.dumps(recs))
        for s in (0, 1):
            planned = {"cp-sat": 4.5, "oracle-greedy": 6.0}
            plans.append(
                {"preset": preset, "seed": s, "mean_jct": 5.0, "plan_mean_jct": 4.5, "bound_mean_jct": 4.2}
                | {"gap": 0.1, "status": "feasible", "wall_s": 1.0, "source": "cp-sat", "planned": planned}
                | {"replayed": {"cp-sat": 5.0, "oracle-greedy": 6.0}}
            )
    (tmp_path / "headroom" / "oracle_plan.json").write_text(json.dumps(plans))
    args = argparse.Namespace(out=tmp_path, seeds=2, plan_time=1.0, before_rev="x")
    rep = mod.build_report(args)
    row = rep["strength"][0]
    assert row["best_after"] == ("optimus-np-paper", 7.5)
    assert row["estimators"]["optimus"]["ratio_after"] == 14.0 / 7.5
    assert row["estimators"]["srtf"]["ratio_before"] == 18.0 / 7.5  # the paper variants count
    h = rep["headroom"][0]
    assert h["ordered"] and h["best_heuristic"] == ("srtf", 7.0)
    assert h["closed"] == (12.0 - 7.0) / (12.0 - 5.0)
    assert h["oracle_plan_kept"] == {"cp-sat": 2}
    md = mod.markdown(rep)
    assert "| 4.50 -> 5.00 (2/2) |" in md and "**no**" in md  # optimus at 1.87x misses 1.5x


ABLATIONS = sorted((ROOT / "benchmarks" / "checkpoints" / "ablations").glob("*/checkpoint.json"))


def test_committed_ablation_checkpoints_are_their_variants_and_play():
    import warnings

    from agents.evaluate import evaluate
    from agents.hgat import HGATScheduler, ModelConfig

    mod = _load("ablations")
    expect = {
        "no-pointer": {"task_choice": "uniform"},
        "no-graph": {"encoder": "mlp"},
        "vanilla-drl": {"task_choice": "fifo"},
        "decentralised-actor": {"actor_view": "own"},
    }
    assert {p.parent.name for p in ABLATIONS} == {*mod.VARIANTS, "full-s2"}
    for path in ABLATIONS:
        name = path.parent.name
        meta = json.loads(path.read_text())["meta"]
        cfg = json.loads((path.parent / "training" / "train_config.json").read_text())
        assert cfg["total_rounds"] == mod.ROUNDS and cfg["seed"] == (2 if name == "full-s2" else 0)
        assert cfg["bayes"] == (name != "no-bayes") and cfg["reward"] == (
            "global" if name == "global-reward" else "env"
        )
        model = ModelConfig.from_dict(meta["model_config"])  # written before the options: the defaults
        want = {"task_choice": "pointer", "encoder": "graph", "actor_view": "global", **expect.get(name, {})}
        assert {k: getattr(model, k) for k in want} == want, name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # two were stamped with a short-lived 0.4.0 label
            rec = evaluate(HGATScheduler(path.parent), "tapfinger-synthetic", seeds=[0], num_tasks=12)[0]
        assert rec["tasks_completed"] == 12 and rec["infeasible_actions"] == 0


def test_committed_transfer_checkpoints_are_their_settings_and_play():
    import warnings

    from agents.evaluate import evaluate

    mod = _load("transfer")
    store = ROOT / "benchmarks" / "checkpoints" / "transfer"
    trained = {st["key"]: st for st in mod.settings() if st["target"] == "train"}
    assert {p.name for p in store.iterdir() if p.is_dir()} == set(trained)
    for key, st in trained.items():
        cfg = json.loads((store / key / "training" / "train_config.json").read_text())
        assert cfg["preset"] == st["preset"] and cfg["seed"] == 0
        assert cfg["total_rounds"] == mod.TARGET_ROUNDS.get(key, mod.SOURCE_ROUNDS)
        assert cfg["env_overrides"] == json.loads(json.dumps(st["overrides"]))  # trained where it says
        assert (store / key / "training" / "command.txt").read_text().startswith("edgesched train --preset")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (rec,) = evaluate(
            f"hgat:{store / 'rate1'}", "tapfinger-synthetic", [0], arrival_rate=1.0, num_tasks=12
        )
    assert rec["tasks_completed"] == 12


def test_preset_tables_script_on_a_tiny_setting(capsys):
    """The per-preset tables script benches, tables and ranks (no file is written)."""
    mod = _load("preset_tables")
    assert mod.main(["--seeds", "1", "--presets", "tapfinger-synthetic,tapfinger-sjf", "--workers", "1",
                     "--schedulers", "min,fair-share,random", "--no-write"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert out.count("| scheduler | mean JCT") == 2 and "| lower-bound |" in out
    assert "| tapfinger-sjf | " in out  # the ranking row of the non-reference preset
    assert mod.kendall_tau([1.0, 2.0, 3.0], [3.0, 2.0, 1.0]) == -1.0


def test_results_md_holds_the_committed_preset_tables():
    """docs/results.md's per-preset block is what the script writes from the committed JSON."""
    mod = _load("preset_tables")
    res = json.loads(mod.OUT.read_text())
    assert set(res["tables"]) == set(mod.PRESETS)
    assert f"<!-- presets:start -->\n{mod.markdown(res)}<!-- presets:end -->" in mod.RESULTS.read_text()
