"""Observation contents and masks on a hand-made state (SPEC.md sections 5 and 9)."""

from __future__ import annotations

import numpy as np

import edgesched_env
from edgesched_env import FixedTask
from edgesched_env.presets import make_config

INSENSITIVE, GPU_CONCAVE = 0, 1


def act(slot, *units):
    return np.array([slot, *units], dtype=np.int64)


NOOP = act(10, 0, 0)


def make_env():
    """cluster_0 (4, 4) and cluster_1 (16, 16); time_scale 20 slots (the default).

    T0 insensitive arrives 0, seen by both; T1 gpu-concave arrives 0, seen by cluster_0;
    T2 insensitive arrives 1, seen by both.
    """
    tasks = (
        FixedTask(0, INSENSITIVE, (0, 1)),
        FixedTask(0, GPU_CONCAVE, (0,)),
        FixedTask(1, INSENSITIVE, (0, 1)),
    )
    return edgesched_env.parallel_env(
        "tapfinger-synthetic", capacities=[(4, 4), (16, 16)], fixed_tasks=tasks, num_tasks=3
    )


def test_observation_features_by_hand():
    env = make_env()
    env.reset(seed=0)
    # cluster_0 places T1 with (3, 3); the slot ends; T2 arrives at t = 1.
    env.step({"cluster_0": act(1, 3, 3), "cluster_1": NOOP})
    obs, *_ = env.step({"cluster_0": NOOP, "cluster_1": NOOP})
    o0, o1 = obs["cluster_0"], obs["cluster_1"]
    m = env.config.max_running  # (16 // 2 = 8 copies of the (2, 1) types on cluster_1)
    assert m == 8
    # clusters: free/cap (R), cap/max cap (R), pending/P, queue/P, running/M, is-self.
    expected_c0 = [1 / 4, 1 / 4, 4 / 16, 4 / 16, 2 / 10, 0.0, 1 / m]
    expected_c1 = [1.0, 1.0, 1.0, 1.0, 2 / 10, 0.0, 0.0]
    np.testing.assert_allclose(o0["clusters"][:, :-1], [expected_c0, expected_c1], rtol=1e-6)
    assert o0["clusters"][:, -1].tolist() == [1.0, 0.0] and o1["clusters"][:, -1].tolist() == [0.0, 1.0]
    np.testing.assert_array_equal(o0["clusters"][:, :-1], o1["clusters"][:, :-1])
    # pending of cluster_0: slot 0 T0 (arrived 0), slot 1 T2 (arrived 1, took the freed slot).
    # Features: type one-hot (2), min/max level (2), waiting / 20, seen-by / N, delay / 20.
    assert env.view.pending[0, :2].tolist() == [0, 2]
    np.testing.assert_allclose(o0["pending"][0], [1, 0, 2 / 16, 1 / 16, 1 / 20, 2 / 2, 0.0], rtol=1e-6)
    np.testing.assert_allclose(o0["pending"][1], [1, 0, 2 / 16, 1 / 16, 0 / 20, 2 / 2, 0.0], rtol=1e-6)
    assert not o0["pending"][2:].any()
    assert o0["pending_mask"].tolist() == [1, 1] + [0] * 8
    # running of cluster_0: T1 (gpu-concave) at (3, 3), placed at slot 0, now slot 1.
    np.testing.assert_allclose(o0["running"][0], [0, 1, 3 / 16, 3 / 16, 1 / 20], rtol=1e-6)
    assert o0["running_mask"].tolist() == [1] + [0] * (m - 1)
    assert not o1["running_mask"].any()
    # alloc_mask of cluster_0 (free (1, 1)): nothing fits the minimum (2, 1).
    assert not o0["alloc_mask"].any()
    # Nothing is placeable: the slot part still marks the occupied slots (SPEC 5; picking them is a
    # no-op) and the no-op; each resource part only level 0.
    mask = o0["action_mask"]
    assert mask[:11].tolist() == [1, 1] + [0] * 8 + [1]
    assert mask[11:28].tolist() == [1] + [0] * 16 and mask[28:45].tolist() == [1] + [0] * 16
    # cluster_1 (free (16, 16)): T0 and T2 fit, levels 2..16 cpu, 1..16 gpu.
    assert o1["alloc_mask"][0, 0].tolist() == [0, 0] + [1] * 15
    assert o1["alloc_mask"][1, 1].tolist() == [0] + [1] * 16
    assert o1["action_mask"][:11].tolist() == [1, 1] + [0] * 8 + [1]


def test_action_mask_slot_part_marks_every_occupied_slot():
    env = make_env()
    env.reset(seed=0)
    env.step({"cluster_0": act(1, 3, 3), "cluster_1": NOOP})
    obs, *_ = env.step({"cluster_0": NOOP, "cluster_1": NOOP})
    occupied = (env.view.pending[0] >= 0).astype(np.int8)
    assert obs["cluster_0"]["action_mask"][:10].tolist() == occupied.tolist()


def test_observation_dtypes_and_shapes_are_fixed_through_an_episode():
    env = edgesched_env.parallel_env("tapfinger-hetero6", num_tasks=50)
    obs, _ = env.reset(seed=0)
    space = env.observation_space("cluster_0")
    while env.agents:
        for a, o in obs.items():
            assert set(o) == set(space.spaces)
            for k, x in o.items():
                assert x.shape == space[k].shape and x.dtype == space[k].dtype, (a, k)
        actions = {}
        for a in env.agents:
            actions[a] = env.action_space(a).sample(mask=obs[a]["action_mask"])
        obs, *_ = env.step(actions)


def test_the_docstring_feature_table_is_the_generated_one() -> None:
    """The module docstring's feature table is :func:`feature_table` (it cannot drift)."""
    import edgesched_env.observation as obs_module

    assert obs_module.feature_table() in (obs_module.__doc__ or "")


def test_feature_layout_spaces_and_state_derive_from_the_feature_table() -> None:
    from edgesched_env.observation import FEATURES, ObservationBuilder, block_widths, feature_layout

    config = make_config("tapfinger-hetero6")
    lay = feature_layout(config)
    builder = ObservationBuilder(config)
    space = builder.observation_space
    for f in FEATURES:
        high = space[f.block].high[..., lay[f.block][f.name]]
        assert (high == np.float32(f.high)).all(), f
    widths = block_widths(config.num_types, config.num_resources)
    assert {b: max(s.stop for s in names.values()) for b, names in lay.items()} == widths
    state = builder.state_shapes
    assert state["clusters"][-1] == lay["clusters"]["is_self"].start
    assert state["pool"][-1] == lay["pending"]["delay"].start
