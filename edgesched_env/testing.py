"""Reusable checkers for edgesched environments, shipped for users (and used by our own tests).

Use them to check that an environment you configured (or a wrapper you wrote around it) keeps the
simulator's contract (SPEC.md): the same seed gives the same whole episode, and the state stays
consistent after every step.

>>> import edgesched_env
>>> from edgesched_env.testing import check_determinism, check_invariants, masked_random_policy
>>> traj = check_determinism(lambda: edgesched_env.parallel_env(num_tasks=8), 0, masked_random_policy)
>>> env = edgesched_env.parallel_env(num_tasks=8)
>>> _ = env.reset(seed=0)
>>> check_invariants(env)

Every checker raises :class:`AssertionError` with a message that says what is wrong and where (it
never relies on ``assert`` statements, so it also works under ``python -O``).

A *policy* here is a callable ``policy(env, observations, rng) -> actions`` that returns one action
per live agent of a PettingZoo ``ParallelEnv``; ``rng`` is a ``numpy.random.Generator`` owned by the
checker, so that two runs of the same policy make the same choices.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

import numpy as np
from numpy.typing import NDArray

from edgesched_env.sim.core import DONE, FUTURE, RUNNING, WAITING
from edgesched_env.sim.state import state_fields
from edgesched_env.sim.view import SimView, sim_view

__all__ = [
    "EpisodeMonitor",
    "Policy",
    "Trajectory",
    "assert_same",
    "check_determinism",
    "check_invariants",
    "check_observations",
    "get_view",
    "jcts",
    "masked_random_policy",
    "noop_policy",
    "rollout",
    "same_sequence",
    "sample_masked",
    "unmasked_random_policy",
]

Observations = dict[str, dict[str, NDArray[Any]]]
Actions = dict[str, NDArray[np.int64]]
Policy = Callable[[Any, Observations, np.random.Generator], Actions]


def _fail(message: str) -> NoReturn:
    raise AssertionError(message)


# ------------------------------------------------------------------------------------ policies
def sample_masked(
    nvec: NDArray[np.int64], flat_mask: NDArray[Any], rng: np.random.Generator
) -> NDArray[np.int64]:
    """One ``MultiDiscrete(nvec)`` action whose every component is allowed by the flat mask.

    ``flat_mask`` is the observation's ``action_mask`` (the per-component masks concatenated).
    """
    nvec = np.asarray(nvec, dtype=np.int64)
    flat = np.asarray(flat_mask)
    if flat.shape != (int(nvec.sum()),):
        _fail(f"action mask has shape {flat.shape}, expected ({int(nvec.sum())},) for nvec {nvec.tolist()}")
    out = np.empty(nvec.shape[0], dtype=np.int64)
    start = 0
    for c, n in enumerate(nvec.tolist()):
        allowed = np.flatnonzero(flat[start : start + n])
        if allowed.shape[0] == 0:
            _fail(f"action mask allows no value of component {c} (mask part {flat[start : start + n]})")
        out[c] = allowed[rng.integers(allowed.shape[0])]
        start += n
    return out


def masked_random_policy(env: Any, observations: Observations, rng: np.random.Generator) -> Actions:
    """Every live agent samples uniformly among the values its ``action_mask`` allows."""
    return {
        a: sample_masked(env.action_space(a).nvec, observations[a]["action_mask"], rng) for a in env.agents
    }


def unmasked_random_policy(env: Any, observations: Observations, rng: np.random.Generator) -> Actions:
    """Every live agent samples a uniformly random (well-formed, often infeasible) action."""
    return {a: rng.integers(env.action_space(a).nvec).astype(np.int64) for a in env.agents}


def noop_policy(env: Any, observations: Observations, rng: np.random.Generator) -> Actions:
    """Every live agent does nothing (every pick is the no-op slot with zero units)."""
    actions: Actions = {}
    for a in env.agents:
        nvec = np.asarray(env.action_space(a).nvec, dtype=np.int64)
        act = np.zeros_like(nvec)
        width = 1 + env.config.num_resources
        act[0::width] = nvec[0::width] - 1  # the last slot index of each pick is the no-op
        actions[a] = act
    return actions


# ---------------------------------------------------------------------------------- comparison
def assert_same(a: Any, b: Any, path: str = "") -> None:
    """Assert that two nested structures (dicts, lists, tuples, arrays, numbers) are identical.

    Arrays must agree in shape, dtype and every element (NaNs compare equal to NaNs); floats must
    be equal (bit-for-bit up to ``-0.0 == 0.0``). The message names the path of the first
    difference, e.g. ``[12].infos['cluster_1']['task']``.
    """
    where = path or "<root>"
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        if not (isinstance(a, Mapping) and isinstance(b, Mapping)):
            _fail(f"{where}: {type(a).__name__} vs {type(b).__name__}")
        if set(a) != set(b):
            _fail(f"{where}: keys differ: {sorted(map(str, set(a) ^ set(b)))}")
        for k in a:
            assert_same(a[k], b[k], f"{path}[{k!r}]")
        return
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        x, y = np.asarray(a), np.asarray(b)
        if x.shape != y.shape or x.dtype != y.dtype:
            _fail(f"{where}: array {x.dtype}{x.shape} vs {y.dtype}{y.shape}")
        if not np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"):
            idx = np.argwhere(~((x == y) | ((x != x) & (y != y))))
            first = tuple(int(i) for i in idx[0]) if idx.shape[0] else ()
            _fail(f"{where}: arrays differ first at {first}: {x[first]!r} vs {y[first]!r}")
        return
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        if type(a) is not type(b):
            _fail(f"{where}: {type(a).__name__} vs {type(b).__name__}")
        if len(a) != len(b):
            _fail(f"{where}: length {len(a)} vs {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
        return
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return
    if type(a) is not type(b) or a != b:
        _fail(f"{where}: {a!r} ({type(a).__name__}) vs {b!r} ({type(b).__name__})")


# ------------------------------------------------------------------------------------ the view
#: The read-only view of any edgesched env (kept here under its older name).
get_view = sim_view


# -------------------------------------------------------------------------------- invariants
def check_invariants(env: Any) -> None:
    """Check the consistency of the simulator state between two steps (SPEC.md sections 1-8).

    - every cluster's free units are in ``[0, capacity]`` and ``capacity - free`` is exactly the
      sum of the allocations of the tasks running on it;
    - a running task sits on a cluster that sees it, with either no units (preempted by the
      elastic API) or units between its minimum and the per-task maximum;
    - task status agrees with the clock and the slots recorded for the task (arrival, placement,
      completion) and with its progress (a done task has progress >= 1, a running one < 1);
    - every pending slot holds a waiting task visible to that cluster, no task twice per cluster,
      and every waiting task visible to a cluster is in its pending slots or its queue;
    - the running counts match the tasks running per cluster.
    """
    v = get_view(env)
    cap, free = np.asarray(v.capacity), np.asarray(v.free)
    n, r = cap.shape
    t = int(v.t)
    if (free < 0).any():
        _fail(f"slot {t}: negative free units {free.tolist()}")
    if (free > cap).any():
        _fail(f"slot {t}: free units {free.tolist()} exceed capacity {cap.tolist()}")
    status = np.asarray(v.status)
    running = np.flatnonzero(status == RUNNING)
    where = np.asarray(v.host)[running]
    alloc = np.asarray(v.alloc)[running]
    used = np.zeros((n, r), dtype=np.int64)
    if running.shape[0]:
        if ((where < 0) | (where >= n)).any():
            _fail(f"slot {t}: running tasks without a valid cluster: {running[(where < 0) | (where >= n)]}")
        np.add.at(used, where, alloc)
    if not np.array_equal(used, cap - free):
        _fail(
            f"slot {t}: capacity accounting broken: units held by running tasks {used.tolist()} != "
            f"capacity - free {(cap - free).tolist()}"
        )
    if not np.array_equal(np.bincount(where, minlength=n), np.asarray(v.running_count)):
        _fail(
            f"slot {t}: running_count {np.asarray(v.running_count).tolist()} != tasks running per "
            f"cluster {np.bincount(where, minlength=n).tolist()}"
        )
    visible = np.asarray(v.visible)
    if running.shape[0] and not visible[running, where].all():
        bad = running[~visible[running, where]]
        _fail(f"slot {t}: tasks {bad.tolist()} run on a cluster that does not see them")
    min_req = np.asarray(v.min_request)[running]
    max_level = np.asarray(v.max_level)
    zero = ~alloc.any(axis=1)
    ok = zero | ((alloc >= min_req).all(axis=1) & (alloc <= max_level).all(axis=1))
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        _fail(
            f"slot {t}: task {int(running[i])} holds {alloc[i].tolist()}, outside "
            f"[{min_req[i].tolist()}, {max_level.tolist()}] and not preempted"
        )
    arrival = np.asarray(v.arrival_slot)
    placed = np.asarray(v.placed_slot)
    completion = np.asarray(v.completion_slot)
    progress = np.asarray(v.oracle_progress)
    if not np.isin(status, (FUTURE, WAITING, RUNNING, DONE)).all():
        _fail(f"slot {t}: unknown status codes {sorted(set(status.tolist()))}")
    arrived = status != FUTURE
    if not np.array_equal(arrived, arrival <= t):
        bad = np.flatnonzero(arrived != (arrival <= t))
        _fail(f"slot {t}: tasks {bad[:10].tolist()} arrived-status disagrees with their arrival slot")
    if np.diff(arrival).min(initial=0) < 0:
        _fail("arrival slots are not sorted")
    waiting = status == WAITING
    if (placed[status <= WAITING] != -1).any() or (np.asarray(v.host)[status <= WAITING] != -1).any():
        _fail(f"slot {t}: a task that was never placed has a placement slot or a cluster")
    started = status >= RUNNING
    if ((placed[started] < arrival[started]) | (placed[started] > t)).any():
        _fail(f"slot {t}: a placement slot is before the arrival or in the future")
    done = status == DONE
    if (completion[~done] != -1).any():
        _fail(f"slot {t}: a task that is not done has a completion slot")
    if ((completion[done] < placed[done]) | (completion[done] >= t)).any():
        _fail(f"slot {t}: a completion slot is before the placement or not in the past")
    if (progress[done] < 1.0).any():
        _fail(f"slot {t}: done tasks with progress < 1: {np.flatnonzero(done & (progress < 1.0))[:10]}")
    if (progress[running] >= 1.0).any() or (progress < 0).any():
        _fail(f"slot {t}: running tasks with progress >= 1, or negative progress")
    if (progress[status <= WAITING] != 0.0).any():
        _fail(f"slot {t}: a task progressed before it was placed")
    pending = np.asarray(v.pending)
    queue_len = np.asarray(v.queue_len)
    if (queue_len < 0).any():
        _fail(f"slot {t}: negative queue lengths {queue_len.tolist()}")
    for i in range(n):
        ids = pending[i][pending[i] >= 0]
        if np.unique(ids).shape[0] != ids.shape[0]:
            _fail(f"slot {t}: cluster {i} holds a task twice in its pending slots: {pending[i].tolist()}")
        if ids.shape[0] and not (waiting[ids] & visible[ids, i]).all():
            _fail(
                f"slot {t}: cluster {i}'s pending slots {pending[i].tolist()} hold a task that is not "
                "waiting or not visible to it"
            )
        expected = int((waiting & visible[:, i]).sum())
        if ids.shape[0] + int(queue_len[i]) != expected:
            _fail(
                f"slot {t}: cluster {i} has {ids.shape[0]} pending + {int(queue_len[i])} queued tasks, "
                f"but {expected} waiting tasks are visible to it"
            )
        if queue_len[i] > 0 and ids.shape[0] < pending.shape[1] and int(v.round_in_slot) == 0:
            _fail(f"slot {t}: cluster {i} has a free pending slot and a queue at the start of a slot")


@dataclass
class EpisodeMonitor:
    """Checks what may change between two consecutive states of one episode.

    Call :meth:`start` after ``reset`` and :meth:`update` after every ``step`` (with the step's
    infos to also check them against the state). It checks :func:`check_invariants` each time,
    and that: the clock never goes back and advances by at most one slot per step, exactly when
    the step ended a slot; progress never decreases; a task's status only moves forward
    (future -> waiting -> running -> done); its cluster, placement slot and completion slot are
    set once and never change; the tasks placed in a step are exactly those the infos report as
    placed, by the agent whose cluster they run on.
    """

    env: Any
    steps: int = 0
    _t: int = 0
    _status: NDArray[np.int8] = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    _progress: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    _cluster: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    _placed: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    _completion: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def start(self) -> None:
        """Record the state right after ``reset``."""
        v = get_view(self.env)
        check_invariants(v)
        if int(v.t) != 0 or int(v.round_in_slot) != 0:
            _fail(f"reset left the clock at slot {v.t}, round {v.round_in_slot}")
        if (np.asarray(v.status) >= RUNNING).any():
            _fail("a task is running or done right after reset")
        self.steps = 0
        self._snapshot(v)

    def _snapshot(self, v: SimView) -> None:
        self._t = int(v.t)
        self._status = np.array(v.status)
        self._progress = np.array(v.oracle_progress)
        self._cluster = np.array(v.host)
        self._placed = np.array(v.placed_slot)
        self._completion = np.array(v.completion_slot)

    def update(self, infos: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        """Check the state after one more ``step`` against the previous one."""
        v = get_view(self.env)
        self.steps += 1
        check_invariants(v)
        t = int(v.t)
        where = f"step {self.steps} (slot {self._t} -> {t})"
        if t < self._t or t > self._t + 1:
            _fail(f"{where}: the clock moved by {t - self._t} slots in one step")
        status = np.asarray(v.status)
        if (status < self._status).any():
            bad = np.flatnonzero(status < self._status)
            _fail(f"{where}: tasks {bad[:10].tolist()} went back in status")
        progress = np.asarray(v.oracle_progress)
        if (progress < self._progress).any():
            bad = np.flatnonzero(progress < self._progress)
            _fail(f"{where}: progress of tasks {bad[:10].tolist()} decreased")
        if t == self._t and (progress != self._progress).any():
            _fail(f"{where}: progress changed within a slot")
        for name, old, new in (
            ("cluster", self._cluster, np.asarray(v.host)),
            ("placement slot", self._placed, np.asarray(v.placed_slot)),
            ("completion slot", self._completion, np.asarray(v.completion_slot)),
        ):
            changed = (old != -1) & (new != old)
            if changed.any():
                _fail(f"{where}: the {name} of tasks {np.flatnonzero(changed)[:10].tolist()} changed")
        newly_placed = np.flatnonzero((self._placed == -1) & (np.asarray(v.placed_slot) != -1))
        if infos is not None:
            self._check_infos(v, infos, newly_placed, where, t != self._t)
        self._snapshot(v)

    def _check_infos(
        self,
        v: SimView,
        infos: Mapping[str, Mapping[str, Any]],
        newly_placed: NDArray[np.int64],
        where: str,
        slot_advanced: bool,
    ) -> None:
        reported: list[tuple[int, int]] = []
        for name, info in infos.items():
            i = int(name.rsplit("_", 1)[1])
            placed, tasks = info["placed"], info["task"]
            if not isinstance(placed, list):
                placed, tasks = [placed], [tasks]
            reported += [(int(task), i) for ok, task in zip(placed, tasks) if ok]
            if bool(info["slot_end"]) != slot_advanced:
                _fail(f"{where}: infos[{name}]['slot_end'] = {info['slot_end']} but the clock says otherwise")
        ids = sorted(task for task, _ in reported)
        if ids != sorted(newly_placed.tolist()):
            _fail(f"{where}: infos report placements {ids}, the state shows {sorted(newly_placed.tolist())}")
        cluster = np.asarray(v.host)
        for task, i in reported:
            if int(cluster[task]) != i:
                _fail(f"{where}: cluster_{i} reports placing task {task}, which runs on {int(cluster[task])}")
            if int(v.placed_slot[task]) != self._t:
                got = int(v.placed_slot[task])
                _fail(f"{where}: task {task} placed in slot {self._t} records slot {got}")


def check_observations(env: Any, observations: Observations) -> None:
    """Every agent's observation lies in its observation space, with sane masks."""
    for a, obs in observations.items():
        space = env.observation_space(a)
        if not space.contains(obs):
            bad = [k for k, sub in space.spaces.items() if not sub.contains(obs.get(k))]
            _fail(f"observation of {a} is outside its space (keys {bad})")
        mask = np.asarray(obs["action_mask"])
        nvec = np.asarray(env.action_space(a).nvec)
        start = 0
        for c, n in enumerate(nvec.tolist()):
            if not mask[start : start + n].any():
                _fail(f"action mask of {a} allows no value of component {c}")
            start += n


