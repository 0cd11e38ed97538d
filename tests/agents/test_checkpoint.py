"""Tests of agents.checkpoint: the pickle-free checkpoint directory format."""

from __future__ import annotations

import enum
import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors.torch
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import agents.checkpoint as ckpt_mod
import agents.checkpoint.validate as ckpt_validate
from agents.checkpoint import (
    FORMAT,
    FORMAT_VERSION,
    META_FILE,
    CheckpointCorruptedError,
    CheckpointError,
    CheckpointMismatchError,
    CheckpointNotFoundError,
    check_state_dict,
    flatten_state,
    json_safe,
    load_checkpoint,
    save_checkpoint,
    unflatten_state,
)
from agents.checkpoint.format import _sha256

CREATED = "2025-01-01T00:00:00+00:00"


def _model_sd() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "enc.weight": torch.randn(4, 3, generator=g),
        "enc.bias": torch.randn(4, generator=g),
        "counts": torch.arange(6, dtype=torch.int64).reshape(2, 3) - 3,
        "mask": torch.tensor([True, False, True]),
        "half": torch.randn(5, generator=g).to(torch.float16),
        "bf16": torch.randn(5, generator=g).to(torch.bfloat16),
        "scalar": torch.tensor(2.5, dtype=torch.float64),
        "empty": torch.zeros(0, 7),
    }


def _meta() -> dict[str, Any]:
    return {
        "model_config": {"hidden": 64, "heads": 4, "dropout": 0.1, "act": "relu"},
        "env_config": {"num_clusters": 3, "num_levels": [17, 17], "reward": "local", "max_slots": None},
        "feature_layout": {"task": {"speed": [0, 3], "remaining": [3, 4]}},
        "train_state": {"step": 1000, "episodes": 12, "best": -1.25, "done": False},
    }


def _bits(t: torch.Tensor) -> torch.Tensor:
    return t.contiguous().reshape(-1).view(torch.uint8)


