"""An unknown preset, scheduler, option or extra name lists the closest valid names."""

from __future__ import annotations

import gymnasium
import pytest

import edgesched_env
from agents._optional import check_extra
from agents.baselines import make_scheduler
from agents.cli import main
from agents.mappo.config import TrainConfig
from edgesched_env._names import did_you_mean, unknown_name_error
from edgesched_env.workload.measured import gpu_generation_factor
from edgesched_env.workload.traces import load_trace


def test_did_you_mean() -> None:
    assert did_you_mean("tiresia", ["tiresias", "drf", "random"]) == "; did you mean 'tiresias'?"
    assert did_you_mean("zzz", ["tiresias", "drf"]) == ""
    err = unknown_name_error("thing", ["a_b", "zzz"], ["a_bc", "q"])
    assert "for 'a_b': did you mean 'a_bc'?" in str(err) and "'zzz'" in str(err)


@pytest.mark.parametrize(
    ("call", "closest"),
    [
        (lambda: edgesched_env.parallel_env("edge-ml-smal"), "'edge-ml-small'"),
        (lambda: make_scheduler("tiresia"), "'tiresias'"),
        (lambda: make_scheduler("hgat-gredy"), "'hgat-greedy'"),
        (lambda: edgesched_env.parallel_env("tapfinger-synthetic", nm_tasks=5), "'num_tasks'"),
        (lambda: edgesched_env.parallel_env("tapfinger-synthetic", reward="globl"), "'global'"),
        (lambda: edgesched_env.parallel_env("tapfinger-synthetic", obs_layout="flatt"), "'flat'"),
        (lambda: edgesched_env.parallel_env("tapfinger-synthetic", render_mode="rgb_aray"), "'rgb_array'"),
        (
            lambda: gymnasium.make("edgesched/EdgeSchedCentral-v1", preset="tapfinger-synthetc"),
            "'tapfinger-synthetic'",
        ),
        (lambda: check_extra("agent"), "'agents'"),
        (lambda: load_trace("phily"), "'philly'"),
        (lambda: gpu_generation_factor("v10"), "'v100'"),
        (lambda: TrainConfig.from_dict({"total_round": 64}), "'total_rounds'"),
    ],
)
def test_unknown_names_list_the_closest(call, closest: str) -> None:
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert "did you mean" in str(info.value) and closest in str(info.value), str(info.value)


@pytest.mark.parametrize(
    ("args", "closest"),
    [
        (["bench", "--preset", "edge-ml-smal"], "'edge-ml-small'"),
        (["bench", "--schedulers", "random,tetrs"], "'tetris'"),
        (["bench", "--set", "nm_tasks=5"], "'num_tasks'"),
    ],
)
def test_cli_unknown_names(args: list[str], closest: str, tmp_path, capsys) -> None:
    assert main([*args, "--seeds", "1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and closest in err[0], err
