"""Real profiling data loads as a lab has it (issue 12): no header -> a named error listing the
columns, extra columns ignored on request, repeated measurements merged, a fixed start-up overhead,
resources / levels / capacities inferred from the file, unreachable points warned about, and the
command-line route ``--profile FILE``."""

from __future__ import annotations

import itertools
import json
import warnings

import pytest

from agents.cli import main
from agents.mappo.config import TrainConfig
from agents.mappo.trainer import env_config_for
from edgesched_env.presets import make_config, profile_config
from edgesched_env.workload.profile import load_profile
from edgesched_env.workload.tables import DataFormatError


def _lab_csv(path, *, header=True, repeats=2, gpus=(0, 1, 2, 4, 8)):
    rows = ["task_type,cpu,gpu,completion_time_s,epoch1_s,notes"] if header else []
    for t, base in (("resnet", 3000.0), ("bert", 6000.0)):
        for c, g in itertools.product((2, 4, 8), gpus):
            for rep in range(repeats):
                s = base / (1 + 0.3 * c) / (1 + g) * (1 + 0.1 * rep)
                rows.append(f"{t},{c},{g},{s:.1f},{s / 10:.1f},run{rep}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_headerless_file_says_a_header_is_missing_and_which_columns(tmp_path):
    path = _lab_csv(tmp_path / "lab.csv", header=False)
    with pytest.raises(DataFormatError, match=r"lab\.csv, line 1: no header line.*task_type, cpu, gpu"):
        load_profile(path)


def test_extra_columns_are_an_error_or_ignored_with_a_warning(tmp_path):
    path = _lab_csv(tmp_path / "lab.csv", repeats=1)
    with pytest.raises(DataFormatError, match=r"column 'epoch1_s': unknown column"):
        load_profile(path)
    with pytest.warns(UserWarning, match=r"ignored columns \['epoch1_s', 'notes'\]"):
        models = load_profile(path, extra_columns="ignore")
    assert set(models) == {"resnet", "bert"}


@pytest.mark.parametrize("how", ["mean", "median", "last"])
def test_repeated_measurements_are_merged_and_counted(tmp_path, how):
    path = _lab_csv(tmp_path / "lab.csv", repeats=2)
    with pytest.raises(DataFormatError, match=r"duplicate key resnet.*pass repeats='mean'"):
        load_profile(path, extra_columns="ignore")
    with pytest.warns(UserWarning, match=r"merged 60 rows measuring the same allocation into 30 points"):
        m = load_profile(path, extra_columns="ignore", repeats=how)["resnet"]
    first = 3000.0 / (1 + 0.3 * 2)  # resnet at cpu 2, gpu 0: two runs, the second 10% slower
    runs = [float(f"{first:.1f}"), float(f"{first * 1.1:.1f}")]
    t = runs[-1] if how == "last" else (runs[0] + runs[1]) / 2  # mean = median of two
    assert m.rate([[2, 0, 0]])[0] == pytest.approx(1.0 / t)


def test_a_fixed_overhead_is_added_to_every_run(tmp_path):
    path = _lab_csv(tmp_path / "lab.csv", repeats=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = load_profile(path, extra_columns="ignore")["bert"]
        slow = load_profile(path, extra_columns="ignore", overhead_s=120.0)["bert"]
    for a in ([2, 0, 0], [8, 8, 0]):
        assert 1.0 / slow.rate([a])[0] == pytest.approx(1.0 / plain.rate([a])[0] + 120.0)
    with pytest.raises(ValueError, match=r"overhead_s=.*>= 0, got -1"):
        load_profile(path, extra_columns="ignore", overhead_s=-1)


def test_defaults_come_from_the_file_and_zero_gpu_points_keep_a_zero_minimum(tmp_path):
    path = _lab_csv(tmp_path / "lab.csv", repeats=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cfg = profile_config(path, extra_columns="ignore")
    assert not [w for w in caught if "can be given" in str(w.message)]  # all reachable by default
    assert cfg.resource_names == ("cpu", "gpu")  # no mem column -> no mem resource
    assert cfg.num_levels == (9, 9)  # largest measured 8 cpu, 8 gpu -> levels 0..8
    assert cfg.clusters[0].capacity == (16, 16) and cfg.num_clusters == 4
    assert {t.min_request for t in cfg.workload.task_types} == {(2, 0)}  # measured at 0 gpu: 0, not 1


def test_points_the_config_cannot_reach_are_warned_about(tmp_path):
    path = _lab_csv(tmp_path / "lab.csv", repeats=1)
    with pytest.warns(UserWarning, match=r"measured at 8 gpu units, but at most 4 can be given"):
        profile_config(path, extra_columns="ignore", capacities=((16, 4),) * 2)


def test_slot_seconds_and_switch_penalty_are_ordinary_overrides(tmp_path):
    path = _lab_csv(tmp_path / "lab.csv", repeats=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = profile_config(path, extra_columns="ignore")
    over = make_config(cfg, slot_seconds=30.0, switch_penalty=0.5)
    assert {t.speed.slot_seconds for t in over.workload.task_types} == {30.0}
    assert {t.switch_penalty for t in over.workload.task_types} == {0.5}
    for bad in (float("nan"), float("inf"), 0.0, "60"):
        with pytest.raises(ValueError, match="slot_seconds must be a finite number of seconds > 0"):
            make_config(cfg, slot_seconds=bad)
    with pytest.raises(ValueError, match="slot_seconds applies to measured-profile speed models"):
        make_config("tapfinger-synthetic", slot_seconds=30.0)
    with pytest.raises(ValueError, match=r"switch_penalty"):
        make_config(cfg, switch_penalty=2.0)


def test_not_utf8_names_the_file_and_line(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("task_type,cpu,gpu,completion_time_s\nr\xe9snet,1,1,10\n".encode("latin-1"))
    with pytest.raises(DataFormatError, match=r"latin1\.csv, line 2: not UTF-8 text \(byte 0xe9"):
        load_profile(path)


def test_the_command_line_route(tmp_path, capsys):
    path = _lab_csv(tmp_path / "lab.csv", repeats=2)
    args = [
        "--profile",
        str(path),
        "--profile-opt",
        "extra_columns=ignore",
        "--profile-opt",
        "repeats=median",
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["run", *args, "--set", "num_tasks=8", "--scheduler", "srtf", "--json"]) == 0
        m = json.loads(capsys.readouterr().out)
        assert m["tasks_completed"] == 8
        assert main(["run", *args, "--set", "num_tasks=8", "--scheduler", "srtf"]) == 0
        text = capsys.readouterr().out
        assert "preset profile:lab.csv" in text
        for line in text.splitlines()[1:]:  # rounded for reading: no 17-digit floats
            assert len(line.split()[-1]) < 14 or "[" in line or "{" in line, line
        out = tmp_path / "bench"
        bench = ["bench", *args, "--schedulers", "srtf,min", "--seeds", "1", "--set", "num_tasks=8"]
        assert main([*bench, "--out", str(out), "--no-plots", "--no-progress"]) == 0
        recs = json.loads((out / "results.json").read_text())
        assert {r["preset"] for r in recs} == {"profile:lab.csv"}
    assert main(["run", "--profile", str(path), "--profile-opt", "nope=1"]) == 2
    assert "unknown --profile-opt ['nope']" in capsys.readouterr().err
    assert main(["run", "--profile-opt", "repeats=mean"]) == 2


def test_training_on_a_profile(tmp_path):
    path = _lab_csv(tmp_path / "lab.csv", repeats=1)
    cfg = TrainConfig(
        profile=str(path),
        profile_options={"extra_columns": "ignore"},
        env_overrides={"num_tasks": 9},
        total_rounds=64,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env_cfg = env_config_for(cfg)
    assert env_cfg.name == "profile:lab.csv" and env_cfg.workload.num_tasks == 9
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match=r"profile_options needs TrainConfig\.profile"):
        env_config_for(TrainConfig(profile_options={"repeats": "mean"}, total_rounds=64))
