"""Config validation: every bad value raises ValueError naming the field and the value."""

from __future__ import annotations

import io
import math
import pickle
import re
from dataclasses import replace

import gymnasium
import numpy as np
import pytest

import edgesched_env
from edgesched_env import ClusterSpec, EnvConfig, FixedTask, TaskType, WorkloadSpec, make_config
from edgesched_env.presets import PRESETS, preset_names, profile_config
from edgesched_env.testing import masked_random_policy
from edgesched_env.workload.measured import measured_model
from edgesched_env.workload.parametric import OptimusSpeed
from edgesched_env.workload.profile import ProfileSpeed, load_profile
from edgesched_env.workload.speed import SpeedModel, SyntheticSpeed

BASE = make_config("tapfinger-synthetic")


def types2(penalty=0.5):
    return (
        TaskType("insensitive", (2, 1), SyntheticSpeed(bias=0.25), penalty),
        TaskType("gpu-concave", (2, 1), SyntheticSpeed(resource_idx=1), penalty),
    )


def expect(pattern, fn, *args, **kwargs):
    with pytest.raises(ValueError, match=pattern) as info:
        fn(*args, **kwargs)
    return str(info.value)


# (override kwargs, regex naming the field and the value)
BAD_OVERRIDES = [
    ({"arrival_rate": -1.0}, r"arrival_rate.*-1"),
    ({"arrival_rate": 0.0}, r"arrival_rate.*0"),
    ({"arrival_rate": math.nan}, r"arrival_rate.*nan"),
    ({"arrival_rate": math.inf}, r"arrival_rate.*inf"),
    ({"num_tasks": 0}, r"num_tasks.*0"),
    ({"num_tasks": 2.5}, r"num_tasks.*2\.5"),
    ({"num_tasks": True}, r"num_tasks.*True"),
    ({"visibility": "some"}, r"visibility.*'some'"),
    ({"reward": "team"}, r"reward.*'team'"),
    ({"conflict_rule": "bayes"}, r"conflict_rule.*'bayes'"),
    ({"infeasible": "raise"}, r"infeasible.*'raise'"),
    ({"mode": "batch"}, r"mode.*'batch'"),
    ({"max_pending": 0}, r"max_pending.*0"),
    ({"max_picks": 0}, r"max_picks.*0"),
    ({"max_rounds_per_slot": 0}, r"max_rounds_per_slot.*0"),
    ({"max_slots": -3}, r"max_slots.*-3"),
    ({"max_cycles": 0}, r"max_cycles.*0"),
    ({"progress_noise": 1.0}, r"progress_noise.*1"),
    ({"progress_noise": -0.1}, r"progress_noise.*-0\.1"),
    ({"time_scale_slots": 0.0}, r"time_scale_slots.*0"),
    ({"type_probs": (0.7, 0.2)}, r"type_probs.*sum to 1.*0\.(9|899)"),
    ({"type_probs": (1.5, -0.5)}, r"type_probs\[0\].*1\.5"),
    ({"type_probs": (1.0,)}, r"type_probs.*1 entries.*2"),
    ({"capacities": []}, r"clusters"),
    ({"capacities": [(16, 16, 16)]}, r"2 resources.*the capacity of every cluster has 3 entries"),
    ({"capacities": [(16, 0)]}, r"capacity\[1\].*0"),
    ({"capacities": [(1, 1)]}, r"min_request=\(2, 1\) fits on no cluster"),
    ({"num_levels": (17,)}, r"num_levels.*1 entries"),
    ({"num_levels": (17, 1)}, r"num_levels\[1\].*1"),
    ({"num_levels": (17, 1.5)}, r"num_levels\[1\].*1\.5"),
    ({"resource_names": ("cpu", "cpu")}, r"resource_names.*\('cpu', 'cpu'\)"),
    ({"bogus": 1}, r"unknown config option.*'bogus'.*valid: "),
    ({"arival_rate": 2.0, "num_task": 3}, r"unknown config option.*'arival_rate'.*'num_task'"),
]


