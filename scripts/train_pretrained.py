"""Train, install and document the pretrained HGAT agents shipped in ``agents/pretrained/``.

Stages (``--stage``, default ``all``), each skipping what is already done:

1. **train**: ``edgesched train --preset P --rounds R --seed 0 --out runs/pretrained/P`` for every
   preset of :data:`PRETRAINED` (resumed from ``last/`` if interrupted). ``--rounds`` makes the
   run deterministic (same seed and thread count -> same weights).
2. **install**: copy ``runs/pretrained/P/best/`` (``checkpoint.json`` + ``model.safetensors``)
   into ``agents/pretrained/P/`` with ``card.json``: the exact command, seed, rounds, wall time,
   thread count, selection result and model config. ``--from P=DIR`` installs an existing run's
   best checkpoint instead (a ``DIR`` with ``checkpoint.json`` and ``training/``).
3. **cards**: ``edgesched bench`` of every heuristic, the lower bound and ``hgat`` (the shipped
   agent) on seeds 0-9 (never used for training or selection), written to
   ``benchmarks/results/pretrained/P.json`` and the model card ``docs/models/P.md``.

    python scripts/train_pretrained.py [--presets a,b] [--stage all|train|install|cards] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: preset -> env rounds of its training run (about 20 minutes on one core of the 2-core machine).
PRETRAINED: dict[str, int] = {
    "tapfinger-synthetic": 667_648,
    "tapfinger-synthetic6": 376_832,
    "tapfinger-hetero6": 377_856,
    "tapfinger-sjf": 614_400,
    "edge-ml-small": 490_496,
}
SEED = 0
TEST_SEEDS = range(10)
PACKAGE = ROOT / "agents" / "pretrained"


def run_dir(preset: str) -> Path:
    return ROOT / "runs" / "pretrained" / preset


def train_command(preset: str) -> list[str]:
    return [
        "edgesched",
        "train",
        "--preset",
        preset,
        "--rounds",
        str(PRETRAINED[preset]),
        "--seed",
        str(SEED),
        "--threads",
        "1",
        "--no-progress",
        "--out",
        f"runs/pretrained/{preset}",
    ]


def stage_train(presets: list[str]) -> None:
    for preset in presets:
        out = run_dir(preset)
        if (out / "train_result.json").is_file():
            continue
        cmd = [sys.executable, "-m", "agents.cli", *train_command(preset)[1:]]
        if (out / "last" / "checkpoint.json").is_file():
            cmd.append("--resume")
        print("+", " ".join(cmd[2:]), flush=True)
        subprocess.run(cmd, check=True, cwd=ROOT)


def _card(preset: str, best: Path, training: Path, command: list[str]) -> dict[str, Any]:
    cfg = json.loads((training / "train_config.json").read_text())
    res = json.loads((training / "train_result.json").read_text())
    meta = json.loads((best / "checkpoint.json").read_text())
    return {
        "preset": preset,
        "command": " ".join(command),
        "seed": cfg["seed"],
        "rounds": res["rounds"],
        "iterations": res["iterations"],
        "wall_s": res["wall_s"],
        "threads": res.get("threads", cfg.get("threads")),
        "deterministic": cfg.get("budget_minutes") is None,
        "num_envs": cfg["num_envs"],
        "arch": cfg["arch"],
        "bayes": cfg["bayes"],
        "reward": cfg["reward"],
        "selection_seeds": cfg["selection_seeds"],
        "best_selection_jct": res["best_selection_jct"],
        "decision_mode": meta["meta"].get("decision_mode", "greedy"),
        "model_config": meta["meta"]["model_config"],
        "package_version": meta["package_version"],
        "created": meta["created"],
    }


def install(preset: str, best: Path, training: Path, command: list[str]) -> None:
    """Copy a best checkpoint into the package with its card."""
    dest = PACKAGE / preset
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("checkpoint.json", "model.safetensors"):
        shutil.copyfile(best / name, dest / name)
    card = _card(preset, best, training, command)
    note = training / "wall_note.txt"  # optional: what else the machine ran during training
    if note.is_file():
        card["wall_note"] = note.read_text().strip()
    (dest / "card.json").write_text(json.dumps(card, indent=1) + "\n")
    print(f"installed {preset} ({card['rounds']} rounds, {card['wall_s'] / 60:.1f} min)", flush=True)


def stage_install(presets: list[str], sources: dict[str, Path]) -> None:
    for preset in presets:
        if preset in sources:
            src = sources[preset]
            cfg = json.loads((src / "training" / "train_config.json").read_text())
            cmd = ["edgesched", "train", "--preset", preset]
            if cfg.get("budget_minutes") is not None:
                cmd += ["--budget-minutes", f"{cfg['budget_minutes']:g}"]
            if cfg.get("total_rounds") is not None:
                cmd += ["--rounds", str(cfg["total_rounds"])]
            cmd += ["--seed", str(cfg["seed"]), "--threads", str(cfg.get("threads", 1))]
            install(preset, src, src / "training", cmd)
            continue
        out = run_dir(preset)
        if not (out / "train_result.json").is_file():
            print(f"{preset}: not trained yet (stage train)", flush=True)
            continue
        install(preset, out / "best", out, train_command(preset))


def stage_cards(presets: list[str], workers: int) -> None:
    from agents.baselines import heuristic_names
    from agents.bench import BenchResult, format_table, run_bench, summarize, write_outputs
    from agents.pretrained import available, card

    out_root = ROOT / "benchmarks" / "results" / "pretrained"
    docs = ROOT / "docs" / "models"
    docs.mkdir(parents=True, exist_ok=True)
    for preset in presets:
        if preset not in available():
            continue
        c = card(preset)
        res_dir = out_root / preset
        if not (res_dir / "results.json").is_file():
            result = run_bench(
                preset, [*heuristic_names(), "hgat"], list(TEST_SEEDS), workers=workers, progress=False
            )
            write_outputs(result, res_dir, plots=False)
        records = json.loads((res_dir / "results.json").read_text())
        names = list(dict.fromkeys(r["scheduler"] for r in records))
        rows = summarize(BenchResult(preset, names, list(TEST_SEEDS), records, []))
        table = format_table(rows, markdown=True)
        mc = c["model_config"]
        size = ", ".join(f"{k}={mc[k]}" for k in ("conv", "layers", "hidden", "heads") if k in mc)
        how = "deterministic: `--rounds`" if c["deterministic"] else "wall-time budget: not bit-reproducible"
        lines = [
            f"# Pretrained HGAT agent: `{preset}`",
            "",
            "*Generated by `python scripts/train_pretrained.py`; do not edit by hand.*",
            "",
            f"Load it with `HGATScheduler.pretrained({preset!r})`, or "
            f"`edgesched bench --preset {preset} --schedulers all,hgat`.",
            "",
            "## Training",
            "",
            f"- Command: `{c['command']}` ({how}).",
            f"- Training seed {c['seed']} (episode seeds 1 000 000 + 1000 x seed + i); model selection "
            f"on seeds {c['selection_seeds'][0]}-{c['selection_seeds'][-1]}, decision mode kept: "
            f"`{c['decision_mode']}` (best selection mean JCT {c['best_selection_jct']:.3f}).",
            f"- {c['rounds']:,} env rounds ({c['iterations']} iterations of {c['num_envs']} envs), "
            f"{c['wall_s'] / 60:.1f} min wall time on {c['threads']} thread(s) of this project's "
            "2-core CPU machine (as measured, including any time the machine ran other jobs"
            + (f": {c['wall_note']}" if c.get("wall_note") else "")
            + ").",
            f"- Model: `{c['arch']}` ({size}); Bayes conflict rule: {c['bayes']}; reward: {c['reward']}.",
            f"- Written by edgesched {c['package_version']} on {c['created'][:10]}.",
            "",
            "## Bench on unseen seeds 0-9",
            "",
            "Mean JCT in slots with the 95% t-interval over the 10 seeds; `hgat` is this agent. Seeds 0-9 "
            "were never used for training or model selection.",
            "",
            table,
            "",
        ]
        (docs / f"{preset}.md").write_text("\n".join(lines))
        print(f"wrote docs/models/{preset}.md", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default=",".join(PRETRAINED))
    ap.add_argument("--stage", choices=("all", "train", "install", "cards"), default="all")
    ap.add_argument("--from", dest="sources", action="append", default=[], metavar="PRESET=DIR")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    unknown = [p for p in presets if p not in PRETRAINED]
    if unknown:
        ap.error(f"unknown presets {unknown}; known: {list(PRETRAINED)}")
    sources: dict[str, Path] = {}
    for item in args.sources:
        key, _, val = item.partition("=")
        if key not in PRETRAINED or not (Path(val) / "checkpoint.json").is_file():
            ap.error(f"--from {item!r}: want PRESET=DIR with DIR/checkpoint.json")
        sources[key] = Path(val).resolve()
    if args.stage in ("all", "train"):
        stage_train([p for p in presets if p not in sources])
    if args.stage in ("all", "install"):
        stage_install(presets, sources)
    if args.stage in ("all", "cards"):
        stage_cards(presets, args.workers)


if __name__ == "__main__":
    main()
