"""numpy scalars are accepted wherever Python numbers are (issue 22), and normalised to Python."""

from __future__ import annotations

import numpy as np
import pytest

import edgesched_env
from edgesched_env.presets import make_config
from edgesched_env.testing import assert_same

PRESET = "tapfinger-synthetic"
INTS = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
FLOATS = [np.float32, np.float64]


def _episode(env, seed):
    env.reset(seed=seed)
    out = []
    while env.agents:
        step = env.step({a: np.array([env.config.max_pending, 0, 0]) for a in env.agents})
        out.append(step[1:])
    return out


@pytest.mark.parametrize("dt", INTS)
def test_integer_config_fields_and_seeds_accept_numpy_integers(dt):
    cfg = make_config(PRESET, num_tasks=dt(6), max_pending=dt(5), capacities=[[dt(16), dt(16)]] * 3)
    ref = make_config(PRESET, num_tasks=6, max_pending=5, capacities=[[16, 16]] * 3)
    assert cfg == ref
    assert type(cfg.workload.num_tasks) is int and type(cfg.max_pending) is int
    assert_same(
        _episode(edgesched_env.parallel_env(cfg), dt(3)), _episode(edgesched_env.parallel_env(ref), 3)
    )
    venv = edgesched_env.vector_env(PRESET, num_envs=dt(2), num_tasks=dt(6))
    assert venv.num_envs == 2
    assert_same(
        venv.reset(seed=dt(3))[0], edgesched_env.vector_env(PRESET, num_envs=2, num_tasks=6).reset(seed=3)[0]
    )


@pytest.mark.parametrize("dt", FLOATS)
def test_real_config_fields_accept_numpy_floats(dt):
    cfg = make_config(PRESET, arrival_rate=dt(2.5), progress_noise=dt(0.25))
    assert cfg == make_config(PRESET, arrival_rate=2.5, progress_noise=0.25)
    assert type(cfg.workload.arrival_rate) is float


@pytest.mark.parametrize("bad", [True, np.bool_(True), 10.5, np.float64(10.5)])
def test_bools_and_floats_are_not_integers(bad):
    with pytest.raises(ValueError, match=r"WorkloadSpec.num_tasks must be an integer"):
        make_config(PRESET, num_tasks=bad)


@pytest.mark.parametrize("bad", [True, 3.0, -1, "3"])
def test_bad_seeds_are_named(bad):
    with pytest.raises(ValueError, match=r"reset\(seed=...\) must be a non-negative integer or None"):
        edgesched_env.parallel_env(PRESET).reset(seed=bad)
