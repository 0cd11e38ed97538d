"""The one ``Scheduler`` interface shared by heuristic baselines and learned policies.

A scheduler drives a :class:`~edgesched_env.parallel_env.EdgeSchedParallelEnv`:

>>> import edgesched_env
>>> from agents.baselines import make_scheduler
>>> env = edgesched_env.parallel_env("tapfinger-synthetic")
>>> sched = make_scheduler("random")
>>> sched.bind(env)
>>> obs, infos = env.reset(seed=0); sched.reset(seed=0)
>>> while env.agents:
...     obs, rew, term, trunc, infos = env.step(sched.act(obs, infos))

and, with each one's usual loop, the AEC env, the central Gymnasium env
(``gymnasium.make("edgesched/EdgeSchedCentral-v1")``) and the vector envs: ``act`` takes what
the bound env returned and gives back that env's action (see :class:`SchedulerBase`).

``bind(env)`` is the explicit hook through which a scheduler receives the environment's config and
its documented read-only :class:`~edgesched_env.sim.view.SimView`. Only schedulers that declare it
(``uses_elastic_api``, ``uses_oracle``) may call the view's elastic ``resize`` or read its
``oracle_*`` members; an oracle is a reference point, not a peer, and says so in its name.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from edgesched_env.config import EnvConfig
from edgesched_env.interface import OUTCOME_KEYS, Interface
from edgesched_env.observation import ObservationBuilder
from edgesched_env.sim.view import SimView, sim_view

__all__ = ["Actions", "EnvKind", "Observations", "Scheduler", "SchedulerBase", "Seeds", "implements_batch"]

Observations = dict[str, dict[str, NDArray]]
Actions = dict[str, NDArray[np.int64]]
#: The kind of env a scheduler is bound to (:attr:`SchedulerBase.env_kind`).
EnvKind = Literal["parallel", "aec", "central", "vector", "central-vector"]
#: What ``reset`` takes: a seed, one seed per episode of a bound vector env, or ``None``.
Seeds: TypeAlias = "int | Sequence[int] | None"

#: Info keys with a leading agent axis in the central env's flat infos and a vector env's row.
_AGENT_INFO_KEYS = frozenset((*OUTCOME_KEYS, "pending_task_ids"))
#: What :meth:`SchedulerBase.bind` sets up; a vector env's per-episode clones do not copy it.
_BINDING = ("_env", "_bound", "_interface", "_clones", "view", "_round_key", "_round_actions")


@runtime_checkable
class Scheduler(Protocol):
    """What the evaluation harness needs of any scheduler."""

    name: str

    def bind(self, env: Any) -> None:
        """Attach to an environment (called once per env, before ``reset``)."""

    def reset(self, seed: Seeds = None) -> None:
        """Start an episode; ``seed`` seeds the scheduler's own RNG (bound to a vector env: a
        sequence gives one seed per episode)."""

    def act(self, observations: Any, infos: Any) -> Any:
        """The bound env's action for the current decision round (for the parallel env: one
        action per live agent)."""


class _EpisodeEnv:
    """Episode ``index`` of a vector env, seen as one env: what a per-episode clone is bound to.

    ``view`` is the episode's :class:`SimView` and :attr:`last_obs_batch` its ``(1, N, ...)``
    rows of the vector env's latest default-layout observation, as a parallel env has them.
    """

    def __init__(self, venv: Any, index: int) -> None:
        self.venv = venv
        self.index = index
        self.view: SimView = venv.sim_view(index)
        self.config: EnvConfig = venv.config
        self.possible_agents: list[str] = list(venv.possible_agents)

    @property
    def unwrapped(self) -> _EpisodeEnv:
        return self

    @property
    def last_obs_batch(self) -> dict[str, NDArray]:
        batch = self.venv.last_obs_batch
        if batch is None:
            raise RuntimeError("the vector env has no observation yet: reset() it first")
        return {k: v[self.index : self.index + 1] for k, v in batch.items()}


class SchedulerBase:
    """Convenience base: keeps the config, the view and a seeded RNG, and adapts every env kind.

    Subclasses implement :meth:`act_agents`: one round's decision in the parallel env's form
    (``{agent: observation}`` in the default layout -> ``{agent: action}``). :meth:`act` is the
    one adapter in front of it; :meth:`bind` notes the kind of env (:attr:`env_kind`) and
    ``act(obs, info)`` takes what that env returned and gives back its action:

    * ``"parallel"``: ``{agent: observation}`` and ``{agent: info}`` -> ``{agent: action}``.
    * ``"aec"`` (``edgesched_env.env()``, ``pettingzoo.make("aec", ...)``), in the usual loop
      ``obs, rew, term, trunc, info = env.last(); env.step(None if term or trunc else
      sched.act(obs, info))``: the first ``act`` of a round decides every live agent's action
      at once (the others' observations and infos through ``env.observe(agent)`` and
      ``env.infos``), each ``act`` returns ``env.agent_selection``'s.
    * ``"central"`` (``gymnasium.make("edgesched/EdgeSchedCentral-v1")``, wrappers and all): the
      central observation (every key stacked over agents, ``(N, ...)``) and info -> the joint
      action ``(N * len(nvec),)``.
    * ``"vector"`` (:class:`~edgesched_env.vector.EdgeSchedVectorEnv`) and ``"central-vector"``
      (``gymnasium.make_vec("edgesched/EdgeSchedCentral-v1", ...)``): the batched observation
      ``(E, N, ...)`` and infos -> ``(E, N, len(nvec))`` actions (``(E, N * len(nvec))`` for the
      central one). :meth:`bind` makes one clone of the scheduler per episode, bound to that
      episode's :class:`SimView`; ``reset(seed)`` resets clone ``i`` with ``seed + i``, the vector
      env's seed of episode ``i`` (``reset(seeds)``, a sequence, with ``seeds[i]``, as the
      vector env's ``reset(seed=seeds)``). When an episode ends the env autoresets it without
      reseeding it (the next episode continues its generator, as a parallel env's ``reset()``
      does); the clone is then reset with ``s_i + k * E`` for the ``k``-th autoreset of row
      ``i``, ``s_i`` its first seed. In the ``NEXT_STEP`` mode the action row of the step that
      resets an episode is ignored by the env: ``act`` sends the no-op there, as it does to the
      rows given to :meth:`retire_rows`. Each round's decisions of the rows that play are made by
      :meth:`act_rows`: with one :meth:`act_batch` call for a scheduler that implements it (the
      clones then only hold each row's seeded state; :attr:`batch_act` ``= False`` forces the
      clone loop), else each row's clone.

    So the same seed gives the same episode on every kind of env (row ``i`` of a vector env:
    the parallel env's episode for ``seed + i``). The infos reach :meth:`act_agents` per agent,
    as the env gives them (the central env's reset info is empty, a vector env's metrics are
    its flat arrays' row). Under the default interface options the given observation is used
    as it is. Other options change what the observation holds (``obs_layout``, ``mask``,
    ``action_format``; the default ``action_mask`` cannot be recovered from a strict or
    discrete one), so then the round's default-layout observation is read from the env
    (``last_obs_batch``), after checking that the given one is that round's observation in the
    env's format; ``action_format="discrete"`` actions are encoded with the env's
    :class:`~edgesched_env.interface.Interface`.

    A subclass that overrides ``act`` itself (the older form) keeps working on the parallel
    env, and ``super().act(...)`` in it still reaches :meth:`act_agents`; only
    :meth:`act_agents` is adapted to the other kinds of env.

    Attributes:
        name: registry name.
        uses_elastic_api: the scheduler resizes running tasks through ``SimView.resize``.
        uses_oracle: the scheduler reads hidden quantities (``SimView.oracle_*``).
        batchable: the scheduler plays a vector env's episodes exactly as it plays each one
            alone in a parallel env (same seeds, same actions), so
            :func:`agents.evaluate.evaluate` runs all seeds of a setting as one batch; ``False``
            for schedulers that only work per episode (an episode-long plan, a library policy),
            which it then plays one episode at a time. A subclass that overrides ``act`` (the
            older form) is played per episode whatever this says.
        env_kind: the kind of the bound env (``None`` before :meth:`bind`).
        view: the bound episode's read-only view (``None`` when bound to a vector env: each
            per-episode clone has its own).
    """

    name = "base"
    uses_elastic_api = False
    uses_oracle = False
    #: bound to a vector env, decide every episode with one :meth:`act_batch` call where the
    #: scheduler implements it (:attr:`acts_batched`); ``False`` forces the per-episode clones
    batch_act = True
    batchable = True

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)
        self.config: EnvConfig | None = None
        self.view: SimView | None = None
        self.env_kind: EnvKind | None = None
        self._env: Any = None  # the edgesched env read: parallel env, vector env, or a vector episode
        self._bound: Any = None  # the env given to bind (the AEC env is asked for its agents)
        self._interface: Interface | None = None
        self._clones: list[SchedulerBase] = []  # vector env: one per episode
        self._seed: int | None = None
        self._row_seeds: list[int] | None = None  # vector env: each row's first episode seed
        self._autoresets = np.zeros(0, dtype=np.int64)  # vector env: autoresets of each row
        self._ignored = np.zeros(0, dtype=bool)  # vector env: rows whose next action is ignored
        self._retired = np.zeros(0, dtype=bool)  # vector env: rows act() no longer plays
        self._round_key: Any = None  # AEC env: the observation batch the round was decided on
        self._round_actions: dict[str, Any] = {}

    # ---------------------------------------------------------------------------------- bind
    def bind(self, env: Any) -> None:
        """Keep the env's config and read-only simulator view, and note the kind of env.

        ``env``: a parallel, AEC, central or vector env, wrapped or not, or anything that
        :func:`edgesched_env.sim_view` accepts (then it is treated as a parallel env).
        """
        from pettingzoo import AECEnv

        from edgesched_env.central_env import CentralEdgeSchedEnv, CentralEdgeSchedVectorEnv
        from edgesched_env.parallel_env import EdgeSchedParallelEnv
        from edgesched_env.vector import EdgeSchedVectorEnv

        inner = getattr(env, "unwrapped", env)
        kind: EnvKind = "parallel"
        target = env
        if isinstance(inner, CentralEdgeSchedVectorEnv):
            kind, target = "central-vector", inner.venv
        elif isinstance(inner, EdgeSchedVectorEnv):
            kind, target = "vector", inner
        elif isinstance(inner, CentralEdgeSchedEnv):
            kind, target = "central", inner.par
        elif isinstance(inner, EdgeSchedParallelEnv):
            kind, target = ("aec" if isinstance(env, AECEnv) else "parallel"), inner
        self.env_kind, self._env, self._bound = kind, target, env
        self._interface = getattr(target, "interface", None)
        self._clones, self._round_key, self._round_actions = [], None, {}
        if kind in ("vector", "central-vector"):
            self.view, self.config = None, target.config
            clones = [self._spawn() for _ in range(target.num_envs)]
            for i, clone in enumerate(clones):
                clone.bind(_EpisodeEnv(target, i))
            self._clones = clones
            self._autoresets = np.zeros(target.num_envs, dtype=np.int64)
            self._ignored = np.zeros(target.num_envs, dtype=bool)
            self._retired = np.zeros(target.num_envs, dtype=bool)
        else:
            self.view = sim_view(target)
            self.config = self.view.config

    def _spawn(self) -> SchedulerBase:
        """A deep copy of this scheduler without its binding (a vector env's episode clone)."""
        saved = {k: self.__dict__[k] for k in _BINDING}
        self.__dict__.update(dict.fromkeys(_BINDING))
        try:
            return copy.deepcopy(self)
        finally:
            self.__dict__.update(saved)

    # --------------------------------------------------------------------------------- reset
    def reset(self, seed: Seeds = None) -> None:
        """Re-seed the scheduler's RNG (bound to a vector env: clone ``i`` with ``seed + i``, or
        with ``seed[i]`` for a sequence of one seed per episode)."""
        e = len(self._clones)
        first: int | None = None  # this scheduler's own seed (the first episode's)
        if seed is not None and np.ndim(seed) > 0:
            if not self._clones:
                raise ValueError(f"{self.name}: a sequence of seeds needs a vector env; got {seed!r}")
            seeds = [int(s) for s in np.asarray(seed).reshape(-1)]
            if len(seeds) != e:
                raise ValueError(f"{self.name}.reset: {len(seeds)} seeds for {e} episodes")
            self._row_seeds, first = seeds, seeds[0]
        else:
            first = None if seed is None else int(np.asarray(seed))
            self._row_seeds = None if first is None else [first + i for i in range(e)]
        self.rng = np.random.default_rng(first)
        self._seed = first
        self._round_key, self._round_actions = None, {}
        self._autoresets[:] = 0
        self._ignored[:] = False
        self._retired[:] = False
        for i, clone in enumerate(self._clones):
            clone.reset(self.episode_seed(i))

    def episode_seed(self, row: int) -> int | None:
        """The seed of the current episode of vector row ``row``: its first seed ``s_i`` plus ``k * E``
        after its ``k``-th autoreset (``None`` when reset without a seed)."""
        if self._row_seeds is None:
            return None
        return self._row_seeds[row] + int(self._autoresets[row]) * len(self._clones)

    def retire_rows(self, rows: Sequence[int] | NDArray[np.integer[Any]]) -> None:
        """Vector env: the episodes of ``rows`` are no longer wanted (an evaluation keeps each
        row's first episode): from now until the next :meth:`reset`, :meth:`act` sends them the
        no-op and neither resets nor asks their clones."""
        if not self._clones:
            raise RuntimeError(f"{self.name}: retire_rows() needs a vector env")
        self._retired[np.asarray(rows, dtype=np.int64)] = True

    # ----------------------------------------------------------------------------------- act
    def act_agents(self, observations: Observations, infos: dict[str, dict[str, Any]]) -> Actions:
        """One action per agent of ``observations`` (default layout); subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement act_agents(observations, infos)")

    def act(self, observations: Any, infos: Any) -> Any:
        """The bound env's action for this round, from what it returned (see the class docstring)."""
        if self.env_kind == "aec":
            return self._act_aec(observations)
        if self.env_kind == "central":
            return self._act_central(observations, infos)
        if self.env_kind in ("vector", "central-vector"):
            return self._act_vector(observations, infos)
        return self._act_parallel(observations, infos)

    # ---------------------------------------------------------------------------- batched
    def act_batch(
        self, observations: dict[str, NDArray], infos: Mapping[str, Any], rows: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        """``(B, N, len(nvec))`` actions for rows ``rows`` ``(B,)`` of the bound vector env at once.

        The batched form of :meth:`act_agents`, called once per vector step (instead of each
        per-episode clone's ``act_agents``) when a subclass implements it (:attr:`acts_batched`).
        ``observations``: the default-layout observation of those rows, every key ``(B, N, ...)``
        (all agents, in ``possible_agents`` order); ``infos``: the vector env's infos as it gave
        them (all ``E`` rows). ``rows`` are the rows the env acts on: a row whose action the
        env ignores (``NEXT_STEP`` autoreset) is left out and gets the no-op. Row ``rows[j]``'s
        own state across rounds (its RNG) lives in its per-episode clone
        ``self._clones[rows[j]]``, which is (re)seeded exactly as on the clone path (``seed + i``,
        then ``seed + i + k * E`` at its ``k``-th autoreset), so that the result equals the clones'
        ``act_agents`` on every row, bit for bit.
        """
        raise NotImplementedError(f"{type(self).__name__} has no batched act_batch()")

    def supports_act_batch(self) -> bool:
        """Whether this scheduler's class implements :meth:`act_batch` for what it decides: it
        overrides it, and no subclass below the implementing class overrides ``act_agents``."""
        return implements_batch(type(self), "act_batch", ("act_agents",))

    @property
    def acts_batched(self) -> bool:
        """Whether a vector env's rounds go through :meth:`act_batch` (:attr:`batch_act` and
        :meth:`supports_act_batch`) rather than the per-episode clones' ``act_agents``."""
        return bool(self.batch_act) and self.supports_act_batch()

    def _default_batch(self, batch: dict[str, NDArray]) -> dict[str, NDArray]:
        """The vector env's observation ``batch`` in the default layout (as :meth:`_default_obs`
        for one row: the env's ``last_obs_batch`` once ``batch`` is checked to be this round's)."""
        opts = None if self._interface is None else self._interface.options
        if opts is None or opts.observation_is_default:
            return batch
        assert self._interface is not None
        default = self._env.last_obs_batch  # (E, N, ...) default layout
        for k, v in self._interface.observe(default).items():
            if k not in batch or not np.array_equal(batch[k], v):
                raise ValueError(
                    f"{type(self).__name__}.act(): {k!r} is not that of the env's latest "
                    "observation; pass act() the observation the env has just returned"
                )
        return default

    # ------------------------------------------------------------------------------ adapters
    def _act_parallel(self, observations: Observations, infos: dict[str, dict[str, Any]]) -> Any:
        actions = self.act_agents(self._default_obs(observations), infos)
        if not self._discrete:
            return actions
        return {a: self._encode(v) for a, v in actions.items()}

    def _act_aec(self, observation: dict[str, NDArray]) -> Any:
        aec = self._bound
        agent = aec.agent_selection
        round_key = self._env.last_obs_batch  # a new object at each parallel step and reset
        if round_key is not self._round_key:  # the round's first act: decide every agent's action
            agents = list(aec.agents)
            obs = {a: observation if a == agent else aec.observe(a) for a in agents}
            self._round_actions = self._act_parallel(obs, {a: aec.infos[a] for a in agents})
            self._round_key = round_key
        return self._round_actions[agent]

    def _act_central(self, observation: Mapping[str, NDArray], info: Mapping[str, Any]) -> NDArray[np.int64]:
        agents = self._env.possible_agents
        batch = {k: np.asarray(v)[None] for k, v in _check_batch(observation, "central").items()}
        obs = self._default_obs(ObservationBuilder.agent_views(batch, agents))
        actions = self.act_agents(obs, _split_infos(info, agents))
        return self._encode(_stack(actions, agents)).reshape(-1)

    def _act_vector(self, observations: Mapping[str, NDArray], infos: Mapping[str, Any]) -> NDArray[np.int64]:
        venv = self._env
        e, agents = venv.num_envs, venv.possible_agents
        ended = np.asarray(infos.get("episode_end", infos.get("_metrics", np.zeros(e, bool))), dtype=bool)
        same_step = venv.autoreset_mode == "same_step"
        batch = _check_batch(observations, "vector")
        out = np.tile(self.noop(), (e, len(agents), 1))  # (E, N, len(nvec))
        live = ~self._retired
        for i in np.flatnonzero(live).tolist():
            if ended[i] and not same_step:  # NEXT_STEP: the env ignores this row's next action
                self._ignored[i] = True
                live[i] = False
            elif ended[i] or self._ignored[i]:  # a new episode in this row
                self._autoresets[i] += 1
                self._ignored[i] = False
                self._clones[i].reset(self.episode_seed(i))
        rows = np.flatnonzero(live)
        if rows.shape[0]:
            out[rows] = self.act_rows(batch, infos, rows)
        out = self._encode(out)  # (E, N) under action_format="discrete"
        return out.reshape(e, -1) if self.env_kind == "central-vector" else out

    def act_rows(
        self, observations: Mapping[str, NDArray], infos: Mapping[str, Any], rows: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        """Vector env: ``(len(rows), N, len(nvec))`` actions of the episodes ``rows`` (ascending),
        from the env's batched observation ``(E, N, ...)`` and infos as it returned them.

        A scheduler with array code for a whole batch (:attr:`acts_batched`) decides every row
        with one :meth:`act_batch` call; otherwise each row's clone decides (:meth:`act_agents`
        on its episode's default-layout observation). Either way every row gets the actions its
        clone would give (that is what :attr:`batchable` promises).
        """
        e, agents = self._env.num_envs, self._env.possible_agents
        if self.acts_batched:  # one decision for every row that plays (see act_batch)
            full = self._default_batch(dict(observations))
            part = full if rows.shape[0] == e else {k: v[rows] for k, v in full.items()}
            return self.act_batch(part, infos, rows)
        out = np.empty((rows.shape[0], len(agents), self.noop().shape[0]), dtype=np.int64)
        for j, i in enumerate(rows.tolist()):
            obs = self._default_obs(ObservationBuilder.agent_views(dict(observations), agents, i), i)
            out[j] = _stack(self._clones[i].act_agents(obs, _split_infos(_row(infos, i, e), agents)), agents)
        return out

    # ----------------------------------------------------------------------------- formats
    @property
    def _discrete(self) -> bool:
        return self._interface is not None and self._interface.options.action_format == "discrete"

    def _encode(self, actions: NDArray[np.int64]) -> NDArray[np.int64]:
        """``(..., len(nvec))`` actions in the bound env's action format."""
        if not self._discrete:
            return actions
        assert self._interface is not None
        return self._interface.encode(actions)

    def _default_obs(self, observations: Observations, row: int = 0) -> Observations:
        """``observations`` (episode ``row``'s, per agent, in the bound env's format) in the
        default layout: as given under the default options, else this round's default-layout
        observation of the env, once the given one is checked to be this round's."""
        opts = None if self._interface is None else self._interface.options
        if opts is None or opts.observation_is_default:
            return observations
        assert self._interface is not None
        batch = self._env.last_obs_batch  # (B, N, ...) default layout
        formatted = self._interface.observe(batch)
        agents = list(observations)
        for a, given in zip(agents, ObservationBuilder.agent_views(formatted, agents, row).values()):
            for k, v in given.items():
                if k not in observations[a] or not np.array_equal(observations[a][k], v):
                    raise ValueError(
                        f"{type(self).__name__}.act(): {a}'s {k!r} is not that of the env's latest "
                        "observation; pass act() the observation the env has just returned"
                    )
        return ObservationBuilder.agent_views(batch, agents, row)

    # helpers for subclasses -------------------------------------------------------------
    @property
    def num_picks(self) -> int:
        """Picks per action: ``max_picks`` in multi-task mode, else 1."""
        assert self.config is not None, "bind(env) first"
        return self.config.num_picks

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


#: :func:`implements_batch`'s answers (a class's never changes; the vector env asks every round)
_IMPLEMENTS: dict[tuple[type, str, tuple[str, ...], type | None], bool] = {}


def implements_batch(cls: type, method: str, replaces: tuple[str, ...], base: type | None = None) -> bool:
    """Whether ``cls`` implements the batched ``method`` (a class below ``base``, by default
    :class:`SchedulerBase`, defines it) and no class below that one overrides any of
    ``replaces``, the per-episode methods whose decision it reproduces (such a subclass decides
    per episode)."""
    key = (cls, method, replaces, base)
    hit = _IMPLEMENTS.get(key)
    if hit is None:
        owner = next(c for c in cls.__mro__ if method in vars(c))
        hit = owner is not (SchedulerBase if base is None else base) and all(
            issubclass(owner, next(c for c in cls.__mro__ if name in vars(c))) for name in replaces
        )
        _IMPLEMENTS[key] = hit
    return hit


def _check_batch(observation: Any, kind: str) -> dict[str, NDArray]:
    if not isinstance(observation, dict):
        raise TypeError(
            f"act() on the {kind} env takes the observation dict it returned (every key stacked "
            f"over agents), got {type(observation).__name__}"
        )
    return observation


def _stack(actions: Actions, agents: list[str]) -> NDArray[np.int64]:
    """``(N, len(nvec))`` int64 actions in ``agents`` order."""
    return np.stack([np.asarray(actions[a], dtype=np.int64).reshape(-1) for a in agents])


def _row(infos: Mapping[str, Any], i: int, e: int) -> dict[str, Any]:
    """Episode ``i``'s part of a vector env's infos (the ``_*`` masks and ``final_obs`` left out)."""
    out: dict[str, Any] = {}
    for k, v in infos.items():
        if k.startswith("_") or k == "final_obs":
            continue
        if isinstance(v, Mapping):  # metrics: flat name -> (E, ...)
            out[k] = {name: arr[i] for name, arr in v.items()}
        elif isinstance(v, np.ndarray) and v.ndim and v.shape[0] == e:
            out[k] = v[i]
    return out


def _split_infos(info: Mapping[str, Any], agents: list[str]) -> dict[str, dict[str, Any]]:
    """Per-agent infos from one episode's stacked info (the central env's, a vector env's row).

    The central env's nested step info carries them (``info["agents"]``); otherwise the agent
    keys (outcomes, ``pending_task_ids``) are cut along their leading agent axis and the other
    keys shared.
    """
    nested = info.get("agents")
    if isinstance(nested, dict):
        return nested
    return {
        a: {k: (v[j] if k in _AGENT_INFO_KEYS else v) for k, v in info.items()} for j, a in enumerate(agents)
    }