def assert_tensors_identical(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert set(a) == set(b)
    for k in a:
        assert b[k].dtype == a[k].dtype, k
        assert b[k].shape == a[k].shape, k
        assert torch.equal(_bits(b[k]), _bits(a[k])), k


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    """A good checkpoint with groups "model" and "optimizer"."""
    return save_checkpoint(
        tmp_path / "ckpt",
        {"model": _model_sd(), "optimizer": {"lr": torch.tensor(0.001)}},
        _meta(),
        created=CREATED,
    )


def _doc(path: Path) -> dict[str, Any]:
    return json.loads((path / META_FILE).read_text())


def _write_doc(path: Path, doc: dict[str, Any]) -> None:
    (path / META_FILE).write_text(json.dumps(doc))


# ------------------------------------------------------------------------------------------ round trip
def test_round_trip_exact(saved: Path) -> None:
    ck = load_checkpoint(saved)
    assert set(ck.tensors) == {"model", "optimizer"}
    assert_tensors_identical(_model_sd(), ck.tensors["model"])
    assert_tensors_identical({"lr": torch.tensor(0.001)}, ck.tensors["optimizer"])
    assert ck.meta == _meta()
    assert ck.package_version == ckpt_mod.package_version()
    assert ck.created == CREATED
    assert ck.format_version == FORMAT_VERSION
    assert ck.path == saved
    assert ck.groups == ("model", "optimizer")
    assert sorted(p.name for p in saved.iterdir()) == [
        META_FILE,
        "model.safetensors",
        "optimizer.safetensors",
    ]


def test_metadata_file_records_files(saved: Path) -> None:
    doc = _doc(saved)
    assert doc["format"] == FORMAT and doc["format_version"] == 1
    assert doc["created"] == CREATED and doc["meta"] == _meta()
    for name, rec in doc["tensors"].items():
        file = saved / rec["file"]
        assert rec["file"] == f"{name}.safetensors"
        assert rec["bytes"] == file.stat().st_size
        assert rec["sha256"] == _sha256(file)


def test_same_inputs_give_identical_bytes(tmp_path: Path) -> None:
    a = save_checkpoint(tmp_path / "a", {"model": _model_sd()}, _meta(), created=CREATED)
    b = save_checkpoint(tmp_path / "b", {"model": _model_sd()}, _meta(), created=CREATED)
    for name in (META_FILE, "model.safetensors"):
        assert (a / name).read_bytes() == (b / name).read_bytes()


def test_default_created_is_iso_time(tmp_path: Path) -> None:
    from datetime import datetime

    ck = load_checkpoint(save_checkpoint(tmp_path / "c", {"model": {}}, {}))
    assert datetime.fromisoformat(ck.created).tzinfo is not None
    assert ck.tensors == {"model": {}}


def test_tensors_detached_contiguous_tied_and_on_cpu(tmp_path: Path) -> None:
    lin = torch.nn.Linear(3, 3)
    w = torch.randn(4, 6, requires_grad=True)
    sd = {
        "a.weight": lin.weight,  # a Parameter, requires grad
        "b.weight": lin.weight,  # tied: same storage
        "t": w.t(),  # non-contiguous
        "row": w.detach()[1],  # a view into a bigger storage
    }
    ck = load_checkpoint(save_checkpoint(tmp_path / "c", {"model": sd}, {}))
    out = ck.tensors["model"]
    for k, v in sd.items():
        assert torch.equal(out[k], v.detach()), k
        assert not out[k].requires_grad


def test_groups_selects_what_is_loaded(saved: Path) -> None:
    assert load_checkpoint(saved, groups=()).tensors == {}
    assert set(load_checkpoint(saved, groups=["model"]).tensors) == {"model"}
    with pytest.raises(CheckpointNotFoundError, match=r"no tensor group 'ema'.*'model', 'optimizer'"):
        load_checkpoint(saved, groups=["ema"])


def test_meta_goes_through_json_safe(tmp_path: Path) -> None:
    ck = load_checkpoint(
        save_checkpoint(tmp_path / "c", {}, {"s": slice(0, 3), "t": (1, 2), "p": Path("a/b")})
    )
    assert ck.meta == {"s": [0, 3], "t": [1, 2], "p": "a/b"}


@pytest.mark.parametrize(
    ("tensors", "exc", "match"),
    [
        ({"../evil": {}}, ValueError, "not allowed"),
        ({".hidden": {}}, ValueError, "not allowed"),
        ({"model": {"w": np.zeros(3)}}, TypeError, "not a torch.Tensor"),
        ({"model": {1: torch.zeros(1)}}, TypeError, "not a str"),
        ({"model": [torch.zeros(1)]}, TypeError, "must be a dict"),
    ],
)
def test_save_rejects_bad_tensors(tmp_path: Path, tensors: Any, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        save_checkpoint(tmp_path / "c", tensors, {})
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_to_replace_a_foreign_directory(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match=r"without checkpoint\.json"):
        save_checkpoint(tmp_path / "runs", {"model": _model_sd()}, {})
    assert (tmp_path / "runs" / "notes.txt").read_text() == "keep me"
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="not a checkpoint directory"):
        save_checkpoint(tmp_path / "file", {"model": _model_sd()}, {})
    (tmp_path / "empty").mkdir()
    save_checkpoint(tmp_path / "empty", {"model": _model_sd()}, {})
    assert load_checkpoint(tmp_path / "empty").groups == ("model",)


# ------------------------------------------------------------------------------------------- atomicity
def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_replace_existing_checkpoint(saved: Path) -> None:
    new_sd = {"w": torch.ones(2)}
    save_checkpoint(saved, {"model": new_sd}, {"v": 2}, created=CREATED)
    ck = load_checkpoint(saved)
    assert ck.groups == ("model",) and ck.meta == {"v": 2}
    assert_tensors_identical(new_sd, ck.tensors["model"])
    assert not (saved / "optimizer.safetensors").exists()
    assert _leftovers(saved.parent) == []


def test_failed_save_keeps_old_checkpoint(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = safetensors.torch.save_file
    calls = []

    def flaky(*args: Any, **kwargs: Any) -> None:
        calls.append(args[1])
        if len(calls) > 1:
            raise OSError("disk full (simulated)")
        real(*args, **kwargs)

    monkeypatch.setattr(safetensors.torch, "save_file", flaky)
    with pytest.raises(OSError, match="simulated"):
        save_checkpoint(saved, {"model": {"w": torch.ones(2)}, "optimizer": {"x": torch.ones(1)}}, {"v": 2})
    assert len(calls) == 2
    monkeypatch.undo()
    ck = load_checkpoint(saved)
    assert ck.meta == _meta()
    assert_tensors_identical(_model_sd(), ck.tensors["model"])
    assert _leftovers(saved.parent) == []


def test_failed_first_save_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("simulated")

    monkeypatch.setattr(safetensors.torch, "save_file", broken)
    with pytest.raises(OSError, match="simulated"):
        save_checkpoint(tmp_path / "c", {"model": _model_sd()}, {})
    assert list(tmp_path.iterdir()) == []


def test_failed_rename_restores_old_checkpoint(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.replace
    calls = []

    def flaky(src: Any, dst: Any) -> None:
        calls.append((Path(src).name, Path(dst).name))
        if len(calls) == 2:  # moving the new checkpoint in (after the old one went to the backup)
            raise OSError("simulated rename failure")
        real(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(OSError, match="simulated rename"):
        save_checkpoint(saved, {"model": {"w": torch.ones(2)}}, {"v": 2})
    monkeypatch.undo()
    assert calls[0][0] == "ckpt" and calls[0][1].startswith(".ckpt.old-")
    assert calls[2] == (calls[0][1], "ckpt")  # the backup renamed back
    assert load_checkpoint(saved).meta == _meta()
    assert _leftovers(saved.parent) == []


def test_not_found_points_to_backup_of_interrupted_save(saved: Path) -> None:
    backup = saved.with_name(".ckpt.old-0123456789ab")
    os.replace(saved, backup)
    with pytest.raises(CheckpointNotFoundError, match=r"\.ckpt\.old-0123456789ab.*rename it to ckpt"):
        load_checkpoint(saved)


# ----------------------------------------------------------------------------------------------- errors
def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(CheckpointNotFoundError, match="does not exist") as info:
        load_checkpoint(tmp_path / "nope")
    assert isinstance(info.value, FileNotFoundError)
    assert isinstance(info.value, CheckpointError) and isinstance(info.value, ValueError)
    assert info.value.path == tmp_path / "nope"
    assert str(tmp_path / "nope") in str(info.value)


def test_path_is_a_file(saved: Path) -> None:
    with pytest.raises(CheckpointNotFoundError, match="is a file; a checkpoint is a directory"):
        load_checkpoint(saved / "model.safetensors")


def test_missing_metadata_file(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(CheckpointNotFoundError, match=r"checkpoint\.json is missing.*not a checkpoint"):
        load_checkpoint(tmp_path / "d")


def test_missing_weights_file(saved: Path) -> None:
    (saved / "model.safetensors").unlink()
    with pytest.raises(CheckpointNotFoundError, match=r"model\.safetensors is missing.*'model'") as info:
        load_checkpoint(saved)
    assert info.value.path == saved / "model.safetensors"
    load_checkpoint(saved, groups=["optimizer"])  # the other group is still readable


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{not json", "is not valid JSON.*line 1 column 2"),
        ("[1, 2]", "JSON list, expected an object"),
        ("", "is not valid JSON"),
    ],
)
def test_garbage_json(saved: Path, text: str, match: str) -> None:
    (saved / META_FILE).write_text(text)
    with pytest.raises(CheckpointCorruptedError, match=match) as info:
        load_checkpoint(saved)
    assert str(saved / META_FILE) in str(info.value)


def test_non_utf8_json(saved: Path) -> None:
    (saved / META_FILE).write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CheckpointCorruptedError, match="not UTF-8"):
        load_checkpoint(saved)


def test_wrong_format_field(saved: Path) -> None:
    doc = _doc(saved)
    doc["format"] = "something-else"
    _write_doc(saved, doc)
    with pytest.raises(
        CheckpointCorruptedError, match="format 'something-else', expected 'edgesched-checkpoint'"
    ):
        load_checkpoint(saved)


@pytest.mark.parametrize(
    ("version", "match"),
    [(2, "format_version 2.*newer edgesched"), (0, "positive"), ("1", "positive integer")],
)
def test_bad_format_version(saved: Path, version: Any, match: str) -> None:
    doc = _doc(saved)
    doc["format_version"] = version
    _write_doc(saved, doc)
    with pytest.raises(CheckpointCorruptedError, match=match):
        load_checkpoint(saved)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda d: d.pop("tensors"), "field 'tensors' is missing"),
        (lambda d: d.update(meta=[]), "field 'meta' is a list"),
        (lambda d: d["tensors"]["model"].update(file="../model.safetensors"), "file name inside"),
        (lambda d: d["tensors"]["model"].update(bytes="12"), "bytes is '12'"),
        (lambda d: d["tensors"]["model"].update(sha256="abc"), "64 lowercase hex"),
    ],
)
def test_malformed_metadata(saved: Path, edit: Any, match: str) -> None:
    doc = _doc(saved)
    edit(doc)
    _write_doc(saved, doc)
    with pytest.raises(CheckpointCorruptedError, match=match):
        load_checkpoint(saved)


