"""Property: any malformed trace or profile file, whatever its bytes, either loads or raises a
``ValueError`` (``DataFormatError`` for format faults) that names the file - never an
``IndexError``, ``KeyError``, ``UnicodeDecodeError``, numpy warning or the like (issue 12's pass
over every loader). Mutations of a valid file cover the near misses people make."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgesched_env.presets import profile_config
from edgesched_env.workload.profile import load_profile
from edgesched_env.workload.traces import TraceReplay, load_trace

TRACE = "submit_s,duration_s,num_gpus,cluster\n0,600,1,a\n60,1200,2,b\n120,300,1,a\n"
PROFILE = "task_type,cpu,gpu,mem,completion_time_s\nresnet,2,1,2,1200\nresnet,4,1,2,800\nbert,2,2,2,900\n"

#: examples per property (``EDGESCHED_FUZZ_EXAMPLES=3000`` for a long local run)
EXAMPLES = int(os.environ.get("EDGESCHED_FUZZ_EXAMPLES", "150"))
JUNK = ["", ",", "\n", "nan", "-1", "1e400", "x", '"', "\x00", "\xff", "0", ";", "inf", "1e300", "\r\n"]


@st.composite
def mutated(draw: st.DrawFn, text: str) -> bytes:
    """``text`` with a few random edits (insert junk, delete a span, duplicate a line, truncate),
    or raw random bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    s = text
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["insert", "delete", "dup", "truncate", "replace"]))
        i = draw(st.integers(0, len(s)))
        if op == "insert":
            s = s[:i] + draw(st.sampled_from(JUNK)) + s[i:]
        elif op == "delete":
            s = s[:i] + s[i + draw(st.integers(1, 8)) :]
        elif op == "dup":
            lines = s.split("\n")
            k = draw(st.integers(0, max(len(lines) - 1, 0)))
            s = "\n".join(lines[: k + 1] + lines[k:])
        elif op == "truncate":
            s = s[:i]
        else:  # a field replaced by junk
            fields = s.split(",")
            k = draw(st.integers(0, len(fields) - 1))
            fields[k] = draw(st.sampled_from(JUNK))
            s = ",".join(fields)
    return s.encode("utf-8", errors="surrogatepass") if s.isascii() else s.encode("latin-1", errors="replace")


def _check(exc: BaseException, name: str) -> None:
    assert isinstance(exc, ValueError), f"{type(exc).__name__}: {exc}"
    assert name in str(exc), str(exc)


def _load_trace(path):
    jobs = load_trace(str(path))
    tr = TraceReplay(str(path))
    n = int(jobs.submit_s.shape[0])
    if n:
        slots = tr.arrival_slots(tr.jobs(n))
        assert (np.diff(slots) >= 0).all() and (slots >= 0).all()


def _load_profile(path):
    assert load_profile(path)
    profile_config(path)


@pytest.mark.parametrize(
    ("good", "load", "name"),
    [(TRACE, _load_trace, "mytrace.csv"), (PROFILE, _load_profile, "myprofile.csv")],
    ids=["trace", "profile"],
)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_file_loads_or_names_itself(good, load, name, data, tmp_path):
    path = tmp_path / name
    path.write_bytes(data.draw(mutated(good)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the loaders' own notes (ignored columns, ...)
        warnings.simplefilter("error", RuntimeWarning)  # no silent numpy overflow / invalid casts
        try:
            load(path)
        except Exception as exc:  # the property is about which exceptions
            _check(exc, name)