@pytest.mark.parametrize(("overrides", "pattern"), BAD_OVERRIDES, ids=[str(o) for o, _ in BAD_OVERRIDES])
def test_bad_overrides_raise_naming_field_and_value(overrides, pattern):
    expect(pattern, make_config, "tapfinger-synthetic", **overrides)
    # The same message reaches users of every entry point.
    expect(pattern, edgesched_env.parallel_env, "tapfinger-synthetic", **overrides)


def test_bad_override_through_gymnasium_make():
    with pytest.raises(ValueError, match=r"arrival_rate.*-2"):
        gymnasium.make("edgesched/EdgeSchedCentral-v1", preset="tapfinger-synthetic", arrival_rate=-2.0)


def test_unknown_preset_lists_the_available_ones():
    msg = expect(r"unknown preset 'tapfinger-nope'", make_config, "tapfinger-nope")
    for name in preset_names():
        assert name in msg
    expect(r"unknown preset", edgesched_env.parallel_env, "nope")
    with pytest.raises(ValueError, match="unknown preset"):
        gymnasium.make("edgesched/EdgeSchedCentral-v1", preset="nope")


def test_min_request_over_the_max_level():
    tt = (TaskType("big", (2, 17), SyntheticSpeed(bias=0.5)),)
    wl = WorkloadSpec(tt, (1.0,), arrival_rate=1.0, num_tasks=3)
    msg = expect(
        r"min_request\[1\]=17 exceeds the per-task maximum 16", EnvConfig, (ClusterSpec((32, 32)),), wl
    )
    assert "big" in msg and "gpu" in msg


def test_task_type_validation():
    expect(r"name", TaskType, "", (2, 1), SyntheticSpeed(bias=1.0))
    expect(r"min_request", TaskType, "x", (), SyntheticSpeed(bias=1.0))
    expect(r"min_request\[0\].*-1", TaskType, "x", (-1, 1), SyntheticSpeed(bias=1.0))
    expect(r"min_request.*positive.*\(0, 0\)", TaskType, "x", (0, 0), SyntheticSpeed(bias=1.0))
    expect(r"switch_penalty.*0", TaskType, "x", (1, 1), SyntheticSpeed(bias=1.0), 0.0)
    expect(r"switch_penalty.*1\.5", TaskType, "x", (1, 1), SyntheticSpeed(bias=1.0), 1.5)
    expect(r"speed.*increment", TaskType, "x", (1, 1), object())


def test_speed_model_validation():
    expect(r"bias.*nan", SyntheticSpeed, bias=math.nan)
    expect(r"scale.*0", SyntheticSpeed, resource_idx=1, scale=0.0)
    expect(r"resource_idx.*-1", SyntheticSpeed, resource_idx=-1)
    expect(r"bias > 0.*0\.0", SyntheticSpeed, bias=0.0)


def test_workload_and_fixed_task_validation():
    tt = types2()
    expect(r"task_types", WorkloadSpec, (), (), 1.0, 3)
    expect(r"duplicate names", WorkloadSpec, (tt[0], tt[0]), (0.5, 0.5), 1.0, 3)
    expect(r"visible_to", FixedTask, 0, 0, ())
    expect(r"visible_to has duplicates.*\(1, 1\)", FixedTask, 0, 0, (1, 1))
    expect(r"arrival_slot.*-1", FixedTask, -1, 0, (0,))
    expect(r"work.*0", FixedTask, 0, 0, (0,), 0.0)
    tasks = (FixedTask(0, 0, (0,)), FixedTask(0, 1, (0,)))
    expect(r"num_tasks=3 but fixed_tasks has 2", WorkloadSpec, tt, (0.5, 0.5), 1.0, 3, fixed_tasks=tasks)
    bad_type = (FixedTask(0, 2, (0,)),)
    expect(r"fixed_tasks\[0\]\.type_idx=2", WorkloadSpec, tt, (0.5, 0.5), 1.0, 1, fixed_tasks=bad_type)
    unsorted = (FixedTask(3, 0, (0,)), FixedTask(1, 0, (0,)))
    expect(r"sorted by arrival_slot", WorkloadSpec, tt, (0.5, 0.5), 1.0, 2, fixed_tasks=unsorted)
    outside = (FixedTask(0, 0, (0, 3)),)
    expect(
        r"fixed_tasks\[0\]\.visible_to names clusters \[3\]",
        make_config,
        BASE,
        fixed_tasks=outside,
        num_tasks=1,
    )