# ------------------------------------------------------------------------------------ rollouts
@dataclass
class Trajectory:
    """Everything one episode returned, step by step (``reset`` output first)."""

    reset_observations: Observations
    reset_infos: dict[str, dict[str, Any]]
    actions: list[Actions] = field(default_factory=list)
    observations: list[Observations] = field(default_factory=list)
    rewards: list[dict[str, float]] = field(default_factory=list)
    terminations: list[dict[str, bool]] = field(default_factory=list)
    truncations: list[dict[str, bool]] = field(default_factory=list)
    infos: list[dict[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def metrics(self) -> dict[str, Any] | None:
        """The episode metrics (from the last step's infos), ``None`` if it did not end."""
        if not self.infos:
            return None
        last = next(iter(self.infos[-1].values()), {})
        return last.get("metrics")

    def returns(self) -> dict[str, float]:
        """Undiscounted return of every agent."""
        out: dict[str, float] = {}
        for rew in self.rewards:
            for a, x in rew.items():
                out[a] = out.get(a, 0.0) + x
        return out

    def as_dict(self) -> dict[str, Any]:
        """The trajectory as one nested structure (for :func:`assert_same`)."""
        return {
            "reset_observations": self.reset_observations,
            "reset_infos": self.reset_infos,
            "actions": self.actions,
            "observations": self.observations,
            "rewards": self.rewards,
            "terminations": self.terminations,
            "truncations": self.truncations,
            "infos": self.infos,
        }


def rollout(
    env: Any,
    seed: int | None,
    policy: Policy,
    *,
    policy_rng: np.random.Generator | None = None,
    max_steps: int | None = None,
    check: bool = True,
) -> Trajectory:
    """Play one episode of a parallel env (``reset(seed)``, then ``policy`` until it ends).

    Args:
        env: a PettingZoo ``ParallelEnv`` of edgesched.
        seed: passed to ``reset`` (``None``: continue the env's RNG).
        policy: ``policy(env, observations, rng) -> actions``.
        policy_rng: the policy's RNG (default: ``default_rng(seed)``).
        max_steps: stop after this many steps even if the episode goes on.
        check: run :class:`EpisodeMonitor` and :func:`check_observations` after every step.
    """
    rng = policy_rng if policy_rng is not None else np.random.default_rng(seed)
    obs, infos = env.reset(seed=seed)
    traj = Trajectory(obs, infos)
    monitor = EpisodeMonitor(env)
    if check:
        check_observations(env, obs)
        monitor.start()
    while env.agents and (max_steps is None or len(traj.actions) < max_steps):
        actions = policy(env, obs, rng)
        traj.actions.append({a: np.array(x, copy=True) for a, x in actions.items()})
        obs, rewards, terms, truncs, infos = env.step(actions)
        traj.observations.append(obs)
        traj.rewards.append(rewards)
        traj.terminations.append(terms)
        traj.truncations.append(truncs)
        traj.infos.append(infos)
        if check:
            check_observations(env, obs)
            monitor.update(infos)
    return traj


def check_determinism(
    env_fn: Callable[[], Any],
    seed: int,
    policy: Policy = masked_random_policy,
    *,
    episodes: int = 1,
    max_steps: int | None = None,
    check: bool = False,
) -> list[Trajectory]:
    """Two fresh envs, the same seed and policy: the same whole episodes, bit for bit.

    Each of two envs made by ``env_fn`` plays ``episodes`` episodes: the first after
    ``reset(seed)``, the next ones after ``reset()`` (continuing the env RNG). Observations,
    rewards, terminations, truncations, infos (metrics included) and the final simulator state
    must be identical. Returns the first env's trajectories.
    """
    runs: list[list[Trajectory]] = []
    finals: list[list[dict[str, Any]]] = []
    for _ in range(2):
        env = env_fn()
        policy_rng = np.random.default_rng(seed)
        trajs, states = [], []
        for e in range(episodes):
            trajs.append(
                rollout(
                    env,
                    seed if e == 0 else None,
                    policy,
                    policy_rng=policy_rng,
                    max_steps=max_steps,
                    check=check,
                )
            )
            states.append(_state_snapshot(get_view(env)))
        runs.append(trajs)
        finals.append(states)
    for e in range(episodes):
        assert_same(runs[0][e].as_dict(), runs[1][e].as_dict(), f"episode {e}")
        assert_same(finals[0][e], finals[1][e], f"episode {e} final state")
    return runs[0]


def _state_snapshot(v: SimView) -> dict[str, Any]:
    """Every field of the episode's ``SimState`` (a copy), by name."""
    st = v.snapshot()
    return {name: getattr(st, name) for name, _, _ in state_fields()}


def jcts(env: Any) -> NDArray[np.int64]:
    """JCT (slots) of every completed task, recomputed from the view: completion - arrival + 1."""
    v = get_view(env)
    done = np.asarray(v.completion_slot) >= 0
    return (np.asarray(v.completion_slot) - np.asarray(v.arrival_slot) + 1)[done]


def same_sequence(xs: Sequence[Any], ys: Sequence[Any]) -> bool:
    """Whether two sequences of nested structures are identical (see :func:`assert_same`)."""
    try:
        assert_same(list(xs), list(ys))
    except AssertionError:
        return False
    return True
