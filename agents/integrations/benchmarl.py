"""BenchMARL: edgesched as a task family, so BenchMARL's algorithms run from their usual configs.

One task per preset (``EdgeSchedTask.TAPFINGER_SYNTHETIC``, ``EdgeSchedTask.EDGE_ML_SMALL``,
...), built on :class:`agents.integrations.torchrl.EdgeSchedTorchRLEnv` (the native batched
env): group ``"agents"``, flat observations, one ``Categorical`` action per cluster with the
exact joint mask (``("agents", "action_mask")``), which BenchMARL's discrete-action algorithms
(MAPPO, IPPO, MASAC, QMIX, ...) apply. Discrete actions only.

    from benchmarl.algorithms import MappoConfig
    from benchmarl.experiment import Experiment, ExperimentConfig
    from benchmarl.models.mlp import MlpConfig
    from agents.bench import run_bench
    from agents.integrations.benchmarl import EdgeSchedTask, MaskViolations, as_scheduler

    task = EdgeSchedTask.TAPFINGER_SYNTHETIC.get_task(config={"overrides": {"num_tasks": 40}})
    counter = MaskViolations()  # optional: counts collected actions outside their mask
    experiment = Experiment(
        task=task,
        algorithm_config=MappoConfig.get_from_yaml(),  # or IppoConfig, ...
        model_config=MlpConfig.get_from_yaml(),
        critic_model_config=MlpConfig.get_from_yaml(),
        seed=0,
        config=ExperimentConfig.get_from_yaml(),
        callbacks=[counter],
    )
    experiment.run()
    run_bench("tapfinger-synthetic", ["benchmarl", "srtf"], range(10),
              instances={"benchmarl": as_scheduler(experiment)}, num_tasks=40)

Task config keys: ``overrides`` (env config overrides, default none) and ``max_steps`` (rounds
per episode BenchMARL may assume, default the env's ``max_cycles`` or 10 000).
:func:`as_scheduler` benches the trained group policy (``experiment.policy``).
"""

from __future__ import annotations

from typing import Any

from agents._optional import require_extra
from edgesched_env.presets import preset_names

require_extra("benchmarl", "agents.integrations.benchmarl")  # the extra pins a torchrl it supports

from benchmarl.environments.common import Task, TaskClass  # noqa: E402
from benchmarl.experiment.callback import Callback  # noqa: E402
from torchrl.data import Composite  # noqa: E402
from torchrl.envs import EnvBase  # noqa: E402

from agents.integrations import torchrl as _trl  # noqa: E402

__all__ = ["BenchMARLScheduler", "EdgeSchedTask", "EdgeSchedTaskClass", "MaskViolations", "as_scheduler"]


def _preset_of(task_name: str) -> str:
    for p in preset_names():
        if p.replace("-", "_").upper() == task_name:
            return p
    raise ValueError(f"no edgesched preset for BenchMARL task {task_name!r}")


class EdgeSchedTaskClass(TaskClass):
    """How BenchMARL builds an edgesched task (see the module docstring)."""

    def get_env_fun(self, num_envs: int, continuous_actions: bool, seed: int | None, device: Any) -> Any:
        if continuous_actions:
            raise ValueError("edgesched tasks have discrete actions only (pick a discrete-action algorithm)")
        preset = _preset_of(self.name)
        overrides = dict(self.config.get("overrides") or {})

        def make() -> EnvBase:
            env = _trl.EdgeSchedTorchRLEnv(preset, num_envs=num_envs, **overrides)
            if seed is not None:
                env.set_seed(seed)
            return env

        return make

    def supports_continuous_actions(self) -> bool:
        return False

    def supports_discrete_actions(self) -> bool:
        return True

    def max_steps(self, env: EnvBase) -> int:
        cfg = env.venv.config
        return int(self.config.get("max_steps") or cfg.max_cycles or 10_000)

    def has_render(self, env: EnvBase) -> bool:
        return False

    def group_map(self, env: EnvBase) -> dict[str, list[str]]:
        return {"agents": list(env.venv.possible_agents)}

    def observation_spec(self, env: EnvBase) -> Composite:
        spec = env.full_observation_spec_unbatched.clone()
        del spec["mean_jct"]
        del spec["agents", "action_mask"]
        return spec

    def action_mask_spec(self, env: EnvBase) -> Composite | None:
        spec = env.full_observation_spec_unbatched.clone()
        del spec["mean_jct"]
        del spec["agents", "observation"]
        return spec

    def info_spec(self, env: EnvBase) -> Composite | None:
        return None

    def state_spec(self, env: EnvBase) -> Composite | None:
        return None

    def action_spec(self, env: EnvBase) -> Composite:
        return env.full_action_spec_unbatched

    @staticmethod
    def env_name() -> str:
        return "edgesched"

    @staticmethod
    def log_info(batch: Any) -> dict[str, float]:
        """The mean JCT (slots) of the episodes that ended in ``batch``, for BenchMARL's loggers."""
        done = batch.get(("next", "done"))
        if not bool(done.any()):
            return {}
        jct = batch.get(("next", "mean_jct"))[done]
        return {"edgesched/mean_jct": float(jct.mean())}


class EdgeSchedTask(Task):
    """The edgesched task family: one member per preset (``EDGE_ML_SMALL`` = ``edge-ml-small``)."""

    TAPFINGER_SYNTHETIC = None
    TAPFINGER_SYNTHETIC6 = None
    TAPFINGER_HETERO6 = None
    TAPFINGER_SJF = None
    EDGE_ML_SMALL = None
    EDGE_PHILLY = None
    EDGE_HETERO_GPU = None
    EDGE_POLLUX = None

    @staticmethod
    def associated_class() -> type[TaskClass]:
        return EdgeSchedTaskClass

    def get_task(self, config: dict[str, Any] | None = None) -> TaskClass:
        """The task with ``config`` (no YAML file is needed: the default config is empty)."""
        return self.associated_class()(name=self.name, config=dict(config or {}))


class MaskViolations(Callback):  # type: ignore[misc]
    """A BenchMARL callback counting collected actions outside their ``action_mask``.

    ``Experiment(..., callbacks=[counter])``; after ``run()``, ``counter.violations`` (0 expected:
    BenchMARL's discrete policies sample from the masked categorical) out of ``counter.actions``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.violations = 0
        self.actions = 0

    def on_batch_collected(self, batch: Any) -> None:
        acts = batch.get(("agents", "action"))
        mask = batch.get(("agents", "action_mask"))
        self.violations += int((~mask.gather(-1, acts.unsqueeze(-1))).sum())
        self.actions += int(acts.numel())


class BenchMARLScheduler(_trl.TorchRLScheduler):
    """A BenchMARL group policy (``experiment.policy``) as a bench scheduler: the masked argmax.

    BenchMARL's policies read ``("agents", "observation")`` and ``("agents", "action_mask")`` and
    write ``("agents", "action")``, exactly the TorchRL env's keys, so this is the TorchRL
    scheduler under BenchMARL's name.
    """

    name = "benchmarl"


def as_scheduler(experiment_or_policy: Any) -> BenchMARLScheduler:
    """A bench scheduler from a BenchMARL ``Experiment`` (its ``policy``) or a group policy."""
    return BenchMARLScheduler(getattr(experiment_or_policy, "policy", experiment_or_policy))
