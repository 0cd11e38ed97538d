"""The reward objects (edgesched_env.rewards): registry, names and values."""

from __future__ import annotations

import numpy as np
import pytest

import edgesched_env
from edgesched_env.rewards import REWARDS, GlobalReward, LocalReward, make_reward


def test_registry_names_every_reward_the_config_accepts() -> None:
    assert set(REWARDS) == {"local", "global"}
    for name, cls in REWARDS.items():
        assert cls.name == name
        assert isinstance(make_reward(name), cls)


def test_unknown_reward_names_the_closest() -> None:
    with pytest.raises(ValueError, match="unknown reward 'globl'; did you mean 'global'"):
        make_reward("globl")


def test_values_from_the_slot_end_arrays() -> None:
    local = np.array([[-1.0, -2.0, 0.0], [-4.0, 0.0, -1.0]])
    glob = np.array([-3.0, -5.0])
    assert np.array_equal(LocalReward()(local, glob), local)
    out = GlobalReward()(local, glob)
    assert out.shape == (2, 3) and out.dtype == np.float64
    assert np.array_equal(out, [[-3.0] * 3, [-5.0] * 3])


@pytest.mark.parametrize("name", ["local", "global"])
def test_envs_pick_their_reward_by_config(name: str) -> None:
    env = edgesched_env.parallel_env("tapfinger-synthetic", reward=name)
    assert isinstance(env.reward_fn, REWARDS[name])
