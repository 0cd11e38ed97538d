"""Shared by the benchmark scripts that train agents (``ablations.py``, ``transfer.py``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_trainings(todo: list[tuple[str, Path, list[str]]], jobs: int) -> None:
    """``edgesched train ARGS --out DIR`` for each ``(name, DIR, ARGS)``, ``jobs`` at a time, in order.

    A run whose ``DIR/train_result.json`` exists is skipped (done, maybe by another instance); an
    interrupted one resumes from ``DIR/last/``. Each logs to ``DIR.parent/<name>.log``.

    Raises:
        SystemExit: a training failed (naming its log).
    """
    todo = list(todo)
    live: list[tuple[str, Path, subprocess.Popen[bytes]]] = []
    while todo or live:
        while todo and len(live) < jobs:
            name, d, targs = todo.pop(0)
            if (d / "train_result.json").is_file():
                continue
            cmd = [sys.executable, "-m", "agents.cli", "train", *targs, "--out", str(d)]
            if (d / "last" / "checkpoint.json").is_file():
                cmd.append("--resume")
            d.parent.mkdir(parents=True, exist_ok=True)
            log = (d.parent / f"{name}.log").open("ab")
            print("+", " ".join(cmd[2:]), flush=True)
            live.append((name, d, subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)))
        time.sleep(1.0)
        for item in list(live):
            rc = item[2].poll()
            if rc is not None:
                live.remove(item)
                if rc:
                    raise SystemExit(
                        f"training {item[0]} failed (rc {rc}); see {item[1].parent / item[0]}.log"
                    )
                print(f"trained {item[0]}", flush=True)


def install_run(run_dir: Path, dest: Path, command: str) -> None:
    """Copy a finished run's ``best/`` checkpoint to ``dest`` and its logs to ``dest/training/``
    (``progress.csv``, ``train_config.json``, ``train_result.json`` and ``command.txt``)."""
    (dest / "training").mkdir(parents=True, exist_ok=True)
    for f in ("checkpoint.json", "model.safetensors"):
        shutil.copyfile(run_dir / "best" / f, dest / f)
    for f in ("progress.csv", "train_config.json", "train_result.json"):
        shutil.copyfile(run_dir / f, dest / "training" / f)
    (dest / "training" / "command.txt").write_text(command + "\n")