def test_truncated_weights_file(saved: Path) -> None:
    file = saved / "model.safetensors"
    data = file.read_bytes()
    file.write_bytes(data[:-10])
    with pytest.raises(CheckpointCorruptedError, match="truncated") as info:
        load_checkpoint(saved)
    msg = str(info.value)
    assert str(file) in msg and f"{len(data) - 10} bytes" in msg and str(len(data)) in msg


def test_appended_weights_file(saved: Path) -> None:
    file = saved / "model.safetensors"
    file.write_bytes(file.read_bytes() + b"\0")
    with pytest.raises(CheckpointCorruptedError, match="appended"):
        load_checkpoint(saved)


def test_flipped_byte_same_size(saved: Path) -> None:
    file = saved / "model.safetensors"
    data = bytearray(file.read_bytes())
    data[-1] ^= 0xFF
    file.write_bytes(bytes(data))
    with pytest.raises(CheckpointCorruptedError, match="sha256") as info:
        load_checkpoint(saved)
    assert "truncated" not in str(info.value) and str(file) in str(info.value)


def test_unparsable_weights_with_matching_hash(saved: Path) -> None:
    file = saved / "model.safetensors"
    file.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not a header}")
    doc = _doc(saved)
    doc["tensors"]["model"].update(bytes=file.stat().st_size, sha256=_sha256(file))
    _write_doc(saved, doc)
    with pytest.raises(CheckpointCorruptedError, match="could not be parsed as safetensors"):
        load_checkpoint(saved)


