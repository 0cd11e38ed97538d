"""Bad input gets a named error before any work, and nothing is silently converted (issue 12)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from edgesched_env.config import _ENV_FIELDS, _WORKLOAD_FIELDS, MAX_TASKS
from edgesched_env.parallel_env import EdgeSchedParallelEnv
from edgesched_env.presets import make_config
from edgesched_env.workload.arrivals import poisson_arrival_slots

BASE = "tapfinger-synthetic"


def test_float_capacities_are_an_error_not_truncated():
    with pytest.raises(ValueError, match=r"capacities\[0\]\[0\] must be a whole number of units, got 16.7"):
        make_config(BASE, capacities=[(16.7, 16.9)] * 3)
    exact = make_config(BASE, capacities=np.array([[16, 16]] * 3))  # numpy integers are exact
    assert exact.clusters[0].capacity == (16, 16) and type(exact.clusters[0].capacity[0]) is int
    assert make_config(BASE, capacities=[(16.0, 8)] * 3).clusters[0].capacity == (16, 8)  # integral


def test_extreme_arrival_rates_are_refused_or_cheap():
    with pytest.raises(ValueError, match=r"arrival_rate=1e-09 with num_tasks=192 spreads the arrivals"):
        make_config(BASE, arrival_rate=1e-9)
    with pytest.raises(ValueError, match=r"num_tasks must be an integer in \[1, 1000000\]"):
        make_config(BASE, num_tasks=MAX_TASKS + 1)
    env = EdgeSchedParallelEnv(BASE, arrival_rate=1e9, num_tasks=20)  # was a 119 GiB array
    env.reset(seed=0)
    assert int(env.sim.state.arrival_slot[0, :20].max()) == 0  # everything arrives in slot 0


def test_capacities_that_would_pad_huge_arrays_are_refused():
    with pytest.raises(ValueError, match=r"EnvConfig.clusters: capacities .* let 500000000 tasks"):
        make_config(BASE, capacities=[(10**9, 10**9)] * 3)


@settings(max_examples=40, deadline=None)
@given(rate=st.floats(0.05, 50.0), n=st.integers(1, 300), seed=st.integers(0, 2**31))
def test_arrival_slots_are_the_slot_of_every_arrival(rate, n, seed):
    slots = poisson_arrival_slots(rate, n, np.random.default_rng(seed))
    rng = np.random.default_rng(seed)  # the reference: repeat each slot by its count, cut at n
    chunk, counts, total = max(16, math.ceil(2 * n / rate)), [], 0
    while total < n:
        c = rng.poisson(rate, size=chunk)
        counts.append(c)
        total += int(c.sum())
    ref = np.repeat(np.arange(sum(len(c) for c in counts)), np.concatenate(counts))[:n]
    assert slots.dtype == np.int64 and np.array_equal(slots, ref)


# every flat override key with a value of the wrong kind: a ValueError naming the key
_WRONG = st.one_of(
    st.text(max_size=4),
    st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70),
    st.just(object()),
)
_KEYS = sorted((_WORKLOAD_FIELDS | _ENV_FIELDS) - {"name", "task_types", "trace", "fixed_tasks", "topology"})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(_KEYS), value=_WRONG)
@example(key="num_levels", value=[2, 2])  # too few levels for a task's minimum: names num_levels
def test_any_bad_override_is_a_value_error_naming_its_field(key, value):
    try:
        make_config(BASE, **{key: value})
    except ValueError as exc:
        msg = str(exc)
        named = key in msg or (key == "clusters" and "ClusterSpec" in msg)
        assert named, f"{key}={value!r}: {msg}"
    # accepted: then it is a legal value of the field (e.g. a float rate); nothing else may escape
