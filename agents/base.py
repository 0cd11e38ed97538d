"""The one ``Scheduler`` interface shared by heuristic baselines and learned policies.

A scheduler drives any documented edgesched interface with that interface's usual loop; the
:class:`~edgesched_env.parallel_env.EdgeSchedParallelEnv`:

>>> import edgesched_env
>>> from agents.baselines import make_scheduler
>>> env = edgesched_env.parallel_env("tapfinger-synthetic")
>>> sched = make_scheduler("random")
>>> sched.bind(env)
>>> obs, infos = env.reset(seed=0); sched.reset(seed=0)
>>> while env.agents:
...     obs, rew, term, trunc, infos = env.step(sched.act(obs, infos))

and as well the AEC env (``act(obs, info)`` returns the action of ``env.agent_selection``), the
central Gymnasium env (``gymnasium.make("edgesched/EdgeSchedCentral-v0")``, wrappers and all:
``act`` returns the joint action) and the vector envs (``act`` returns ``(E, N, 1 + R)``
actions); see :class:`SchedulerBase` and ``docs/baselines.md``.

``bind(env)`` is the explicit hook through which a scheduler receives the environment's config and
its documented read-only :class:`~edgesched_env.sim.view.SimView`. Only schedulers that declare it
(``uses_elastic_api``, ``uses_oracle``) may call the view's elastic ``resize`` or read its
``oracle_*`` members; an oracle is a reference point, not a peer, and says so in its name.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from edgesched_env.config import EnvConfig
from edgesched_env.interface import OUTCOME_KEYS, Interface
from edgesched_env.sim.view import SimView, sim_view

__all__ = ["Actions", "EnvKind", "Observations", "Scheduler", "SchedulerBase"]

Observations = dict[str, dict[str, NDArray]]
Actions = dict[str, NDArray[np.int64]]
#: The interface a scheduler is bound to (:attr:`SchedulerBase.env_kind`).
EnvKind = Literal["parallel", "aec", "central", "vector", "central-vector", "other"]

#: Info keys with an agent axis (``(N, ...)`` in the central flat infos, ``(E, N, ...)`` in the
#: vector infos).
_AGENT_INFO_KEYS = (*OUTCOME_KEYS, "pending_task_ids")


@runtime_checkable
class Scheduler(Protocol):
    """What the evaluation harness needs of any scheduler."""

    name: str

    def bind(self, env: Any) -> None:
        """Attach to an environment (called once per env, before ``reset``)."""

    def reset(self, seed: int | None = None) -> None:
        """Start an episode; ``seed`` seeds the scheduler's own RNG."""

    def act(self, observations: Any, infos: Any) -> Any:
        """The bound interface's action for the current decision round (one per live agent for
        the parallel env)."""


class _EpisodeEnv:
    """Episode ``index`` of an :class:`~edgesched_env.vector.EdgeSchedVectorEnv`, seen as one env.

    What a per-episode scheduler clone is bound to: its ``view`` is the episode's
    :class:`SimView` and ``last_obs_batch`` the episode's rows ``(1, N, ...)`` of the vector
    env's latest observation (default layout), as a parallel env's would be.
    """

    def __init__(self, venv: Any, index: int) -> None:
        self.venv = venv
        self.index = index
        self.view: SimView = venv.sim_view(index)
        self.config: EnvConfig = venv.config
        self.possible_agents: list[str] = list(venv.possible_agents)
        self.agents = self.possible_agents

    @property
    def unwrapped(self) -> _EpisodeEnv:
        return self

    @property
    def last_obs_batch(self) -> dict[str, NDArray]:
        """This episode's ``(1, N, ...)`` rows of the vector env's latest default-layout observation."""
        batch = self.venv.last_obs_batch
        if batch is None:
            raise RuntimeError("the vector env has no observation yet: reset() it first")
        return {k: v[self.index : self.index + 1] for k, v in batch.items()}


