"""Regenerate the README's generated tables between their ``<!-- NAME:start -->`` markers.

- ``presets``: ``edgesched presets --markdown``;
- ``results``: the README's main command (``edgesched bench --seeds 3 --workers 2`` on the default
  preset) -> its ``summary.md``;
- ``synthetic``: the same bench on ``tapfinger-synthetic`` with 10 seeds (``--all`` only);
- ``speed``: ``benchmarks/env_speed.py`` (``--all`` only; about three minutes), pasted as the
  markdown it prints; ``--speed-file F`` pastes a saved output of it instead of running it;
- ``agents`` (``--agents``): the learned agent's results as ``benchmarks/hgat_targets.py`` and
  ``benchmarks/policy_latency.py`` wrote them to ``benchmarks/results/`` (pasted, not re-run:
  each training run takes 20 minutes).

Usage: ``python scripts/update_readme.py [--all] [--speed-file F] [--agents]``
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def _run(args: list[str]) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, cwd=ROOT).stdout


def _bench(preset: str | None, seeds: int) -> str:
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "agents.cli", "bench", "--seeds", str(seeds), "--workers", "2"]
        cmd += ["--out", out, "--no-progress", "--no-plots"] + (["--preset", preset] if preset else [])
        _run(cmd)
        return (Path(out) / "summary.md").read_text().strip()


def _speed(saved: str | None) -> str:
    text = Path(saved).read_text() if saved else _run([sys.executable, "benchmarks/env_speed.py"])
    # the README has its own "Environment speed" heading: drop the script's, demote the rest
    lines = [ln for ln in text.strip().splitlines() if not ln.startswith("## ")]
    return "\n".join("#" + ln if ln.startswith("### ") else ln for ln in lines).strip()


AGENT_PRESETS = ("tapfinger-synthetic", "tapfinger-hetero6", "edge-ml-small")


def _agents() -> str:
    results = ROOT / "benchmarks" / "results"
    parts = []
    for p in AGENT_PRESETS:
        if not (results / f"hgat_targets_{p}.md").exists():
            continue
        parts.append((results / f"hgat_targets_{p}.md").read_text().strip())
        runs = [results / f"hgat_targets_{p}.json", *sorted(results.glob(f"hgat_targets_{p}-s*.json"))]
        if len(runs) > 1:  # the spread over training seeds
            docs = [json.loads(r.read_text()) for r in runs]
            jcts = [d["hgat"]["mean_jct"] for d in docs]
            seeds = ", ".join(str(d.get("train_seed", 0)) for d in docs)
            each = ", ".join(f"{j:.3f}" for j in jcts)
            parts[-1] += (
                f"\n\nOver training seeds {seeds}: HGAT mean JCT {each} (mean {np.mean(jcts):.3f}, std "
                f"{np.std(jcts, ddof=1):.3f}); best non-oracle {docs[0]['best_non_oracle']['name']} "
                f"{docs[0]['best_non_oracle']['mean_jct']:.3f}."
            )
    if (results / "policy_latency.md").exists():
        parts.append((results / "policy_latency.md").read_text().strip())
    if not parts:
        raise SystemExit("benchmarks/results/ holds no hgat_targets_*.md: run benchmarks/hgat_targets.py")
    return "\n\n".join(parts)


def replace_block(text: str, name: str, body: str) -> str:
    """Replace what lies between ``<!-- name:start -->`` and ``<!-- name:end -->``."""
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no <!-- {name}:start --> ... <!-- {name}:end --> block")
    return pattern.sub(lambda m: m.group(1) + body.rstrip("\n") + "\n" + m.group(2), text)


def main() -> None:
    """Rewrite README.md in place."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="also the 10-seed synthetic bench and speed")
    parser.add_argument("--speed-file", help="paste this saved output of benchmarks/env_speed.py")
    parser.add_argument(
        "--agents", action="store_true", help="paste benchmarks/results/ of the learned agent"
    )
    args = parser.parse_args()
    text = README.read_text()
    presets = _run([sys.executable, "-m", "agents.cli", "presets", "--markdown"])
    text = replace_block(text, "presets", presets.strip())
    text = replace_block(text, "results", _bench(None, 3))
    if args.all:
        text = replace_block(text, "synthetic", _bench("tapfinger-synthetic", 10))
        text = replace_block(text, "speed", _speed(args.speed_file))
    elif args.speed_file:
        text = replace_block(text, "speed", _speed(args.speed_file))
    if args.agents:
        text = replace_block(text, "agents", _agents())
    README.write_text(text)


if __name__ == "__main__":
    main()
