"""PettingZoo's ``parallel_api_test``/``api_test`` and Gymnasium's ``check_env`` raise no warning
from the package's own code (the checkers' own advice, e.g. about infinite Box bounds, is theirs)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import gymnasium
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import api_test, parallel_api_test

import edgesched_env

ROOT = Path(edgesched_env.__file__).resolve().parents[1]
OWN = (ROOT / "edgesched_env", ROOT / "agents")


def _own(w: warnings.WarningMessage) -> bool:
    path = Path(w.filename).resolve()
    return any(path.is_relative_to(d) for d in OWN)


def _run_recording(fn: Callable[[], object]) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return list(caught)


CHECKS = {
    "parallel_api_test": lambda: parallel_api_test(
        edgesched_env.parallel_env("tapfinger-synthetic", num_tasks=10), num_cycles=300
    ),
    "api_test": lambda: api_test(edgesched_env.env("tapfinger-synthetic", num_tasks=10), num_cycles=300),
    "check_env": lambda: check_env(
        gymnasium.make("edgesched/EdgeSchedCentral-v1", num_tasks=10, render_mode="rgb_array").unwrapped
    ),
}


@pytest.mark.parametrize("name", CHECKS)
def test_checkers_see_no_warning_from_the_package(name: str) -> None:
    caught = _run_recording(CHECKS[name])
    own = [f"{w.filename}:{w.lineno}: {w.message}" for w in caught if _own(w)]
    assert not own, "\n".join(own)
    # nor one the package issued on behalf of the checker's call (stacklevel > 1)
    ours = [
        str(w.message) for w in caught if "reset(options" in str(w.message) or "edgesched" in str(w.message)
    ]
    assert not ours, ours


def test_the_recorder_sees_a_package_warning() -> None:
    """The check above can fail: a warning issued in the package's files is recorded as own."""

    def warn_from_package() -> None:
        code = compile(
            "import warnings; warnings.warn('x', UserWarning, stacklevel=1)", str(OWN[0] / "f.py"), "exec"
        )
        exec(code, {})

    assert any(_own(w) for w in _run_recording(warn_from_package))