def _agent_obs(batch: dict[str, NDArray], b: int, agents: list[str]) -> Observations:
    """``{agent: {key: array}}`` of episode ``b`` of a ``(B, N, ...)`` batch (agents ``cluster_i``)."""
    items = tuple(batch.items())
    return {a: {k: v[b, _agent_index(a)] for k, v in items} for a in agents}


def _agent_index(agent: str) -> int:
    return int(agent.rsplit("_", 1)[1])


class SchedulerBase:
    """Convenience base: keeps the config, the view and a seeded RNG, and adapts every interface.

    Subclasses implement :meth:`act_agents`, the per-agent decision of one round, in the
    parallel env's form (``{agent: observation dict}`` in the default layout -> ``{agent:
    action}``). :meth:`act` is the one adapter in front of it: :meth:`bind` records which
    interface the scheduler is bound to (:attr:`env_kind`) and :meth:`act` converts that
    interface's observation and infos to the per-agent form and the per-agent actions back:

    * ``"parallel"``: the observations pass through (rebuilt in the default layout when the env
      has other interface options); returns ``{agent: action}``.
    * ``"aec"`` (``edgesched_env.env()``, ``pettingzoo.make("aec", ...)``): in the usual loop
      (``obs, rew, term, trunc, info = env.last(); env.step(None if term or trunc else
      sched.act(obs, info))``) every agent of a round sees the same parallel round, so the
      round's joint decision is made once, at its first ``act``, from every live agent's
      observation, and each later ``act`` of the round hands out ``env.agent_selection``'s part:
      the episode is the parallel env's.
    * ``"central"`` (:class:`~edgesched_env.central_env.CentralEdgeSchedEnv`, also under
      ``gymnasium.make``'s wrappers): the stacked observation and the central info (``{}`` on
      reset, ``info["agents"]`` on steps, or the flat format) -> per agent; returns the flat
      joint action ``(N * (1 + R),)``.
    * ``"vector"`` (:class:`~edgesched_env.vector.EdgeSchedVectorEnv`) and ``"central-vector"``
      (``gymnasium.make_vec``'s central vector env): one clone of the scheduler per episode,
      bound to ``venv.sim_view(i)``; returns ``(E, N, 1 + R)`` (``(E, N * (1 + R))`` for the
      central vector env). ``reset(seed)`` resets clone ``i`` with ``seed + i`` (the vector env's
      seed of episode ``i``). An episode that ends is autoreset by the env: its next action row
      is ignored (a no-op is sent) and at the autoreset the clone is reset with
      ``seed + i + k * E`` for the ``k``-th autoreset of row ``i``. The env does not reseed an
      autoreset episode (it continues the episode's generator), so "identical episodes" there
      means: the ``k``-th episode of row ``i`` is the ``k``-th episode of a ParallelEnv reset
      with ``seed + i`` and then with ``reset()`` (no seed), the scheduler reset with the same
      seeds.

    With ``action_format="discrete"`` the actions are encoded (``Interface.encode``) for every
    interface. ``act`` reads the round's observation from the bound env (its
    ``last_obs_batch``), so it must be the observation the env returned last.

    A subclass that overrides ``act`` itself (the pre-0.4 form) has that method taken as its
    :meth:`act_agents` (it keeps working on every interface); chain with
    ``super().act_agents(...)``, never ``super().act``.

    Attributes:
        name: registry name.
        uses_elastic_api: the scheduler resizes running tasks through ``SimView.resize``.
        uses_oracle: the scheduler reads hidden quantities (``SimView.oracle_*``).
        env_kind: the interface of the bound env (``None`` before :meth:`bind`).
    """

    name = "base"
    uses_elastic_api = False
    uses_oracle = False
    #: attributes that :meth:`bind` rebuilds: a vector env's per-episode clones do not copy them.
    _rebuilt_by_bind: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("act")
        if own is not None:
            if "act_agents" in cls.__dict__:
                raise TypeError(
                    f"{cls.__name__} defines both act and act_agents: implement act_agents only "
                    "(act is SchedulerBase's interface adapter)"
                )
            setattr(cls, "act_agents", own)  # noqa: B010  # mypy: methods cannot be assigned
            delattr(cls, "act")

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)
        self._env: Any = None
        self.config: EnvConfig | None = None
        self.view: SimView | None = None
        self.env_kind: EnvKind | None = None
        self._bound: Any = None  # the env given to bind, as given
        self._target: Any = None  # its edgesched env: parallel, central or vector
        self._interface: Interface | None = None
        self._clones: list[SchedulerBase] = []
        self._seed: int | None = None
        self._autoresets: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._awaiting_reset: NDArray[np.bool_] = np.zeros(0, dtype=bool)
        self._round_batch: Any = None  # AEC: the observation batch the cached round was decided on
        self._round_actions: dict[str, Any] = {}
        self._acting = False

    # ---------------------------------------------------------------------------------- bind
    def bind(self, env: Any) -> None:
        """Keep the env's config and read-only simulator view, and note which interface it is.

        ``env``: a parallel env, an AEC env, the central Gymnasium env or a vector env (each
        wrapped or not), or anything :func:`edgesched_env.sim_view` accepts (then ``act`` passes
        observations and actions through).
        """
        from edgesched_env.central_env import CentralEdgeSchedEnv, CentralEdgeSchedVectorEnv
        from edgesched_env.parallel_env import EdgeSchedParallelEnv
        from edgesched_env.vector import EdgeSchedVectorEnv

        inner = getattr(env, "unwrapped", env)
        self._bound, self._clones, self._round_batch, self._round_actions = env, [], None, {}
        if isinstance(inner, (EdgeSchedVectorEnv, CentralEdgeSchedVectorEnv)):
            venv = inner if isinstance(inner, EdgeSchedVectorEnv) else inner.venv
            self.env_kind = "vector" if inner is venv else "central-vector"
            self._target, self._interface = venv, venv.interface
            clones = [self._spawn() for _ in range(venv.num_envs)]
            for i, clone in enumerate(clones):
                clone.bind(_EpisodeEnv(venv, i))
            self._clones = clones
            self._autoresets = np.zeros(venv.num_envs, dtype=np.int64)
            self._awaiting_reset = np.zeros(venv.num_envs, dtype=bool)
            self._env = _EpisodeEnv(venv, 0)
            self.view, self.config = self._env.view, venv.config
            return
        if isinstance(inner, CentralEdgeSchedEnv):
            self.env_kind, self._target, self._env = "central", inner, inner.par
        elif isinstance(inner, EdgeSchedParallelEnv):
            self.env_kind, self._target, self._env = ("aec" if _is_aec(env) else "parallel"), inner, inner
        else:  # a per-episode clone's _EpisodeEnv, a bare SimView, another wrapper
            self.env_kind, self._target, self._env = (
                ("parallel" if isinstance(env, _EpisodeEnv) else "other"),
                None,
                env,
            )
        self._interface = getattr(self._env, "interface", None)
        self.view = sim_view(env)
        self.config = self.view.config

    def _spawn(self) -> SchedulerBase:
        """A copy of this scheduler without its binding (a vector env's per-episode clone)."""
        skip = (
            "_env",
            "_bound",
            "_target",
            "_interface",
            "_clones",
            "view",
            "_round_batch",
            *self._rebuilt_by_bind,
        )
        memo: dict[int, Any] = {}
        for attr in skip:
            value = self.__dict__.get(attr)
            if value is not None:
                memo[id(value)] = [] if attr == "_clones" else None
        return copy.deepcopy(self, memo)

    # --------------------------------------------------------------------------------- reset
    def reset(self, seed: int | None = None) -> None:
        """Re-seed the scheduler's RNG (bound to a vector env: clone ``i`` with ``seed + i``)."""
        self.rng = np.random.default_rng(seed)
        self._seed = None if seed is None else int(seed)
        self._round_batch, self._round_actions = None, {}
        if self._clones:
            self._autoresets[:] = 0
            self._awaiting_reset[:] = False
            for i, clone in enumerate(self._clones):
                clone.reset(None if seed is None else int(seed) + i)

    # ----------------------------------------------------------------------------------- act
    def act_agents(self, observations: Observations, infos: dict[str, dict[str, Any]]) -> Actions:
        """One action per agent of ``observations`` (the parallel env's form); subclasses implement it."""
        raise NotImplementedError

    def act(self, observations: Any, infos: Any) -> Any:
        """The bound interface's action for this round (see the class docstring)."""
        if self._acting:
            raise RuntimeError(
                f"{type(self).__name__}: act() called from within act_agents(); chain per-agent "
                "decisions with super().act_agents(observations, infos)"
            )
        self._acting = True
        try:
            kind = self.env_kind
            if kind == "aec":
                return self._act_aec(infos)
            if kind == "central":
                return self._act_central(infos)
            if kind in ("vector", "central-vector"):
                return self._act_vector(infos)
            return self._act_parallel(observations, infos)
        finally:
            self._acting = False

    # ------------------------------------------------------------------------------ adapters
    @property
    def _discrete(self) -> bool:
        return self._interface is not None and self._interface.options.action_format == "discrete"

    def _joint(self, actions: Actions, agents: list[str]) -> NDArray[np.int64]:
        """``(N, len(nvec))`` int64 actions in ``agents`` order."""
        return np.stack([np.asarray(actions[a], dtype=np.int64).reshape(-1) for a in agents])

    def _act_parallel(self, observations: Any, infos: Any) -> Any:
        par = self._env
        batch = getattr(par, "last_obs_batch", None)
        if batch is not None and getattr(par, "last_obs_formatted", batch) is not batch:
            observations = _agent_obs(batch, 0, list(observations))  # other layouts: the default one
        actions = self.act_agents(observations, infos)
        if not self._discrete:
            return actions
        assert self._interface is not None
        return {a: self._interface.encode(np.asarray(v, dtype=np.int64)) for a, v in actions.items()}

    def _act_aec(self, info: Any) -> Any:
        par = self._env
        agent = self._bound.agent_selection
        if self._round_batch is not par.last_obs_batch:  # the round's first act: decide it whole
            agents = list(par.agents)
            all_infos = getattr(self._bound, "infos", None)
            infos = (
                {a: all_infos.get(a, {}) for a in agents} if isinstance(all_infos, dict) else {agent: info}
            )
            actions = self.act_agents(_agent_obs(par.last_obs_batch, 0, agents), infos)
            if self._discrete:
                assert self._interface is not None
                actions = {
                    a: self._interface.encode(np.asarray(v, dtype=np.int64)) for a, v in actions.items()
                }
            self._round_batch, self._round_actions = par.last_obs_batch, actions
        if agent not in self._round_actions:
            raise RuntimeError(f"act(): {agent!r} is not a live agent of this round (pass None for it)")
        return self._round_actions[agent]

    def _act_central(self, info: Any) -> NDArray[np.int64]:
        central = self._target
        agents = list(central.agents)
        actions = self.act_agents(
            _agent_obs(central.par.last_obs_batch, 0, agents), self._central_infos(info, agents)
        )
        joint = self._joint(actions, agents)
        if self._discrete:
            assert self._interface is not None
            return self._interface.encode(joint)
        return joint.reshape(-1)

    def _central_infos(self, info: Any, agents: list[str]) -> dict[str, dict[str, Any]]:
        """The central info as the parallel env's per-agent infos."""
        if not isinstance(info, dict):
            info = {}
        nested = info.get("agents")
        if isinstance(nested, dict):
            return nested
        if "episode_end" in info:  # the flat format: the agent keys stacked over agents
            return {
                a: {k: (v[i] if k in _AGENT_INFO_KEYS else v) for k, v in info.items()}
                for i, a in enumerate(agents)
            }
        assert self.view is not None
        pending = self.view.pending
        return {
            a: {"slot": 0, "round": 0, "pending_task_ids": pending[i].copy()} for i, a in enumerate(agents)
        }

    def _act_vector(self, infos: Any) -> NDArray[np.int64]:
        venv = self._target
        e, agents = venv.num_envs, list(venv.possible_agents)
        infos = infos if isinstance(infos, dict) else {}
        ended = np.asarray(infos.get("episode_end", infos.get("_metrics", np.zeros(e, bool))), dtype=bool)
        restarted = np.asarray(infos.get("reset", np.zeros(e, bool)), dtype=bool)
        same_step = getattr(venv, "autoreset_mode", "next_step") == "same_step"
        batch = venv.last_obs_batch
        rows = []
        for i, clone in enumerate(self._clones):
            if ended[i] and not same_step:  # NEXT_STEP: this row's next action is ignored
                self._awaiting_reset[i] = True
                rows.append(np.tile(clone.noop(), (len(agents), 1)))
                continue
            if (ended[i] and same_step) or (self._awaiting_reset[i] and restarted[i]):
                self._autoresets[i] += 1
                self._awaiting_reset[i] = False
                k = int(self._autoresets[i])
                clone.reset(None if self._seed is None else self._seed + i + k * e)
            actions = clone.act_agents(_agent_obs(batch, i, agents), _episode_infos(infos, i, agents, e))
            rows.append(self._joint(actions, agents))
        out = np.stack(rows)  # (E, N, len(nvec))
        if self._discrete:
            assert self._interface is not None
            out = self._interface.encode(out)  # (E, N)
        return out.reshape(e, -1) if self.env_kind == "central-vector" else out

    # helpers for subclasses -------------------------------------------------------------
    @property
    def num_picks(self) -> int:
        """Picks per action: ``max_picks`` in multi-task mode, else 1."""
        assert self.config is not None, "bind(env) first"
        return self.config.max_picks if self.config.mode == "multi" else 1

    def noop(self) -> NDArray[np.int64]:
        """The no-op action (slot index ``P`` and zero units, for every pick)."""
        assert self.config is not None, "bind(env) first"
        one = np.zeros(1 + self.config.num_resources, dtype=np.int64)
        one[0] = self.config.max_pending
        return np.tile(one, self.num_picks)

    @staticmethod
    def placeable_slots(obs: dict[str, NDArray]) -> NDArray[np.int64]:
        """Pending slots whose task fits now (non-empty rows of ``alloc_mask``)."""
        return np.flatnonzero(obs["alloc_mask"][:, 0, :].any(axis=1))


def _is_aec(env: Any) -> bool:
    """``env`` is a PettingZoo AEC env (or a wrapper of one)."""
    from pettingzoo import AECEnv

    return isinstance(env, AECEnv)


def _episode_infos(infos: dict[str, Any], i: int, agents: list[str], e: int) -> dict[str, dict[str, Any]]:
    """Episode ``i``'s part of the vector infos, per agent (agent keys at the agent's index)."""
    out: dict[str, dict[str, Any]] = {a: {} for a in agents}
    for k, v in infos.items():
        if k.startswith("_") or k == "final_obs":
            continue
        if isinstance(v, dict):  # metrics: flat name -> (E, ...) array
            part: Any = {name: arr[i] for name, arr in v.items()}
        elif isinstance(v, np.ndarray) and v.ndim and v.shape[0] == e:
            part = v[i]
        else:
            continue
        for j, a in enumerate(agents):
            out[a][k] = part[j] if k in _AGENT_INFO_KEYS else part
    return out
