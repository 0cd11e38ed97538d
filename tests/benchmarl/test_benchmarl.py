"""agents.integrations.benchmarl: TorchRL's env checker on the task's env, BenchMARL's MAPPO (the
documented example) and IPPO from their YAML configs with zero mask violations, and the trained
policies in the bench."""

from __future__ import annotations

import pytest

SMALL = {"num_tasks": 10}


def _config(tmp_path):
    from benchmarl.experiment import ExperimentConfig

    cfg = ExperimentConfig.get_from_yaml()  # BenchMARL's usual config, made tiny and quiet
    cfg.max_n_iters = 1
    cfg.max_n_frames = None
    cfg.on_policy_collected_frames_per_batch = 200
    cfg.on_policy_n_envs_per_worker = 4
    cfg.on_policy_n_minibatch_iters = 1
    cfg.on_policy_minibatch_size = 100
    cfg.evaluation = False
    cfg.render = False
    cfg.loggers = []
    cfg.create_json = False
    cfg.checkpoint_at_end = False
    cfg.save_folder = str(tmp_path)
    return cfg


def test_every_preset_is_a_task_and_its_env_passes_torchrls_checker():
    from torchrl.envs.utils import check_env_specs

    from agents.integrations.benchmarl import EdgeSchedTask
    from edgesched_env.presets import preset_names

    assert {t.name for t in EdgeSchedTask} == {p.replace("-", "_").upper() for p in preset_names()}
    task = EdgeSchedTask.TAPFINGER_HETERO6.get_task(config={"overrides": SMALL})
    env = task.get_env_fun(num_envs=2, continuous_actions=False, seed=0, device="cpu")()
    check_env_specs(env)
    assert task.group_map(env) == {"agents": [f"cluster_{i}" for i in range(6)]}
    assert set(task.observation_spec(env)["agents"].keys()) == {"observation"}
    assert set(task.action_mask_spec(env)["agents"].keys()) == {"action_mask"}
    with pytest.raises(ValueError, match="discrete actions only"):
        task.get_env_fun(num_envs=2, continuous_actions=True, seed=0, device="cpu")


@pytest.mark.parametrize("algorithm", ["ippo"])  # MAPPO: the documented example below
def test_algorithm_trains_from_its_yaml_without_mask_violations_and_is_benched(algorithm, tmp_path):
    from benchmarl.algorithms import IppoConfig, MappoConfig
    from benchmarl.experiment import Experiment
    from benchmarl.models.mlp import MlpConfig

    from agents.bench import run_bench
    from agents.integrations.benchmarl import EdgeSchedTask, MaskViolations, as_scheduler

    algo = {"mappo": MappoConfig, "ippo": IppoConfig}[algorithm].get_from_yaml()
    counter = MaskViolations()
    exp = Experiment(
        task=EdgeSchedTask.TAPFINGER_SYNTHETIC.get_task(config={"overrides": SMALL}),
        algorithm_config=algo,
        model_config=MlpConfig.get_from_yaml(),
        critic_model_config=MlpConfig.get_from_yaml(),
        seed=0,
        config=_config(tmp_path),
        callbacks=[counter],
    )
    exp.run()
    assert counter.actions >= 200 * 3 and counter.violations == 0
    name = f"benchmarl-{algorithm}"
    res = run_bench(
        "tapfinger-synthetic",
        [name, "min"],
        [0, 1],
        instances={name: as_scheduler(exp)},
        progress=False,
        **SMALL,
    )
    recs = {(r["scheduler"], r["seed"]): r for r in res.records}
    for seed in (0, 1):
        r = recs[(name, seed)]
        assert r["tasks_completed"] == SMALL["num_tasks"] and not r["truncated"]
        assert r["infeasible_actions"] == 0


def test_the_documented_example_runs(tmp_path, monkeypatch):
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "integrations.md").read_text()
    (code,) = [
        b for b in re.findall(r"```python\n(.*?)```", doc, flags=re.S) if "integrations.benchmarl" in b
    ]
    monkeypatch.chdir(tmp_path)  # BenchMARL's csv logger writes into the working directory
    scope: dict = {"__name__": "__doc_example__"}
    exec(compile(code, "integrations.md[benchmarl]", "exec"), scope)
    assert scope["counter"].violations == 0 and len(scope["res"].records) == 3


def test_integration_speed_script_measures_the_pinned_paths(run_speed_script):
    """benchmarks/integration_speed.py in this environment measures RLlib's and BenchMARL's paths."""
    rep = run_speed_script()
    assert {"raw vector env", "rllib env", "benchmarl task"} <= set(rep["steps_per_s"])
    assert {"ray", "benchmarl", "torchrl"} <= set(rep["versions"])  # the libraries measured