# ----------------------------------------------------------------------------------------------- expect
def test_expect_match_passes(saved: Path) -> None:
    meta = _meta()
    load_checkpoint(
        saved, expect={"env_config": meta["env_config"], "feature_layout": meta["feature_layout"]}
    )
    load_checkpoint(saved, expect={"env_config.num_clusters": 3, "env_config.num_levels": (17, 17)})
    load_checkpoint(
        saved,
        expect={
            "env_config.num_levels.1": 17,
            "feature_layout": {"task": {"speed": slice(0, 3), "remaining": slice(3, 4)}},
        },
    )


def test_expect_mismatch_names_key_and_both_values(saved: Path) -> None:
    env = dict(_meta()["env_config"], num_clusters=6)
    with pytest.raises(CheckpointMismatchError) as info:
        load_checkpoint(saved, expect={"env_config": env})
    msg = str(info.value)
    assert "env_config.num_clusters: checkpoint has 3, expected 6" in msg
    assert str(saved / META_FILE) in msg
    assert "num_levels" not in msg and "reward" not in msg


def test_expect_dotted_missing_and_extra_keys(saved: Path) -> None:
    with pytest.raises(
        CheckpointMismatchError, match=r"env_config\.reward: checkpoint has 'local', expected 'global'"
    ):
        load_checkpoint(saved, expect={"env_config.reward": "global"})
    with pytest.raises(
        CheckpointMismatchError, match=r"env_config\.topology: checkpoint has no such key, expected 1"
    ):
        load_checkpoint(saved, expect={"env_config.topology": 1})
    # a dict is compared completely: a feature only the checkpoint has is a difference too
    with pytest.raises(
        CheckpointMismatchError,
        match=r"feature_layout.task.remaining: checkpoint has \[3, 4\], "
        "expected no such key",
    ):
        load_checkpoint(saved, expect={"feature_layout": {"task": {"speed": slice(0, 3)}}})
    with pytest.raises(CheckpointMismatchError, match=r"num_levels\[1\]: checkpoint has 17, expected 9"):
        load_checkpoint(saved, expect={"env_config.num_levels": [17, 9]})
    with pytest.raises(
        CheckpointMismatchError, match=r"num_levels: checkpoint has \[17, 17\], expected \[17\]"
    ):
        load_checkpoint(saved, expect={"env_config.num_levels": [17]})
    with pytest.raises(CheckpointMismatchError, match="done: checkpoint has False, expected 0"):
        load_checkpoint(saved, expect={"train_state.done": 0})


