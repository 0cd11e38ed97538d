"""Rendering: ansi text, rgb_array pictures, human printing."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import edgesched_env
from edgesched_env.central_env import CentralEdgeSchedEnv
from edgesched_env.presets import preset_names
from edgesched_env.render import _PALETTE, RGB_HEIGHT, RGB_WIDTH
from edgesched_env.testing import masked_random_policy


def play(env, steps, seed=0):
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        if not env.agents:
            break
        obs, *_ = env.step(masked_random_policy(env, obs, rng))
    return obs


@pytest.mark.parametrize("preset", preset_names())
def test_ansi_has_one_line_per_cluster(preset):
    env = edgesched_env.parallel_env(preset, render_mode="ansi")
    for steps in (0, 12):
        play(env, steps)
        text = env.render()
        assert isinstance(text, str)
        lines = text.splitlines()
        n = env.config.num_clusters
        for i in range(n):
            mine = [ln for ln in lines if ln.startswith(f"cluster_{i}:")]
            assert len(mine) == 1, text
            # The line reflects the cluster's state: used / capacity of every resource.
            cap, free = env.view.capacity[i], env.view.free[i]
            for r in range(env.config.num_resources):
                assert f"{int(cap[r] - free[r])}/{int(cap[r])}" in mine[0]
        assert sum(ln.startswith("cluster_") for ln in lines) == n
        assert f"slot {env.view.t}" in lines[0]


def test_ansi_changes_when_the_state_changes():
    env = edgesched_env.parallel_env("tapfinger-synthetic", render_mode="ansi")
    play(env, 0)
    first = env.render()
    play(env, 40)
    assert env.render() != first


def test_rgb_array_is_an_image():
    env = edgesched_env.parallel_env("tapfinger-hetero6", render_mode="rgb_array", num_tasks=30)
    for steps in (0, 60):
        play(env, steps)
        img = env.render()
        assert isinstance(img, np.ndarray) and img.dtype == np.uint8
        assert img.ndim == 3 and img.shape[2] == 3 and img.shape[0] > 50 and img.shape[1] > 50
        assert img.min() < img.max()  # not a blank frame


def test_rgb_array_right_after_reset_emits_no_warning():
    # Before the first slot end there is no utilisation history yet: still a frame, no warning.
    env = edgesched_env.parallel_env("tapfinger-synthetic", render_mode="rgb_array", num_tasks=5)
    env.reset(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        img = env.render()
    assert img.dtype == np.uint8 and img.ndim == 3


def test_human_prints_the_ansi_frame(capsys):
    env = edgesched_env.parallel_env("tapfinger-synthetic", render_mode="human", num_tasks=5)
    env.reset(seed=0)
    assert env.render() is None
    out = capsys.readouterr().out
    assert "cluster_0:" in out and "cluster_2:" in out
    # In human mode every step renders by itself.
    obs = env.reset(seed=0)[0]
    env.step(masked_random_policy(env, obs, np.random.default_rng(0)))
    assert "cluster_1:" in capsys.readouterr().out


def test_no_render_mode_renders_nothing(capsys):
    env = edgesched_env.parallel_env("tapfinger-synthetic")
    env.reset(seed=0)
    assert env.render() is None
    assert capsys.readouterr().out == ""


def test_central_view_renders_through_the_parallel_env():
    env = CentralEdgeSchedEnv("tapfinger-synthetic", render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert isinstance(text, str) and sum(ln.startswith("cluster_") for ln in text.splitlines()) == 3
    env.close()


@pytest.fixture
def no_matplotlib(monkeypatch):
    """matplotlib absent, as on a base install: every import of it raises ModuleNotFoundError."""
    import sys

    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)


def test_rgb_array_is_advertised_and_works_without_matplotlib(no_matplotlib):
    env = edgesched_env.parallel_env("tapfinger-synthetic", render_mode="rgb_array", num_tasks=20)
    assert "rgb_array" in env.metadata["render_modes"]
    assert set(env.metadata["render_modes"]) == {"human", "ansi", "rgb_array"}
    play(env, 15)
    img = env.render()
    assert img.shape == (RGB_HEIGHT, RGB_WIDTH, 3) and img.dtype == np.uint8


def test_rgb_array_is_deterministic_and_follows_the_state():
    a = edgesched_env.parallel_env("tapfinger-synthetic", render_mode="rgb_array", num_tasks=30)
    b = edgesched_env.parallel_env("tapfinger-synthetic", render_mode="rgb_array", num_tasks=30)
    play(a, 20, seed=3)
    play(b, 20, seed=3)
    assert np.array_equal(a.render(), b.render())
    play(b, 40, seed=3)
    assert not np.array_equal(a.render(), b.render())


def test_rgb_array_gauges_are_the_used_share_of_each_resource():
    env = edgesched_env.parallel_env("tapfinger-hetero6", render_mode="rgb_array", num_tasks=40)
    play(env, 30, seed=1)
    img = env.render()
    n, r = env.config.num_clusters, env.config.num_resources
    band = (RGB_HEIGHT * 3 // 5 - 8) / n
    row_h = (int(band) - 3) // (r + 1)
    width = RGB_WIDTH - 16
    v = env.view
    for i in range(n):
        for k in range(r):
            y = 8 + int(i * band) + k * row_h
            filled = int((img[y, 8 : 8 + width] == _PALETTE[k]).all(axis=1).sum())
            share = (v.capacity[i, k] - v.free[i, k]) / v.capacity[i, k]
            assert filled == round(width * share), (i, k)


def test_rgb_array_check_env_and_sb3_without_matplotlib(no_matplotlib):
    import gymnasium as gym
    from gymnasium.utils.env_checker import check_env

    env = gym.make("edgesched/EdgeSchedCentral-v1", preset="tapfinger-synthetic", render_mode="rgb_array")
    check_env(env.unwrapped)
    env.close()
    env_util = pytest.importorskip("stable_baselines3.common.env_util")
    venv = env_util.make_vec_env(
        "edgesched/EdgeSchedCentral-v1",
        n_envs=2,
        env_kwargs={"preset": "tapfinger-synthetic", "num_tasks": 10, "render_mode": "rgb_array"},
    )
    venv.reset()
    frames = venv.get_images()
    assert len(frames) == 2 and all(f.shape == (RGB_HEIGHT, RGB_WIDTH, 3) for f in frames)
    venv.close()


def test_unknown_render_modes_name_the_valid_ones():
    with pytest.raises(ValueError, match="render_mode must be one of"):
        edgesched_env.parallel_env("tapfinger-synthetic", render_mode="png")
