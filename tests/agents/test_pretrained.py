"""The pretrained agents shipped in ``agents/pretrained``: load by name, fit their preset, play."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch_geometric")

from agents.baselines import make_scheduler
from agents.bench import run_bench
from agents.evaluate import run_episode
from agents.hgat.io import load_agent
from agents.hgat.scheduler import HGATScheduler
from agents.pretrained import PretrainedNotFoundError, available, card, checkpoint_path
from edgesched_env.parallel_env import EdgeSchedParallelEnv

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = available()
SCRIPT_PRESETS = (
    "tapfinger-synthetic",
    "tapfinger-synthetic6",
    "tapfinger-hetero6",
    "tapfinger-sjf",
    "edge-ml-small",
)


def test_shipped_set_is_the_scripts_and_small() -> None:
    from _scripts import load_script

    mod = load_script("scripts/train_pretrained.py")
    assert tuple(mod.PRETRAINED) == SCRIPT_PRESETS
    assert set(SHIPPED) <= set(SCRIPT_PRESETS) and SHIPPED  # at least one, none unknown
    total = sum(f.stat().st_size for p in SHIPPED for f in checkpoint_path(p).iterdir())
    assert total < 4 * 2**20  # a few MB at most in total


@pytest.mark.parametrize("preset", SHIPPED)
def test_shipped_checkpoint_matches_its_preset_and_plays(preset: str) -> None:
    env = EdgeSchedParallelEnv(preset, num_tasks=12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no package-version warning either
        _, meta, _ = load_agent(checkpoint_path(preset), env.config)
    assert meta["env_config"]["name"] == preset
    c = card(preset)
    assert c["preset"] == preset and c["command"].startswith(f"edgesched train --preset {preset} ")
    assert c["rounds"] > 0 and c["wall_s"] > 0 and c["seed"] == 0
    assert (ROOT / "docs" / "models" / f"{preset}.md").is_file()  # its model card
    sched = HGATScheduler.pretrained(preset)
    assert sched.name == "hgat"
    metrics = run_episode(sched, env, seed=0)
    assert metrics["tasks_completed"] == 12 and np.isfinite(metrics["mean_jct"])
    # the bare name resolves to the same checkpoint at bind time
    bare = make_scheduler("hgat")
    assert run_episode(bare, EdgeSchedParallelEnv(preset, num_tasks=12), seed=0) == metrics
    assert bare.checkpoint == checkpoint_path(preset)  # type: ignore[attr-defined]


def test_unknown_preset_names_the_shipped_ones() -> None:
    with pytest.raises(PretrainedNotFoundError, match="shipped: .*" + SHIPPED[0]):
        HGATScheduler.pretrained("no-such-preset")
    with pytest.raises(PretrainedNotFoundError):
        checkpoint_path("../agents")


def test_bench_refuses_hgat_on_a_preset_without_an_agent_before_any_work() -> None:
    missing = [p for p in ("edge-philly", "edge-pollux", "edge-hetero-gpu") if p not in SHIPPED]
    if not missing:
        pytest.skip("every preset has an agent")
    with pytest.raises(PretrainedNotFoundError, match=missing[0]):
        run_bench(missing[0], ["fifo-greedy", "hgat"], [0], progress=False)


def test_cli_expands_all_and_drops_repeated_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from agents.cli import main

    preset = SHIPPED[0]
    out = tmp_path / "b"
    args = ["bench", "--preset", preset, "--schedulers", "min,hgat,min", "--seeds", "1"]
    args += ["--set", "num_tasks=8", "--no-plots", "--no-progress", "--out", str(out)]
    assert main(args) == 0
    names = [r["scheduler"] for r in json.loads((out / "results.json").read_text())]
    assert names.count("min") == 1 and names.count("hgat") == 1
    assert "hgat" in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_shipped_checkpoint_acts_the_same_on_v1_as_on_v0() -> None:
    """EdgeSched-v1 only adds exact int64 keys; the HGAT reads the float blocks, so a shipped
    checkpoint needs no conversion: the same episode on both versions."""
    metrics = []
    for version in (1, 0):
        env = EdgeSchedParallelEnv("tapfinger-synthetic", num_tasks=20, version=version)
        metrics.append(run_episode(make_scheduler("hgat"), env, seed=7))
    assert metrics[0] == metrics[1]