def test_cluster_validation():
    expect(r"capacity", ClusterSpec, ())
    expect(r"capacity\[0\].*-4", ClusterSpec, (-4, 4))
    expect(r"speed_factor.*0", ClusterSpec, (4, 4), 0.0)
    expect(r"at least one cluster", EnvConfig, (), BASE.workload)


def test_clusters_given_as_capacities_or_mappings_become_specs():
    cfg = make_config(BASE, clusters=[[16, 16], (8, 8), {"capacity": [4, 4], "speed_factor": 2.0}])
    assert cfg.clusters == (ClusterSpec((16, 16)), ClusterSpec((8, 8)), ClusterSpec((4, 4), 2.0))
    expect(r"clusters\[0\] must be a ClusterSpec.*int 5", make_config, BASE, clusters=[5])
    expect(
        r"clusters\[1\]: a mapping needs 'capacity'.*\['cap'\]",
        make_config,
        BASE,
        clusters=[[4, 4], {"cap": 4}],
    )


def test_capacities_and_clusters_together_are_rejected():
    expect(
        r"either 'clusters' or 'capacities'", make_config, BASE, capacities=[(4, 4)], clusters=BASE.clusters
    )


def test_overrides_apply_and_configs_are_plain_data():
    cfg = make_config("tapfinger-hetero6", arrival_rate=4.0, reward="global", visibility="all", num_tasks=9)
    assert cfg.workload.arrival_rate == 4.0 and cfg.reward == "global"
    assert cfg.workload.visibility == "all" and cfg.workload.num_tasks == 9
    assert cfg.num_clusters == 6 and cfg.clusters[0].capacity == (4, 4)
    assert make_config(cfg) is cfg
    assert make_config(cfg, num_tasks=9) == cfg
    assert pickle.loads(pickle.dumps(cfg)) == cfg
    with pytest.raises(AttributeError):
        cfg.reward = "local"  # frozen
    # An env built from a config equals one built from the preset with the same overrides.
    env = edgesched_env.parallel_env(cfg)
    assert env.config == cfg
    cap = make_config("tapfinger-synthetic", capacities=[[8, 8], [4, 6]])
    assert [c.capacity for c in cap.clusters] == [(8, 8), (4, 6)]


@pytest.mark.parametrize("name", preset_names())
def test_presets_build_and_have_spec_invariants(name):
    cfg = PRESETS[name]()
    assert cfg == make_config(name)
    assert cfg.name == name
    assert abs(sum(cfg.workload.type_probs) - 1.0) < 1e-9
    assert cfg.max_running >= 1
    # Every cluster fits at least one task of some type, so every agent can act.
    for c in cfg.clusters:
        assert any(all(m <= u for m, u in zip(t.min_request, c.capacity)) for t in cfg.workload.task_types)


@pytest.mark.parametrize(
    ("name", "clusters", "caps", "rate", "tasks", "types", "minimum", "penalty"),
    [
        ("tapfinger-synthetic", 3, [(16, 16)] * 3, 2.0, 192, ("insensitive", "gpu-concave"), (2, 1), 0.5),
        ("tapfinger-synthetic6", 6, [(16, 16)] * 6, 3.0, 384, ("insensitive", "gpu-concave"), (2, 1), 0.5),
        (
            "tapfinger-hetero6",
            6,
            [(4, 4), (8, 8), (12, 12), (16, 16), (24, 24), (32, 32)],
            6.0,
            384,
            ("insensitive", "gpu-concave"),
            (2, 1),
            1.0,
        ),
        ("tapfinger-sjf", 3, [(16, 16)] * 3, 3.0, 192, ("sjf-short", "sjf-long"), (3, 3), 1.0),
    ],
)
def test_spec_section_11_table(name, clusters, caps, rate, tasks, types, minimum, penalty):
    cfg = make_config(name)
    assert cfg.num_clusters == clusters
    assert [c.capacity for c in cfg.clusters] == caps
    assert cfg.workload.arrival_rate == rate and cfg.workload.num_tasks == tasks
    assert tuple(t.name for t in cfg.workload.task_types) == types
    assert all(t.min_request == minimum for t in cfg.workload.task_types)
    assert all(t.switch_penalty == penalty for t in cfg.workload.task_types)
    assert cfg.workload.type_probs == (0.5, 0.5)
    assert cfg.num_levels == (17, 17) and cfg.max_pending == 10
    assert cfg.workload.visibility == "random-subset"
    assert cfg.resource_names == ("cpu", "gpu")
    # Defaults of SPEC sections 2 and 8.
    assert cfg.rounds_limit == clusters * 10 + 1
    assert cfg.slots_limit == 100 * math.ceil(tasks / rate)
    env = edgesched_env.parallel_env(name)
    assert env.possible_agents == [f"cluster_{i}" for i in range(clusters)]