def test_expect_reports_first_few(saved: Path) -> None:
    with pytest.raises(CheckpointMismatchError, match="and 3 more") as info:
        load_checkpoint(saved, expect={f"k{i}": i for i in range(8)})
    assert "k4" in str(info.value) and "k5" not in str(info.value)


def test_expect_checked_before_tensors_are_read(saved: Path) -> None:
    (saved / "model.safetensors").write_bytes(b"")
    with pytest.raises(CheckpointMismatchError):
        load_checkpoint(saved, expect={"env_config.num_clusters": 4})


# ----------------------------------------------------------------------------------------------- version
def _set_written_by(path: Path, version: str) -> None:
    doc = _doc(path)
    doc["package_version"] = version
    _write_doc(path, doc)


def test_version_policy(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # loading compares with the version agents.checkpoint.validate looks up
    monkeypatch.setattr(ckpt_validate, "package_version", lambda: "1.4.2")
    _set_written_by(saved, "1.4.0")  # same major.minor: silent
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_checkpoint(saved, strict_version=True).package_version == "1.4.0"
    _set_written_by(saved, "1.3.9")
    with pytest.warns(UserWarning, match=r"written by edgesched 1\.3\.9, this is edgesched 1\.4\.2"):
        ck = load_checkpoint(saved)
    assert_tensors_identical(_model_sd(), ck.tensors["model"])
    with pytest.raises(CheckpointMismatchError, match="strict_version=False"):
        load_checkpoint(saved, strict_version=True)
    _set_written_by(saved, "unknown")
    with pytest.warns(UserWarning, match="written by edgesched unknown"):
        load_checkpoint(saved, groups=())


# ------------------------------------------------------------------------------------- check_state_dict
def test_check_state_dict() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    sd = model.state_dict()
    check_state_dict(sd, sd)
    check_state_dict({k: tuple(v.shape) for k, v in sd.items()}, sd)
    check_state_dict({k: v.shape for k, v in sd.items()}, sd)

    missing = {k: v for k, v in sd.items() if k != "2.bias"}
    with pytest.raises(
        CheckpointMismatchError, match=r"missing keys \(in the model, not in the checkpoint\): \['2.bias'\]"
    ):
        check_state_dict(sd, missing, source="runs/x")
    extra = dict(sd, extra=torch.zeros(1))
    with pytest.raises(CheckpointMismatchError, match=r"unexpected keys .*\['extra'\]"):
        check_state_dict(sd, extra)
    shaped = dict(sd, **{"0.weight": torch.zeros(4, 5)})
    with pytest.raises(CheckpointMismatchError) as info:
        check_state_dict(sd, shaped, source="runs/x")
    msg = str(info.value)
    assert "0.weight: checkpoint (4, 5), model (4, 3)" in msg and "runs/x" in msg
    assert "missing" not in msg and "unexpected" not in msg


def test_check_state_dict_all_problems_at_once() -> None:
    want = {"a": (2,), "b": (3,), "c": (1, 1)}
    got = {"a": torch.zeros(2), "c": torch.zeros(1), "d": torch.zeros(1)}
    with pytest.raises(CheckpointMismatchError) as info:
        check_state_dict(want, got)
    msg = str(info.value)
    assert "['b']" in msg and "['d']" in msg and "c: checkpoint (1,), model (1, 1)" in msg


# ------------------------------------------------------------------------------------------- json_safe
class _Color(enum.Enum):
    RED = "red"


@dataclass(frozen=True)
class _Inner:
    sizes: tuple[int, ...]
    where: slice


@dataclass(frozen=True)
class _Outer:
    name: str
    inner: _Inner
    items: tuple[_Inner, ...]
    path: Path
    color: _Color
    extra: dict[int, float] | None = None


def test_json_safe_conversions() -> None:
    layout = {
        "task": {"speed": slice(0, 3), "strided": slice(0, 10, 2), "unit": slice(4, 5, 1)},
        "agent": slice(None, 2),
    }
    assert json_safe(layout) == {
        "task": {"speed": [0, 3], "strided": [0, 10, 2], "unit": [4, 5]},
        "agent": [None, 2],
    }
    outer = _Outer(
        "x", _Inner((1, 2), slice(1, 2)), (_Inner((), slice(0, 0)),), Path("a") / "b", _Color.RED, {1: 0.5}
    )
    assert json_safe(outer) == {
        "name": "x",
        "inner": {"sizes": [1, 2], "where": [1, 2]},
        "items": [{"sizes": [], "where": [0, 0]}],
        "path": "a/b",
        "color": "red",
        "extra": {"1": 0.5},
    }
    assert json_safe(
        {np.int64(3): np.float32(0.25), "b": np.bool_(True), "a": np.arange(3), "s": {3, 1}}
    ) == {
        "3": 0.25,
        "b": True,
        "a": [0, 1, 2],
        "s": [1, 3],
    }
    out = json_safe({"i": np.int32(7), "f": np.float64(1.5), True: None, None: 1})
    assert out == {"i": 7, "f": 1.5, "true": None, "null": 1}
    assert type(out["i"]) is int and type(out["f"]) is float


def test_json_safe_is_json_fixed_point() -> None:
    value = json_safe({"a": (1, 2.5, "x", None, True), "b": {"c": slice(2, 9)}, "n": np.float32(0.1)})
    assert json.loads(json.dumps(value)) == value


@pytest.mark.parametrize(
    ("obj", "match"),
    [
        ({"w": torch.zeros(2)}, "torch.Tensor at w.*tensor group"),
        ({"a": [1, object()]}, r"object at a\[1\]"),
        ({(1, 2): 3}, "not a JSON key"),
        (np.array(["a"]), "dtype <U1"),
    ],
)
def test_json_safe_rejects(obj: Any, match: str) -> None:
    with pytest.raises(TypeError, match=match):
        json_safe(obj)


def test_json_safe_of_real_env_config_round_trips(tmp_path: Path) -> None:
    from edgesched_env import make_config

    config = make_config()
    stored = json_safe(config)
    assert stored == json_safe(make_config())
    path = save_checkpoint(tmp_path / "c", {}, {"env_config": config}, created=CREATED)
    assert load_checkpoint(path, expect={"env_config": make_config()}).meta["env_config"] == stored
    other = make_config(max_pending=config.max_pending + 1)
    with pytest.raises(
        CheckpointMismatchError, match=f"env_config.max_pending: checkpoint has {config.max_pending}"
    ):
        load_checkpoint(path, expect={"env_config": other})


# --------------------------------------------------------------------------------- flatten/unflatten
def test_optimizer_state_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.9))
    model(torch.randn(5, 3)).sum().backward()
    opt.step()
    flat, skeleton = flatten_state(opt.state_dict())
    assert all(isinstance(v, torch.Tensor) for v in flat.values())
    path = save_checkpoint(
        tmp_path / "c", {"model": model.state_dict(), "optimizer": flat}, {"optimizer": skeleton}
    )
    ck = load_checkpoint(path)
    restored = unflatten_state(ck.tensors["optimizer"], ck.meta["optimizer"])
    original = opt.state_dict()
    assert restored["param_groups"] == original["param_groups"]
    assert restored["param_groups"][0]["betas"] == (0.8, 0.9)
    assert set(restored["state"]) == set(original["state"]) == {0, 1}
    for i, st_ in original["state"].items():
        assert_tensors_identical(st_, restored["state"][i])

    model2 = torch.nn.Linear(3, 2)
    model2.load_state_dict(ck.tensors["model"])
    opt2 = torch.optim.Adam(model2.parameters(), lr=0.5)
    opt2.load_state_dict(restored)
    assert opt2.param_groups[0]["lr"] == 0.01
    assert torch.equal(opt2.state[model2.weight]["exp_avg"], opt.state[model.weight]["exp_avg"])


