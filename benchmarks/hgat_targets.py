"""The learned agent's targets: train HGAT-MAPPO and a generic learner on the same budget, then
compare both with every heuristic on held-out seeds.

For each preset:

1. ``edgesched train`` the HGAT agent for ``--budget-minutes`` (1 torch thread) and, at the same
   time and with the same budget, sb3-contrib's MaskablePPO with its default MLP on the central
   view (``benchmarks/maskable_ppo.py``, 1 thread): the two share the machine's 2 cores;
2. evaluate on the test seeds ``0 ... 9`` (never used for training or model selection: HGAT
   trains on seeds from 1 000 000 up and selects on 900 000-900 004; MaskablePPO trains on seeds
   10-999): HGAT's best checkpoint (in the decision mode its training selected), every non-oracle
   heuristic, the oracle and the lower bound through the bench harness, MaskablePPO
   deterministically;
3. write ``benchmarks/results/hgat_targets_<preset>.json`` and ``.md`` (ratios measured in this
   run; ``..._<preset>-s<seed>.*`` for another training seed), and copy HGAT's best checkpoint
   to ``benchmarks/checkpoints/hgat-<preset>-s<seed>/`` with its training log, config, summary
   and curve under ``training/``.

    .venv/bin/python benchmarks/hgat_targets.py --preset tapfinger-synthetic --budget-minutes 20
    .venv/bin/python benchmarks/hgat_targets.py --preset tapfinger-synthetic --skip-train   # re-evaluate
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from agents.baselines import make_scheduler, scheduler_names

ROOT = Path(__file__).resolve().parents[1]
# every registered heuristic that reads no hidden state (the oracle is reported apart)
NON_ORACLE = [n for n in scheduler_names() if not make_scheduler(n).uses_oracle]


def _train(preset: str, minutes: float, seed: int, runs: Path, skip: bool) -> tuple[Path, Path]:
    hgat = runs / f"hgat-{preset}-s{seed}"
    mppo = runs / f"mppo-{preset}-s{seed}"
    if skip:
        return hgat, mppo
    py = sys.executable
    cmds = [
        [py, "-m", "agents.cli", "train", "--preset", preset, "--budget-minutes", str(minutes),
         "--seed", str(seed), "--out", str(hgat), "--train-set", "gamma=0.95", "--train-set", "eval_every=20",
         "--no-progress"],
        [py, str(ROOT / "benchmarks" / "maskable_ppo.py"), "--preset", preset, "--budget-minutes",
         str(minutes), "--seed", str(seed), "--eval-seeds", "0-9", "--baselines", "", "--out", str(mppo)],
    ]  # fmt: skip
    runs.mkdir(parents=True, exist_ok=True)
    procs = []
    for cmd, log in zip(cmds, (hgat.with_suffix(".log"), mppo.with_suffix(".log"))):
        procs.append(subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=ROOT))
    for p, cmd in zip(procs, cmds):
        if p.wait() != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}")
    return hgat, mppo


def _evaluate(preset: str, hgat: Path, mppo: Path, seeds: list[int], workers: int) -> dict[str, Any]:
    from agents.bench import run_bench, summarize

    names = [f"hgat:{hgat / 'best'}", *NON_ORACLE, "oracle-greedy"]
    result = run_bench(preset, names, seeds, workers=workers, progress=False)
    rows = {r["scheduler"]: r for r in summarize(result, [])}
    means = {name: float(r["mean_jct"]) for name, r in rows.items()}
    learned = means.pop(names[0])
    lower = means.pop("lower-bound")
    best_name = min(NON_ORACLE, key=lambda n: means[n])
    mp = json.loads((mppo / "result.json").read_text()) if (mppo / "result.json").exists() else None
    train = json.loads((hgat / "train_result.json").read_text())
    meta = json.loads((hgat / "best" / "checkpoint.json").read_text())["meta"]
    out: dict[str, Any] = {
        "preset": preset,
        "test_seeds": seeds,
        "hgat": {
            "mean_jct": learned,
            "per_seed": [r["mean_jct"] for r in result.records if r["scheduler"] == names[0]],
            "decision_mode": meta.get("decision_mode", "greedy"),
            "best_at": meta["train_state"],
            "train_wall_s": train["wall_s"],
            "train_rounds": train["rounds"],
            "train_rounds_per_s": train["rounds_per_s"],
            "timing_s": train["timing_s"],
            "threads": train["threads"],
        },
        "heuristics": means,
        "best_non_oracle": {"name": best_name, "mean_jct": means[best_name]},
        "lower_bound": lower,
        "ratio_to_best_non_oracle": learned / means[best_name],
        "ratio_to_lower_bound": learned / lower,
    }
    if mp is not None:
        if sorted(int(s) for s in mp["per_seed_mean_jct"]) != seeds:
            raise SystemExit(f"{mppo}/result.json was evaluated on other seeds: {mp['eval_seeds']}")
        mjct = float(mp["mean_jct"])
        out["maskable_ppo"] = {
            "mean_jct": mjct,
            "per_seed": mp["per_seed_mean_jct"],
            "train_timesteps": mp["train_timesteps"],
            "train_wall_s": mp["train_wall_s"],
            "eval_truncated_seeds": mp["eval_truncated_seeds"],
        }
        out["ratio_hgat_to_maskable_ppo"] = learned / mjct
    return out


def _markdown(res: dict[str, Any]) -> str:
    h = res["hgat"]
    lines = [
        f"### {res['preset']} (test seeds {res['test_seeds'][0]}-{res['test_seeds'][-1]})",
        "",
        "| scheduler | mean JCT (slots) | vs best non-oracle | vs lower bound |",
        "|---|---|---|---|",
    ]
    best = res["best_non_oracle"]["mean_jct"]
    lb = res["lower_bound"]
    rows = [(f"HGAT-MAPPO ({h['decision_mode']}, {h['train_wall_s'] / 60:.1f} min)", h["mean_jct"])]
    if "maskable_ppo" in res:
        m = res["maskable_ppo"]
        rows.append((f"MaskablePPO MLP ({(m['train_wall_s'] or 0) / 60:.1f} min)", m["mean_jct"]))
    rows += sorted(res["heuristics"].items(), key=lambda kv: kv[1])
    rows.append(("lower bound", lb))
    for name, v in rows:
        lines.append(f"| {name} | {v:.3f} | {v / best:.3f} | {v / lb:.3f} |")
    t = h["timing_s"]
    total = sum(t.values())
    split = ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in t.items())
    lines += [
        "",
        f"HGAT training: {h['train_rounds']} rounds in {h['train_wall_s']:.0f} s "
        f"({h['train_rounds_per_s']:.0f} rounds/s, {h['threads']} thread); time split: {split}.",
    ]
    return "\n".join(lines) + "\n"


def _copy_training_record(run: Path, dest: Path) -> None:
    """The run's log, config, summary and curve go with the committed checkpoint (``training/``)."""
    (dest / "training").mkdir(exist_ok=True)
    for name in ("progress.csv", "train_config.json", "train_result.json", "training_curve.png"):
        if (run / name).exists():
            shutil.copy2(run / name, dest / "training" / name)