def test_speed_model_resource_index_is_validated_against_the_resources():
    bad = TaskType("x", (2, 1), SyntheticSpeed(resource_idx=2))
    wl = replace(BASE.workload, task_types=(bad, BASE.workload.task_types[1]))
    with pytest.raises(ValueError, match=r"resource_idx"):
        cfg = replace(BASE, workload=wl)
        env = edgesched_env.parallel_env(cfg, num_tasks=4, visibility="all")
        obs, _ = env.reset(seed=0)
        rng = np.random.default_rng(0)
        for _ in range(10):
            obs, *_ = env.step(masked_random_policy(env, obs, rng))


def test_a_task_is_never_visible_only_to_clusters_that_cannot_host_it():
    # tapfinger-sjf needs (3, 3); cluster_0 has (2, 2). Either the config is rejected, or the
    # workload never makes a task visible only to cluster_0 (such a task could never be placed
    # and the episode could only end by truncation).
    try:
        env = edgesched_env.parallel_env(
            "tapfinger-sjf", capacities=[(2, 2), (16, 16), (16, 16)], num_tasks=60
        )
    except ValueError as exc:
        assert re.search(r"cluster|capacit", str(exc))
        return
    for seed in range(3):
        env.reset(seed=seed)
        v = env.view
        only_small = v.visible[:, 0] & ~v.visible[:, 1:].any(axis=1)
        assert not only_small.any(), f"{int(only_small.sum())} tasks can never be placed"


PROFILE = """task_type,cpu,gpu,mem,completion_time_s
resnet,2,1,2,1200
resnet,4,1,2,800
resnet,2,2,2,900
resnet,4,2,2,500
"""


def one_type_config(speed, resource_names=("cpu", "gpu")):
    """A one-type config over ``resource_names`` (16 units, 17 levels each) running ``speed``."""
    num_r = len(resource_names)
    wl = WorkloadSpec((TaskType("resnet", (1,) * num_r, speed),), (1.0,), arrival_rate=1.0, num_tasks=3)
    return EnvConfig(
        (ClusterSpec((16,) * num_r),), wl, resource_names=resource_names, num_levels=(17,) * num_r
    )


def profile_model(resource_names=("cpu", "gpu", "mem")):
    return load_profile(io.StringIO(PROFILE), resource_names=resource_names, name="prof.csv")["resnet"]


# (speed model, field named by the error) for every model class against a 2-resource config.
BAD_SPEED_INDICES = [
    (SyntheticSpeed(resource_idx=2), r"resource_idx=2"),
    (measured_model("resnet18-cifar10"), r"mem_idx=2"),  # default (cpu, gpu, mem) indices
    (measured_model("resnet18-cifar10", gpu_idx=2, mem_idx=None), r"gpu_idx=2"),
    (measured_model("resnet18-cifar10", cpu_idx=-1, mem_idx=None), r"cpu_idx=-1"),
    (profile_model(), r"resource_idx\[2\]=2"),  # the profile's mem column, the config has no mem
    (OptimusSpeed(1.0, 0.5, 0.1, 0.0, 0.0, gpu_idx=2), r"gpu_idx=2"),
    (OptimusSpeed(1.0, 0.5, 0.1, 0.0, 0.0, cpu_idx=5), r"cpu_idx=5"),
]


