"""Every value-taking option of every ``edgesched`` subcommand: a bad value exits 2 with a message
naming the option, before any work (nothing written) - issue 12's systematic pass over the CLI.

The cases are read from the parser itself, so a new typed option is covered when it is added."""

from __future__ import annotations

import argparse

import pytest

from agents.cli import build_parser, main

FAST = ["--preset", "tapfinger-synthetic", "--set", "num_tasks=2"]
#: a valid command line per subcommand, to which one bad option is appended
BASE = {
    "run": ["run", *FAST],
    "bench": ["bench", *FAST, "--schedulers", "srtf", "--seeds", "1", "--no-plots", "--no-progress"],
    "train": ["train", *FAST, "--rounds", "10", "--arch", "tiny", "--no-progress"],
    "eval": ["eval", "--seeds", "1", "--no-plots", "--no-progress"],
}
#: values no typed option accepts (every count is >= 0 or >= 1, every float finite and > 0)
TYPED_BAD = ["x", "", "-5", "nan", "inf", "1.5"]
#: values no name-valued option accepts, and malformed KEY=VALUE
NAME_BAD = {"--preset": "nope", "--scheduler": "nope", "--schedulers": ",", "--vs": "nope", "--arch": "huge"}
PAIR_BAD = ["novalue", "=3"]


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _cases() -> list[tuple[str, str, str]]:
    cases = []
    for cmd, p in _subparsers().items():
        if cmd not in BASE:
            continue
        for action in p._actions:
            if not action.option_strings or action.nargs == 0:
                continue
            opt = action.option_strings[0]
            if action.type is not None:
                integer = getattr(action.type, "__name__", "") != "_positive_minutes"
                cases += [(cmd, opt, v) for v in TYPED_BAD if integer or v != "1.5"]
            elif action.choices is not None:
                cases.append((cmd, opt, "bogus"))
            elif action.metavar == "KEY=VALUE":
                cases += [(cmd, opt, v) for v in PAIR_BAD]
            elif opt in NAME_BAD and cmd != "eval":
                cases.append((cmd, opt, NAME_BAD[opt]))
    return cases


CASES = _cases()


def test_the_cases_cover_every_typed_option():
    typed = {(c, o) for c, o, v in CASES if v == "x"}
    assert {("bench", "--seeds"), ("bench", "--workers"), ("train", "--budget-minutes")} <= typed
    assert {("run", "--seed"), ("eval", "--seeds"), ("eval", "--seed-start"), ("train", "--threads")} <= typed
    pairs = {(c, o) for c, o, _ in CASES}
    assert {("bench", "--set"), ("train", "--model-set"), ("train", "--train-set")} <= pairs


@pytest.mark.parametrize(("cmd", "opt", "value"), CASES, ids=[f"{c}{o}={v!r}" for c, o, v in CASES])
def test_a_bad_value_names_its_option_and_does_nothing(cmd, opt, value, tmp_path, capsys):
    out = tmp_path / "out"
    argv = list(BASE[cmd])
    if cmd in ("bench", "train", "eval"):
        argv += ["--out", str(out)]
    if cmd == "eval":
        argv += ["--checkpoint", str(tmp_path / "ckpt")]
    if opt == "--budget-minutes":
        argv = [a for a in argv if a not in ("--rounds", "10")]
    argv += [f"{opt}={value}"]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert opt in err or opt.lstrip("-").replace("-", "_") in err, err
    assert "Traceback" not in err
    assert not out.exists()  # nothing was run or written
