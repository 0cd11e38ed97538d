"""Property: any malformed action, under every action interface (parallel / vector / central,
multidiscrete single and multi-task, discrete), is a ``ValueError`` that names who sent it, and
the env is left exactly as it was (issue 12's systematic pass over actions)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import edgesched_env

SMALL = {"num_tasks": 6}

#: every kind of wrong value: wrong lengths, out-of-range and non-integer numbers, nan/inf,
#: strings, None, dicts, ragged nesting, bools
BAD = st.one_of(
    st.lists(st.integers(-(2**40), 2**40), min_size=0, max_size=9),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=9),
    st.lists(st.one_of(st.integers(-3, 30), st.text(max_size=2), st.none()), min_size=1, max_size=9),
    st.lists(st.lists(st.integers(0, 3), max_size=4), min_size=1, max_size=4),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.none(),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.booleans(),
)


def _valid(value: Any, nvec: np.ndarray, size_one: bool = False) -> bool:
    """Would the value be accepted: integer-like numbers of the space's shape, each in range
    (``size_one``: a ``Discrete`` agent action, where any one-element array is one integer)."""
    try:
        a = np.asarray(value)
    except (ValueError, TypeError):
        return False
    if size_one and a.size == 1:
        a = a.reshape(())
    if a.dtype.kind not in "biuf" or a.shape != nvec.shape:
        return False
    if a.dtype.kind == "f" and not (np.isfinite(a).all() and (a == np.round(a)).all()):
        return False
    return bool(((a >= 0) & (a < nvec)).all())


def _state(sim) -> list[np.ndarray]:
    return [getattr(sim.state, f.name).copy() for f in dataclasses.fields(sim.state)]


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b))


PARALLEL = [
    pytest.param({}, id="multidiscrete"),
    pytest.param({"mode": "multi", "max_picks": 2}, id="multi-task"),
    pytest.param({"action_format": "discrete", "obs_layout": "flat"}, id="discrete"),
]


@pytest.mark.parametrize("options", PARALLEL)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad=BAD, victim=st.integers(0, 2))
def test_parallel_env_names_the_agent_and_changes_nothing(options, bad, victim):
    env = edgesched_env.parallel_env("tapfinger-synthetic", **options, **SMALL)
    env.reset(seed=0)
    agent = env.agents[victim]
    space = env.action_space(agent)
    discrete = not hasattr(space, "nvec")
    assume(not _valid(bad, np.array(space.n) if discrete else np.asarray(space.nvec), size_one=discrete))
    noop = {a: np.zeros(env.action_space(a).shape, dtype=np.int64) for a in env.agents}
    before = _state(env.sim)
    with pytest.raises(ValueError, match=agent):
        env.step({**noop, agent: bad})
    assert _same(before, _state(env.sim))
    env.step(noop)  # still usable


VECTOR = [
    pytest.param({}, id="multidiscrete"),
    pytest.param({"action_format": "discrete", "obs_layout": "flat"}, id="discrete"),
]


@pytest.mark.parametrize("options", VECTOR)
@settings(max_examples=60, deadline=None)
@given(bad=BAD, where=st.tuples(st.integers(0, 1), st.integers(0, 2)), whole=st.booleans())
def test_vector_env_names_the_episode_and_cluster_and_changes_nothing(options, bad, where, whole):
    venv = edgesched_env.vector_env("tapfinger-synthetic", num_envs=2, **options, **SMALL)
    venv.reset(seed=0)
    discrete = options.get("action_format") == "discrete"
    nvec = np.array(venv.interface.num_discrete) if discrete else np.asarray(venv.nvec)
    good = np.zeros((2, 3, *nvec.shape), dtype=np.int64)
    before = _state(venv.sim)
    if whole:  # the whole batch replaced by the bad value
        assume(not _valid(bad, np.broadcast_to(nvec, good.shape)))
        with pytest.raises(ValueError, match="actions"):
            venv.step(bad)
    else:
        assume(not _valid(bad, nvec))
        acts: list[Any] = [[list(row) if not discrete else int(row) for row in ep] for ep in good.tolist()]
        acts[where[0]][where[1]] = bad
        with pytest.raises(ValueError, match="action"):
            venv.step(acts)
    assert _same(before, _state(venv.sim))
    venv.step(good)


CENTRAL = [
    pytest.param({}, id="multidiscrete"),
    pytest.param({"action_format": "discrete", "obs_layout": "flat"}, id="discrete"),
]


@pytest.mark.parametrize("options", CENTRAL)
@settings(max_examples=60, deadline=None)
@given(bad=BAD)
def test_central_env_refuses_any_malformed_joint_action_and_changes_nothing(options, bad):
    import gymnasium as gym

    env = gym.make("edgesched/EdgeSchedCentral-v1", preset="tapfinger-synthetic", **options, **SMALL)
    env = env.unwrapped
    env.reset(seed=0)
    space = env.action_space
    nvec = np.asarray(space.nvec)
    assume(not _valid(bad, nvec))
    before = _state(env.par.sim)
    with pytest.raises(ValueError, match="action"):
        env.step(bad)
    assert _same(before, _state(env.par.sim))
    env.step(np.zeros(nvec.shape, dtype=np.int64))