@pytest.mark.parametrize(
    ("speed", "field"), BAD_SPEED_INDICES, ids=[f"{type(m).__name__}-{f}" for m, f in BAD_SPEED_INDICES]
)
def test_every_speed_model_index_is_checked_when_the_config_is_built(speed, field):
    msg = expect(rf"TaskType\(resnet\)\.speed\.{field} names no resource", one_type_config, speed)
    assert "('cpu', 'gpu')" in msg and "valid: 0..1" in msg


def test_packaged_speed_models_report_their_resource_indices():
    assert SyntheticSpeed(bias=0.5).resource_indices() == {}
    assert SyntheticSpeed(resource_idx=1).resource_indices() == {"resource_idx": 1}
    assert measured_model("bert").resource_indices() == {"cpu_idx": 0, "gpu_idx": 1, "mem_idx": 2}
    assert measured_model("bert", mem_idx=None).resource_indices() == {"cpu_idx": 0, "gpu_idx": 1}
    assert profile_model().resource_indices() == {
        "resource_idx[0]": 0,
        "resource_idx[1]": 1,
        "resource_idx[2]": 2,
    }
    assert OptimusSpeed(1.0, 0.0, 0.0, 0.0, 0.0, cpu_idx=1, gpu_idx=0).resource_indices() == {
        "cpu_idx": 1,
        "gpu_idx": 0,
    }
    for m in (
        SyntheticSpeed(bias=0.5),
        measured_model("bert"),
        profile_model(),
        OptimusSpeed(1.0, 0, 0, 0, 0),
    ):
        assert isinstance(m, SpeedModel)


def test_models_with_indices_in_range_build():
    three = ("cpu", "gpu", "mem")
    assert one_type_config(measured_model("resnet18-cifar10"), three).num_resources == 3
    assert one_type_config(measured_model("resnet18-cifar10", mem_idx=None)).num_resources == 2
    assert one_type_config(profile_model(), three).num_resources == 3
    hand_built = ProfileSpeed("resnet", ((2.0,), (1.0,)), (0, 1), (0.01,))  # no names: indices only
    assert one_type_config(hand_built).num_resources == 2
    assert one_type_config(OptimusSpeed(1.0, 0.5, 0.1, 0.0, 0.0)).num_resources == 2


def test_profile_resources_are_checked_by_name():
    # Loaded for (gpu, cpu, mem) but run on (cpu, gpu, mem): the indices fit, the names do not.
    model = profile_model(("gpu", "cpu", "mem"))
    msg = expect(
        r"TaskType\(resnet\)\.speed\.resource_idx\[0\]=1 is resource 'gpu'.*measured 'cpu'",
        one_type_config,
        model,
        ("cpu", "gpu", "mem"),
    )
    assert "('cpu', 'gpu', 'mem')" in msg
    expect(r"resource_names=\('cpu',\).*one resource per axis \(3\)", replace, model, resource_names=("cpu",))


def test_user_speed_models_without_resource_indices_still_work():
    class Constant:
        def increment(self, alloc, progress, work, speed_factor):
            return np.full(progress.shape, 0.5) * speed_factor / work

    cfg = one_type_config(Constant())
    assert isinstance(cfg.workload.task_types[0].speed, Constant)

    class Indexed(Constant):
        def resource_indices(self):
            return {"accel": 7}

    msg = expect(r"TaskType\(resnet\)\.speed\.accel=7 names no resource", one_type_config, Indexed())
    assert "('cpu', 'gpu')" in msg


@pytest.mark.parametrize("name", preset_names())
def test_presets_build_with_speed_indices_in_range(name):
    cfg = make_config(name)
    for t in cfg.workload.task_types:
        assert all(0 <= r < cfg.num_resources for r in t.speed.resource_indices().values()), t.name


def test_profile_config_builds_and_rejects_mismatched_resources(tmp_path):
    path = tmp_path / "prof.csv"
    path.write_text(PROFILE)
    assert profile_config(path).num_resources == 3
    expect(  # every field that disagrees with the 2 resources is named, with the fix
        r"2 resources, but the min_request of task type\(s\) \['resnet'.* has 3 entries.*profile_config",
        replace,
        profile_config(path),
        resource_names=("cpu", "gpu"),
        num_levels=(17, 17),
        clusters=(ClusterSpec((24, 4)),) * 4,
    )