def test_flatten_state_edge_cases() -> None:
    t = torch.ones(1)
    state = {"__tensor__": "x", "l": [t, t], "n": {None: 1, 2.5: (t,)}}
    flat, skeleton = flatten_state(state)
    assert json.loads(json.dumps(skeleton)) == skeleton
    assert len(flat) == 3
    back = unflatten_state(flat, skeleton)
    assert back["__tensor__"] == "x" and back["l"][0] is t and back["n"][2.5] == (t,) and back["n"][None] == 1
    with pytest.raises(CheckpointMismatchError, match="lacks"):
        unflatten_state({}, skeleton)
    with pytest.raises(TypeError, match="neither a tensor"):
        flatten_state({"x": object()})


# ------------------------------------------------------------------------------------------ property
_DTYPES = [
    torch.float32,
    torch.float64,
    torch.float16,
    torch.bfloat16,
    torch.int64,
    torch.int32,
    torch.uint8,
    torch.bool,
]


@st.composite
def _tensor(draw: st.DrawFn) -> torch.Tensor:
    dtype = draw(st.sampled_from(_DTYPES))
    shape = tuple(draw(st.lists(st.integers(0, 3), max_size=3)))
    n = int(np.prod(shape)) if shape else 1
    raw = draw(st.binary(min_size=n * 8, max_size=n * 8))
    base = torch.frombuffer(bytearray(raw), dtype=torch.uint8) if raw else torch.zeros(0, dtype=torch.uint8)
    size = torch.empty((), dtype=dtype).element_size()
    t = base[: n * size].view(dtype) if dtype is not torch.bool else base[:n] % 2 == 1
    return t.reshape(shape).clone()


@settings(max_examples=25)
@given(
    st.dictionaries(
        st.sampled_from(["model", "optimizer", "ema", "critic"]),
        st.dictionaries(st.text("abc._/0", min_size=1, max_size=6), _tensor(), max_size=4),
        max_size=3,
    )
)
def test_random_tensor_groups_round_trip(groups: dict[str, dict[str, torch.Tensor]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = save_checkpoint(Path(tmp) / "c", groups, {"n": len(groups)})
        ck = load_checkpoint(path)
    assert set(ck.tensors) == set(groups)
    for name, group in groups.items():
        assert_tensors_identical(group, ck.tensors[name])