def main(argv: list[str] | None = None) -> int:
    """Train (unless ``--skip-train``), evaluate, write the results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="tapfinger-synthetic")
    ap.add_argument("--budget-minutes", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", default=str(ROOT / "runs"))
    ap.add_argument("--skip-train", action="store_true", help="evaluate existing runs only")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=10, help="test seeds 0 ... N-1 (default 10)")
    ap.add_argument("--results-dir", default=str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--checkpoints-dir", default=str(ROOT / "benchmarks" / "checkpoints"))
    args = ap.parse_args(argv)
    hgat, mppo = _train(args.preset, args.budget_minutes, args.seed, Path(args.runs), args.skip_train)
    res = _evaluate(args.preset, hgat, mppo, list(range(args.seeds)), args.workers)
    results = Path(args.results_dir)
    results.mkdir(parents=True, exist_ok=True)
    stem = f"hgat_targets_{args.preset}" + (f"-s{args.seed}" if args.seed else "")  # seed 0: the README's
    res["train_seed"] = args.seed
    (results / f"{stem}.json").write_text(json.dumps(res, indent=2))
    md = _markdown(res)
    (results / f"{stem}.md").write_text(md)
    dest = Path(args.checkpoints_dir) / f"hgat-{args.preset}-s{args.seed}"
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(hgat / "best", dest, ignore=shutil.ignore_patterns("eval-*"))
    _copy_training_record(hgat, dest)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
