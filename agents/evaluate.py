"""Run schedulers on identical seeds and collect tidy per-episode records: the one evaluation loop.

A record is one episode: ``scheduler``, ``seed``, ``preset``, every key of the environment's
metrics dict (SPEC.md section 10: ``mean_jct``, ``p50_jct``, ``p95_jct``, ``p99_jct`` and
``makespan`` in slots, ``mean_tasks_in_system``, ``utilization`` per resource in ``[0, 1]``,
``conflicts``, ``rounds``, ...) and ``wall_time_s`` (seconds, the only key that is not a
deterministic function of the seed).

:func:`evaluate` (and :func:`play_episodes`, which also returns the episodes' traces) plays all
seeds of a setting as one batch on an :class:`~edgesched_env.vector.EdgeSchedVectorEnv` with
one row per seed, whenever the scheduler can (:func:`runs_batched`); every other scheduler is
played one episode at a time on an :class:`~edgesched_env.parallel_env.EdgeSchedParallelEnv`
(:func:`run_episode`). Both give the same records, bit for bit (all keys but ``wall_time_s``):
row ``i`` of the batch is the parallel env's episode of ``seeds[i]``, played by a scheduler
seeded with ``seeds[i]``. The bench (:mod:`agents.bench`), ``edgesched eval``, the trainer's
model selection and the scripts in ``benchmarks/`` all evaluate through it.

>>> from agents.evaluate import evaluate
>>> recs = evaluate("min", "tapfinger-synthetic", seeds=[0, 1], num_tasks=20)
>>> sorted({r["seed"] for r in recs}), recs[0]["scheduler"]
([0, 1], 'min')
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.base import Scheduler, SchedulerBase
from edgesched_env.config import EnvConfig
from edgesched_env.parallel_env import EdgeSchedParallelEnv
from edgesched_env.sim.metrics import jct_array
from edgesched_env.sim.view import SimView
from edgesched_env.vector import EdgeSchedVectorEnv

__all__ = ["Episode", "episode_trace", "evaluate", "play_episodes", "run_episode", "runs_batched"]


def run_episode(scheduler: Scheduler, env: EdgeSchedParallelEnv, seed: int) -> dict[str, Any]:
    """Play one episode of ``env`` (seeded ``seed``) with ``scheduler``; return its metrics.

    The scheduler is bound to ``env`` and reset with the same seed, so the pair (env seed,
    scheduler seed) fixes the episode bit for bit.
    """
    scheduler.bind(env)
    obs, infos = env.reset(seed=seed)
    scheduler.reset(seed=seed)
    while env.agents:
        obs, _, _, _, infos = env.step(scheduler.act(obs, infos))
    metrics = env.last_metrics
    assert metrics is not None
    return metrics


def episode_trace(env: EdgeSchedParallelEnv | SimView) -> dict[str, Any]:
    """Time series and per-task data of the episode just finished (for plots).

    ``env``: the parallel env that played it, or the episode's :class:`SimView` (a vector env's
    ``sim_view(i)``, read before the row's next step autoresets it; the vector env must have
    been made with ``record_history=True`` for ``in_system`` and ``used``).

    Reads the simulator directly (the harness may; schedulers may not). Keys:

    * ``jct``: ``(A,)`` int64, JCT (slots) of every task that spent a slot in the system, in
      arrival order (:func:`edgesched_env.sim.metrics.jct_array`);
    * ``in_system``: ``(S,)`` int64, tasks in the system at each slot's reward time;
    * ``used``: ``(S, N, R)`` int64, units allocated per cluster and resource at each slot;
    * ``capacity``: ``(N, R)`` int64; ``resource_names``: tuple of ``R`` names;
    * ``type_names``: tuple of ``K`` names; and per task (``T``): ``type_idx``, ``cluster``,
      ``placed_slot``, ``completion_slot`` (int64, -1 when it never happened), ``alloc``
      ``(T, R)`` (units at the end: the last allocation held).
    """
    sim = env if isinstance(env, SimView) else env.view
    config = sim.config
    used = np.stack(sim.hist_used) if sim.hist_used else np.zeros((0, *sim.capacity.shape), np.int64)
    return {
        "jct": jct_array(sim)[0].astype(np.int64),
        "in_system": np.asarray(sim.hist_in_system, dtype=np.int64),
        "used": used.astype(np.int64),
        "capacity": sim.capacity.copy(),
        "resource_names": tuple(config.resource_names),
        "type_names": tuple(t.name for t in config.workload.task_types),
        "type_idx": sim.type_idx.copy(),
        "cluster": sim.host.copy(),
        "placed_slot": sim.placed_slot.copy(),
        "completion_slot": sim.completion_slot.copy(),
        "alloc": sim.alloc.copy(),
    }


@dataclass
class Episode:
    """One played episode of :func:`play_episodes`.

    Attributes:
        seed: the episode's seed (env and scheduler).
        preset: the name of the env's config (``config.name``).
        metrics: the env's metrics dict (SPEC.md section 10).
        wall_time_s: seconds: the episode's own time when played alone, the batch's wall time
            divided by its number of episodes when played in a batch.
        trace: :func:`episode_trace` of the episode (``None`` unless asked for).
    """

    seed: int
    preset: str
    metrics: dict[str, Any]
    wall_time_s: float
    trace: dict[str, Any] | None = None


def runs_batched(scheduler: Scheduler) -> bool:
    """Whether :func:`evaluate` plays ``scheduler``'s seeds as one vector-env batch.

    The rule: a :class:`SchedulerBase` that declares :attr:`~SchedulerBase.batchable` and keeps
    its :meth:`~SchedulerBase.act` (the one adapter that plays a vector env; a subclass that
    overrides ``act`` is written against one parallel env). Anything else (a bare
    :class:`~agents.base.Scheduler`, ``oracle-plan``, the library policies) is played one
    episode at a time.
    """
    return (
        isinstance(scheduler, SchedulerBase)
        and bool(getattr(scheduler, "batchable", False))
        and type(scheduler).act is SchedulerBase.act
    )


def _scheduler(scheduler: Scheduler | str) -> Scheduler:
    if isinstance(scheduler, str):
        from agents.baselines import make_scheduler

        return make_scheduler(scheduler)
    return scheduler


def play_episodes(
    scheduler: Scheduler | str,
    preset: str | EnvConfig,
    seeds: Sequence[int],
    overrides: Mapping[str, Any] | None = None,
    traces: bool = False,
    batched: bool | None = None,
) -> list[Episode]:
    """Play one episode of ``preset`` per seed with ``scheduler``: all of them as one batch when
    it can (see the module docstring), else one at a time.

    Args:
        scheduler: the scheduler, or a name (:func:`agents.baselines.make_scheduler`).
        preset: a preset name or an :class:`EnvConfig`.
        seeds: episode seeds, in any order, repeats allowed (a repeat plays the same episode).
        overrides: config overrides (``{"num_tasks": 40}``).
        traces: also return each episode's :func:`episode_trace`.
        batched: ``None``: :func:`runs_batched` decides; ``False`` forces one episode at a
            time (the reference the batch must equal); ``True`` forces the batch.

    Returns:
        One :class:`Episode` per seed, in the order of ``seeds``.
    """
    sched = _scheduler(scheduler)
    seeds = [int(s) for s in seeds]
    if not seeds:
        return []
    overrides = dict(overrides or {})
    if batched if batched is not None else runs_batched(sched):
        return _play_batch(sched, preset, seeds, overrides, traces)
    env = EdgeSchedParallelEnv(preset, **overrides)
    out = []
    for seed in seeds:
        t0 = time.perf_counter()
        metrics = run_episode(sched, env, seed)
        trace = episode_trace(env) if traces else None
        out.append(Episode(seed, env.config.name, metrics, time.perf_counter() - t0, trace))
    return out


def _play_batch(
    sched: Scheduler, preset: str | EnvConfig, seeds: list[int], overrides: dict[str, Any], traces: bool
) -> list[Episode]:
    """Every seed in one row of a vector env; each row's first episode is kept.

    A row that ends is retired (:meth:`SchedulerBase.retire_rows`): the scheduler sends it the
    no-op from then on, so it costs only the env's (batched) step of an idle row; its metrics
    and trace are read in the step that ended it, before the row's autoreset.
    """
    t0 = time.perf_counter()
    e = len(seeds)
    venv = EdgeSchedVectorEnv(preset, num_envs=e, record_history=traces, **overrides)
    sched.bind(venv)
    obs, infos = venv.reset(seed=seeds)
    sched.reset(seed=seeds)
    retire = getattr(sched, "retire_rows", None)
    metrics: list[dict[str, Any]] = [{} for _ in seeds]
    trace: list[dict[str, Any] | None] = [None] * e
    done = np.zeros(e, dtype=bool)
    while not done.all():
        obs, _, term, trunc, infos = venv.step(sched.act(obs, infos))
        ended = np.flatnonzero((term | trunc) & ~done)
        if ended.shape[0]:
            for i in ended.tolist():
                metrics[i] = venv.episode_metrics(i)
                if traces:
                    trace[i] = episode_trace(venv.sim_view(i))
            done[ended] = True
            if retire is not None and not done.all():
                retire(ended)
    share = (time.perf_counter() - t0) / e
    name = venv.config.name
    return [Episode(s, name, m, share, tr) for s, m, tr in zip(seeds, metrics, trace, strict=True)]


def evaluate(
    scheduler: Scheduler | str,
    preset: str | EnvConfig,
    seeds: Sequence[int] | range,
    **env_overrides: Any,
) -> list[dict[str, Any]]:
    """Run ``scheduler`` (an instance or a registered name) on ``preset`` for each seed.

    All seeds run as one batch on a vector env when the scheduler can (:func:`runs_batched`),
    else one episode at a time; the records are the same either way (but ``wall_time_s``).

    Args:
        scheduler: the scheduler, or a name from :data:`agents.baselines.SCHEDULERS`.
        preset: a preset name or an :class:`EnvConfig`.
        seeds: episode seeds (the env and the scheduler are both seeded with each).
        **env_overrides: config overrides (``num_tasks=40``, ``arrival_rate=3.0``, ...).

    Returns:
        One record per seed, in the order of ``seeds``: ``scheduler``, ``seed``, ``preset``,
        the env's metric keys, and ``wall_time_s`` (seconds: the episode's own when played one at
        a time; in a batch, the batch's wall time divided by its number of episodes, so the
        records' sum is the time the evaluation took either way).
    """
    sched = _scheduler(scheduler)
    records = []
    for ep in play_episodes(sched, preset, list(seeds), env_overrides):
        rec: dict[str, Any] = {"scheduler": sched.name, "seed": ep.seed, "preset": ep.preset}
        rec.update(ep.metrics)
        rec["wall_time_s"] = ep.wall_time_s
        records.append(rec)
    return records
