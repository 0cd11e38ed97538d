"""Environment speed: the batched vector env, the single PettingZoo env and the v0 code, in one run.

Every figure is measured in this run and every ratio is between figures of this run (the machine is
noisy; nothing is hard-coded). Sections (``--sections``, default all, printed in this order):

* ``vector``: the vector env (``edgesched_env.vector_env``) on tapfinger-synthetic at E = 1, 16,
  64, 256, 1024 episodes (1, 16, 64 with ``--quick``), actions from the batched random feasible
  policy (``edgesched_env.random_feasible_actions`` through ``venv.random_actions``, which passes
  the number of picks of the mode; note that it takes the no-op as one more uniform choice, where
  the single env's ``random`` scheduler no-ops only when nothing fits, so the episodes differ).
  ``rounds/s`` is the aggregate number of decision rounds per second counting only the time inside
  ``venv.step(actions)`` (which builds all observations and restarts ended episodes); the steps
  that only restart an ended episode (autoreset, gymnasium's next-step convention) cost time but
  are not counted as rounds. After
  the first reset+step (reported apart: it compiles the numba kernels, or loads them from numba's
  on-disk cache when an earlier run left one: the header says which) and a warm-up block, the
  number of batched steps per E is fixed from the warm-up's speed (about 2 s per E, less with
  ``--quick``), split into ``--repeats`` blocks; the figure is the median over blocks. The policy
  is timed apart (``policy us/step``, per batched step). The ratios divide by the single env's
  rounds/s on the same preset and overrides (new code and v0 code).
* ``single``: the single env (``edgesched_env.parallel_env``), whole episodes of every preset with
  the ``random`` scheduler of ``agents.baselines``, ``env.step`` time only; median over
  ``--repeats`` episodes (seeds 0..repeats-1) after a warm-up episode (``--quick``: one per
  worker, not per preset), new code vs v0 code; ``same episodes`` says whether both codes played
  the same number of rounds and slots on every seed (a check that the comparison is like for like).
* ``presets``: every preset in the vector env at E = 256 (16 with ``--quick``): aggregate rounds/s
  and the memory per episode of the batch: ``KiB/episode`` is ``venv.memory_bytes() / E`` (the
  simulation state), ``obs KiB/episode`` the arrays of one step's observation divided by E.
* ``versus`` (only when asked for: not in the default set): the numbers of issue 23, new code
  against the v0 code in one run, every figure from worker processes (both sides alike). The
  single env: whole episodes of the default preset and the synthetic presets
  (:data:`VERSUS_PRESETS`) with the ``random`` scheduler, seeds 0..repeats-1, the two codes
  alternating seed by seed; ``episodes/s`` counts ``env.reset`` + ``env.step`` time (wall) of those
  episodes, and ``new / v0`` is the median over seeds of the paired ratio (wall and CPU time,
  ``time.process_time``). The vector env on tapfinger-synthetic at E = 256: ``--repeats`` blocks
  of the same number of batched steps per code, alternating, actions from ``venv.random_actions``
  (the same generator seed on both sides, so both play the same episodes: checked by
  ``same episodes``, rounds and reward sums equal); ``rounds/s`` counts ``venv.step`` time only.
* ``scaling``: tapfinger-synthetic with N = 3, 6, 12, 24, 48 clusters of (16, 16), arrival rate
  2N/3 per slot and 64N tasks (10N with ``--quick``): us per round (for the vector env at E = 64,
  per episode-round: 1 / aggregate rounds/s), that divided by N x P (P pending slots per cluster)
  and its ratio to N = 3 (flat or falling: the cost grows no faster than clusters x pending).

The single env runs in worker processes (``benchmarks/_v0_worker.py``), one per code version, each
with ``PYTHONPATH`` set to its checkout and started there, so that ``import edgesched_env`` in the
v0 worker resolves to the v0 checkout (checked: the worker reports where every loaded
``edgesched_env``/``agents`` module came from). Episodes alternate between the two workers, seed by
seed, so that slow phases of a noisy machine hit both. The vector env runs in this process.
Tables go to stdout as markdown; progress goes to stderr; ``--json PATH`` writes every figure,
with the raw per-episode and per-block timings and the run's metadata.

Usage::

    python benchmarks/env_speed.py                          # everything (several minutes)
    python benchmarks/env_speed.py --quick                  # smoke run, well under a minute
    python benchmarks/env_speed.py --sections vector,single --repeats 7 --json speed.json
    python benchmarks/env_speed.py --v0 ../edgesched-v0     # a v0 checkout; --v0 none skips it
    python benchmarks/env_speed.py --sections versus --v0 553c5ed --repeats 11 \
        --json benchmarks/results/env_speed_v0.json          # issue 23's numbers against 0.3.6

``--v0`` takes a checkout's path or a git ref of this repository (a commit, tag or branch): a ref
is exported (``git archive``) once to ``$TMPDIR/edgesched-v0-<commit>`` and reused from there.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # measure the checkout this script is in, whatever is installed
    sys.path.insert(0, str(ROOT))

_NUMBA_DIR = os.environ.get("NUMBA_CACHE_DIR")  # numba's on-disk cache, counted before the import
_NUMBA_CACHE = Path(_NUMBA_DIR) if _NUMBA_DIR else ROOT / "edgesched_env"
NUMBA_CACHE_FILES = len(list(_NUMBA_CACHE.glob("**/*.nbi")))
_T_IMPORT = time.perf_counter()
import edgesched_env  # noqa: E402
from edgesched_env.presets import DEFAULT_PRESET, make_config, preset_names  # noqa: E402

IMPORT_S = time.perf_counter() - _T_IMPORT

WORKER = Path(__file__).resolve().with_name("_v0_worker.py")
DEFAULT_V0 = Path("/work/v0")
SECTIONS = ("vector", "single", "presets", "versus", "scaling")
DEFAULT_SECTIONS = ("vector", "single", "presets", "scaling")
#: the single-env presets of the ``versus`` section: the default preset and the synthetic ones
VERSUS_PRESETS = (
    DEFAULT_PRESET,
    "tapfinger-synthetic",
    "tapfinger-synthetic6",
    "tapfinger-hetero6",
    "tapfinger-sjf",
)
VERSUS_NUM_ENVS = 256
V0_MARKER = ".edgesched-v0-commit"  # in a checkout exported from a git ref: the full commit id
VECTOR_PRESET = "tapfinger-synthetic"
SCALING_N = (3, 6, 12, 24, 48)
NEW, V0 = "new", "v0"
WARMUP_CAP_S = 60.0  # the most env time the first vector env's warm-up spends waiting for an autoreset

Overrides = dict[str, Any]


@dataclass(frozen=True)
class Settings:
    """Sizes and time budgets of one run (``--quick`` shrinks them)."""

    quick: bool
    repeats: int
    overrides: Overrides
    vector_sizes: tuple[int, ...]
    vector_target_s: float
    presets_num_envs: int
    presets_target_s: float
    scaling_num_envs: int
    scaling_target_s: float
    scaling_tasks_per_cluster: int
    warmup_s: float
    min_steps: int = 3

    @classmethod
    def make(cls, quick: bool, repeats: int) -> Settings:
        """Full run or ``--quick`` smoke run."""
        if quick:
            return cls(True, 2, {"num_tasks": 60}, (1, 16, 64), 0.25, 16, 0.15, 64, 0.15, 10, 0.05)
        return cls(False, repeats, {}, (1, 16, 64, 256, 1024), 2.0, 256, 1.0, 64, 1.0, 64, 0.3)


# ------------------------------------------------------------------------------------ output
def log(msg: str) -> None:
    """Progress line on stderr (stdout holds only the report)."""
    print(msg, file=sys.stderr, flush=True)


def fmt(value: float | None, spec: str, suffix: str = "") -> str:
    """``format(value, spec)`` or ``n/a``."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return format(value, spec) + suffix


def ratio(num: float | None, den: float | None) -> float | None:
    """``num / den`` or None when either is missing."""
    if num is None or den is None or den == 0:
        return None
    return num / den


def md_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1, skip: Sequence[str] = ()
) -> str:
    """A padded markdown table; the first ``left`` columns are left-aligned, the rest right-aligned;
    the columns named in ``skip`` are left out."""
    keep = [i for i, h in enumerate(headers) if h not in skip]
    left = sum(1 for i in keep if i < left)
    headers = [headers[i] for i in keep]
    rows = [[r[i] for i in keep] for r in rows]
    widths = [max(3, len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        out = [c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "| " + " | ".join(out) + " |"

    rule = ["-" * w if i < left else "-" * (w - 1) + ":" for i, w in enumerate(widths)]
    return "\n".join([line(headers), "| " + " | ".join(rule) + " |", *(line(r) for r in rows)])


def describe(overrides: Overrides) -> str:
    """Short text for a set of overrides."""
    return ", ".join(f"{k}={v}" for k, v in overrides.items()) if overrides else "preset defaults"


# ------------------------------------------------------------------------- single env (workers)
class Worker:
    """A ``_v0_worker.py --serve`` process with one checkout's code on its path."""

    def __init__(self, label: str, root: Path) -> None:
        self.label = label
        self.root = root.resolve()
        env = dict(os.environ)
        env["PYTHONPATH"] = str(self.root)  # first on sys.path, ahead of any editable install
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), "--serve"],
            cwd=self.root,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.hello = self._read()
        self.file = str(self.hello["edgesched_env_file"])

    def _read(self) -> dict[str, Any]:
        """Next JSON line from the worker (other stdout lines are passed on to stderr)."""
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.label} worker ({self.root}) exited with {self.proc.wait()}")
            if line.startswith("{"):
                msg: dict[str, Any] = json.loads(line)
                self._check(msg)
                return msg
            log(f"[{self.label} worker] {line.rstrip()}")

    def _check(self, msg: dict[str, Any]) -> None:
        """Every loaded edgesched_env/agents module must come from this worker's checkout."""
        roots = {Path(r).resolve() for r in msg["roots"]}
        if roots != {self.root}:
            raise RuntimeError(f"{self.label} worker imported code from {sorted(map(str, roots))}")

    def episode(self, preset: str, overrides: Overrides, seed: int, warmup: bool) -> dict[str, Any]:
        """One timed episode (after a warm-up episode if ``warmup``)."""
        assert self.proc.stdin is not None
        job = {"preset": preset, "overrides": overrides, "seed": seed, "warmup": warmup}
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def vector(self, preset: str, overrides: Overrides, num_envs: int, steps: int) -> dict[str, Any]:
        """One block of ``steps`` timed batched steps (the first of a setting warms it up first)."""
        assert self.proc.stdin is not None
        job = {"kind": "vector", "preset": preset, "overrides": overrides, "num_envs": num_envs, "seed": 0}
        job["steps"] = steps
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        """End the worker (an empty line)."""
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write("\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def summarize_episodes(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over episodes."""
    return {
        "rounds_s": statistics.median(r["rounds"] / r["env_s"] for r in rows),
        "us_per_round": statistics.median(r["env_s"] / r["rounds"] * 1e6 for r in rows),
        "loop_rounds_s": statistics.median(r["rounds"] / r["loop_s"] for r in rows),
        "slots_s": statistics.median(r["slots"] / r["env_s"] for r in rows),
        "rounds": statistics.median(r["rounds"] for r in rows),
        "warmup_s": rows[0].get("warmup_s"),
        "episodes": rows,
    }


class SingleBench:
    """Single-env measurements through the workers, memoised per (preset, overrides)."""

    def __init__(self, v0: Path | None, repeats: int, warmup_each: bool) -> None:
        self.v0 = v0
        self.repeats = repeats
        self.warmup_each = warmup_each  # a warm-up episode per config, else once per worker
        self.warmed: set[str] = set()
        self.workers: dict[str, Worker] = {}
        self.cache: dict[str, dict[str, dict[str, Any]]] = {}

    def start(self) -> None:
        """Start the workers (once) and print where their code comes from."""
        if self.workers:
            return
        log("starting single-env workers ...")
        self.workers[NEW] = Worker(NEW, ROOT)
        if self.v0 is not None:
            self.workers[V0] = Worker(V0, self.v0)
        for w in self.workers.values():
            print(f"- {w.label} single env: `edgesched_env.__file__` = `{w.file}`")
        print()

    def measure(self, preset: str, overrides: Overrides, labels: Sequence[str] = (NEW, V0)) -> dict[str, Any]:
        """``{label: summary}`` for the workers in ``labels``; episodes alternate between them."""
        self.start()
        key = json.dumps([preset, overrides], sort_keys=True)
        done = self.cache.setdefault(key, {})
        todo = [lb for lb in labels if lb in self.workers and lb not in done]
        rows: dict[str, list[dict[str, Any]]] = {lb: [] for lb in todo}
        for seed in range(self.repeats):
            order = todo if seed % 2 == 0 else todo[::-1]
            for lb in order:
                warm = seed == 0 and (self.warmup_each or lb not in self.warmed)
                rows[lb].append(self.workers[lb].episode(preset, overrides, seed, warmup=warm))
                self.warmed.add(lb)
        for lb in todo:
            done[lb] = summarize_episodes(rows[lb])
        return {lb: done[lb] for lb in labels if lb in done}

    def v0_columns(self) -> tuple[str, ...]:
        """Table columns to leave out: the v0 ones when there is no v0 checkout."""
        if self.v0 is not None:
            return ()
        return ("vs v0 single", "v0 rounds/s", "new / v0", "same episodes", "v0 us/round")

    def rounds_s(self, preset: str, overrides: Overrides, label: str) -> float | None:
        """Rounds/s of a measurement already made, or None."""
        got = self.cache.get(json.dumps([preset, overrides], sort_keys=True), {}).get(label)
        return None if got is None else float(got["rounds_s"])

    def close(self) -> None:
        """End the workers."""
        for w in self.workers.values():
            w.close()


# ------------------------------------------------------------------------- vector env (here)
def vector_api() -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``(vector_env, random_feasible_actions)`` of this checkout."""
    make = getattr(edgesched_env, "vector_env", None)
    policy = getattr(edgesched_env, "random_feasible_actions", None)
    if make is None or policy is None:
        raise SystemExit(
            "this checkout has no edgesched_env.vector_env / random_feasible_actions: "
            "run with --sections single"
        )
    return make, policy


_FIRST_VECTOR: dict[str, Any] = {}


def _block(
    venv: Any, policy: Callable[..., Any], obs: Any, done: Any, rng: np.random.Generator, steps: int
) -> tuple[Any, Any, dict[str, float]]:
    """``steps`` batched steps; env and policy time apart; rounds exclude autoreset steps."""
    num_envs = int(venv.num_envs)
    env_s = policy_s = 0.0
    resets = 0
    perf = time.perf_counter
    for _ in range(steps):
        t0 = perf()
        actions = policy(obs, rng)
        t1 = perf()
        obs, _, terms, truncs, infos = venv.step(actions)
        t2 = perf()
        policy_s += t1 - t0
        env_s += t2 - t1
        restarted = infos.get("reset") if isinstance(infos, dict) else None
        resets += int(np.count_nonzero(done if restarted is None else restarted))
        done = np.logical_or(terms, truncs)
    rounds = num_envs * steps - resets
    return (
        obs,
        done,
        {"steps": steps, "env_s": env_s, "policy_s": policy_s, "rounds": rounds, "resets": resets},
    )


def measure_vector(
    preset: str, num_envs: int, overrides: Overrides, s: Settings, target_s: float, seed: int = 0
) -> dict[str, Any]:
    """Aggregate rounds/s of ``num_envs`` episodes: first reset+step, warm-up, ``s.repeats`` blocks."""
    make, policy = vector_api()
    t0 = time.perf_counter()
    venv = make(preset, num_envs=num_envs, **overrides)
    t1 = time.perf_counter()
    policy = getattr(venv, "random_actions", policy)  # the same policy, with the picks of the mode
    obs, _ = venv.reset(seed=seed)
    t2 = time.perf_counter()
    rng = np.random.default_rng(seed)
    actions = policy(obs, rng)
    t3 = time.perf_counter()
    obs, _, terms, truncs, _ = venv.step(actions)
    t4 = time.perf_counter()
    first: dict[str, Any] = {"make_s": t1 - t0, "reset_s": t2 - t1, "policy_s": t3 - t2, "step_s": t4 - t3}
    first["reset_step_s"] = first["reset_s"] + first["step_s"]
    done = np.logical_or(terms, truncs)

    # Warm-up: min_steps and warmup_s of env time; the first vector env of the process also runs
    # to its first autoreset (numba compiles each kernel at its first call: slot ends, episode ends
    # and restarts come later than the first step), at most WARMUP_CAP_S.
    to_reset = not _FIRST_VECTOR
    warm: list[dict[str, float]] = []
    warm_s = 0.0
    while len(warm) < s.min_steps or warm_s < s.warmup_s or (to_reset and warm_s < WARMUP_CAP_S):
        obs, done, b = _block(venv, policy, obs, done, rng, 1)
        warm.append(b)
        warm_s += b["env_s"]
        to_reset = to_reset and not b["resets"]
    if not _FIRST_VECTOR:
        _FIRST_VECTOR.update(first, preset=preset, num_envs=num_envs)
        _FIRST_VECTOR["warmup_steps"] = len(warm)
        _FIRST_VECTOR["warmup_env_s"] = warm_s
        _FIRST_VECTOR["warmup_slowest_step_s"] = max(b["env_s"] for b in warm)
    per_step = statistics.median(b["env_s"] for b in warm)
    per_block = max(s.min_steps, math.ceil(target_s / s.repeats / max(per_step, 1e-9)))

    blocks = []
    for _ in range(s.repeats):
        obs, done, b = _block(venv, policy, obs, done, rng, per_block)
        blocks.append(b)
    memory = int(venv.memory_bytes())
    obs_bytes = sum(int(np.asarray(v).nbytes) for v in obs.values())
    num_agents = int(venv.num_agents)
    if hasattr(venv, "close"):
        venv.close()
    del venv, obs
    gc.collect()

    steps = sum(b["steps"] for b in blocks)
    return {
        "preset": preset,
        "num_envs": num_envs,
        "num_agents": num_agents,
        "overrides": overrides,
        "rounds_s": statistics.median(b["rounds"] / b["env_s"] for b in blocks),
        "batched_steps": steps,
        "env_us_per_step": sum(b["env_s"] for b in blocks) / steps * 1e6,
        "policy_us_per_step": sum(b["policy_s"] for b in blocks) / steps * 1e6,
        "autoreset_steps": sum(b["resets"] for b in blocks),
        "memory_bytes": memory,
        "memory_bytes_per_episode": memory / num_envs,
        "obs_bytes_per_episode": obs_bytes / num_envs,
        "first": first,
        "warmup_steps": len(warm),
        "blocks": blocks,
    }


# ------------------------------------------------------------------------------- sections
def section_vector(s: Settings, single: SingleBench, out: dict[str, Any]) -> None:
    """E = 1 ... 1024 on tapfinger-synthetic, against the single env (new and v0)."""
    results = []
    for num_envs in s.vector_sizes:  # first, so that the first call is this process's own
        log(f"vector: E = {num_envs}")
        results.append(measure_vector(VECTOR_PRESET, num_envs, s.overrides, s, s.vector_target_s))
    log(f"vector: single env baseline on {VECTOR_PRESET}")
    base = single.measure(VECTOR_PRESET, s.overrides)
    new_s = base[NEW]["rounds_s"]
    v0_s = base[V0]["rounds_s"] if V0 in base else None
    rows = []
    for r in results:
        num_envs = r["num_envs"]
        r["vs_new_single"] = ratio(r["rounds_s"], new_s)
        r["vs_v0_single"] = ratio(r["rounds_s"], v0_s)
        rows.append(
            [
                str(num_envs),
                str(r["batched_steps"]),
                fmt(r["rounds_s"], ",.0f"),
                fmt(r["vs_new_single"], ".1f", "x"),
                fmt(r["vs_v0_single"], ".1f", "x"),
                fmt(r["env_us_per_step"], ",.0f"),
                fmt(r["policy_us_per_step"], ",.0f"),
            ]
        )
    first = _FIRST_VECTOR
    print(f"### Vector env ({VECTOR_PRESET}, {describe(s.overrides)})\n")
    print(
        f"first reset+step seconds: {first['reset_step_s']:.2f} (E = {first['num_envs']}, the first vector "
        f"env of the process: numba compilation or cache load; reset {first['reset_s']:.2f} s, "
        f"step {first['step_s']:.2f} s; then {first['warmup_steps']} warm-up steps, to an autoreset at "
        f"least, in {first['warmup_env_s']:.2f} s, the slowest {first['warmup_slowest_step_s']:.3f} s)\n"
    )
    v0_part = f", v0 {fmt(v0_s, ',.0f')} rounds/s" if v0_s is not None else ""
    print(f"single env on the same preset: new {fmt(new_s, ',.0f')} rounds/s{v0_part}\n")
    headers = ["E", "steps", "rounds/s", "vs new single", "vs v0 single", "env us/step", "policy us/step"]
    print(md_table(headers, rows, left=0, skip=single.v0_columns()))
    print()
    out["vector"] = {
        "preset": VECTOR_PRESET,
        "overrides": s.overrides,
        "first_reset_step": dict(first),
        "single_new_rounds_s": new_s,
        "single_v0_rounds_s": v0_s,
        "rows": results,
    }


def section_single(s: Settings, single: SingleBench, out: dict[str, Any]) -> None:
    """Every preset in the single env, new code vs v0 code."""
    rows, results = [], []
    for name in preset_names():
        log(f"single: {name}")
        m = single.measure(name, s.overrides)
        new_s = m[NEW]["rounds_s"]
        v0_s = m[V0]["rounds_s"] if V0 in m else None
        same = None
        if V0 in m:
            played = {lb: [(e["rounds"], e["slots"]) for e in m[lb]["episodes"]] for lb in (NEW, V0)}
            same = played[NEW] == played[V0]
        results.append({"preset": name, "overrides": s.overrides, **{lb: m[lb] for lb in m}})
        results[-1]["new_vs_v0"] = ratio(new_s, v0_s)
        results[-1]["same_episodes"] = same
        rows.append(
            [
                name,
                fmt(m[NEW]["rounds"], ".0f"),
                fmt(new_s, ",.0f"),
                fmt(v0_s, ",.0f"),
                fmt(ratio(new_s, v0_s), ".2f", "x"),
                {None: "n/a", True: "yes", False: "no"}[same],
            ]
        )
    print(f"### Single env, new vs v0 ({describe(s.overrides)}, median of {s.repeats} episodes)\n")
    headers = ["preset", "rounds/episode", "new rounds/s", "v0 rounds/s", "new / v0", "same episodes"]
    print(md_table(headers, rows, skip=single.v0_columns()))
    print()
    out["single"] = results


def section_presets(s: Settings, single: SingleBench, out: dict[str, Any]) -> None:
    """Every preset in the vector env at E = 256 (16 with --quick): rounds/s and memory."""
    num_envs = s.presets_num_envs
    rows, results = [], []
    for name in preset_names():
        log(f"presets: {name} at E = {num_envs}")
        r = measure_vector(name, num_envs, s.overrides, s, s.presets_target_s)
        r["vs_new_single"] = ratio(r["rounds_s"], single.rounds_s(name, s.overrides, NEW))
        results.append(r)
        rows.append(
            [
                name,
                str(r["num_agents"]),
                fmt(r["rounds_s"], ",.0f"),
                fmt(r["vs_new_single"], ".1f", "x"),
                fmt(r["memory_bytes_per_episode"] / 1024, ",.1f"),
                fmt(r["obs_bytes_per_episode"] / 1024, ",.1f"),
            ]
        )
    print(f"### Vector env on every preset (E = {num_envs}, {describe(s.overrides)})\n")
    headers = ["preset", "N", "rounds/s", "vs new single", "KiB/episode", "obs KiB/episode"]
    print(md_table(headers, rows))
    if any(r["vs_new_single"] is None for r in results):
        print("\n(vs new single: only with the `single` section in the same run)")
    print()
    out["presets"] = {"num_envs": num_envs, "rows": results}


def _paired(new: Sequence[float], v0: Sequence[float]) -> float | None:
    """Median over pairs of ``v0[i] / new[i]`` (times in, so above 1 means the new code is faster)."""
    pairs = [b / a for a, b in zip(new, v0) if a > 0]
    return statistics.median(pairs) if pairs else None


def section_versus(s: Settings, single: SingleBench, out: dict[str, Any]) -> None:
    """Issue 23's numbers: single-env episodes/s and vector rounds/s at E = 256, new vs v0, one run."""
    single.start()
    workers = single.workers
    if V0 not in workers:
        print("### New vs v0\n\n(no v0 checkout: give --v0 PATH or a git ref)\n")
        return
    labels = (NEW, V0)
    rows, presets = [], []
    for name in VERSUS_PRESETS:
        log(f"versus: single env, {name}")
        eps: dict[str, list[dict[str, Any]]] = {lb: [] for lb in labels}
        for seed in range(s.repeats):
            for lb in labels if seed % 2 == 0 else labels[::-1]:
                eps[lb].append(workers[lb].episode(name, s.overrides, seed, warmup=seed == 0))
        wall = {lb: [e["reset_s"] + e["env_s"] for e in eps[lb]] for lb in labels}
        cpu = {lb: [e["reset_cpu_s"] + e["env_cpu_s"] for e in eps[lb]] for lb in labels}
        played = {lb: [(e["rounds"], e["slots"], e["return0"]) for e in eps[lb]] for lb in labels}
        r = {
            "preset": name,
            "overrides": s.overrides,
            "episodes_s": {lb: len(wall[lb]) / sum(wall[lb]) for lb in labels},
            "us_per_round": {
                lb: statistics.median(e["env_s"] / e["rounds"] * 1e6 for e in eps[lb]) for lb in labels
            },
            "new_vs_v0_wall": _paired(wall[NEW], wall[V0]),
            "new_vs_v0_cpu": _paired(cpu[NEW], cpu[V0]),
            "same_episodes": played[NEW] == played[V0],
            "episodes": eps,
        }
        presets.append(r)
        rows.append(
            [
                name,
                fmt(statistics.median(e["rounds"] for e in eps[NEW]), ".0f"),
                fmt(r["episodes_s"][NEW], ".2f"),
                fmt(r["episodes_s"][V0], ".2f"),
                fmt(r["new_vs_v0_wall"], ".3f", "x"),
                fmt(r["new_vs_v0_cpu"], ".3f", "x"),
                fmt(r["us_per_round"][NEW], ".1f"),
                fmt(r["us_per_round"][V0], ".1f"),
                "yes" if r["same_episodes"] else "no",
            ]
        )
    print(f"### Single env, new vs v0 ({describe(s.overrides)}, {s.repeats} episodes per preset)\n")
    headers = [
        "preset",
        "rounds/episode",
        "new episodes/s",
        "v0 episodes/s",
        "new / v0 (wall)",
        "new / v0 (cpu)",
        "new us/round",
        "v0 us/round",
        "same episodes",
    ]
    print(md_table(headers, rows))
    print()

    e, target = VERSUS_NUM_ENVS, s.vector_target_s / 2
    log(f"versus: vector env, {VECTOR_PRESET} at E = {e} (warm-up: to the first autoreset)")
    warm = {lb: workers[lb].vector(VECTOR_PRESET, s.overrides, e, s.min_steps) for lb in labels}
    probe = {lb: workers[lb].vector(VECTOR_PRESET, s.overrides, e, 10 * s.min_steps) for lb in labels}
    per_step = min(b["env_s"] / b["steps"] for b in probe.values())
    steps = max(s.min_steps, math.ceil(target / max(per_step, 1e-9)))
    blocks: dict[str, list[dict[str, Any]]] = {lb: [] for lb in labels}
    for i in range(s.repeats):
        log(f"versus: vector block {i + 1}/{s.repeats} ({steps} steps per code)")
        for lb in labels if i % 2 == 0 else labels[::-1]:
            blocks[lb].append(workers[lb].vector(VECTOR_PRESET, s.overrides, e, steps))
    rate = {lb: [b["rounds"] / b["env_s"] for b in blocks[lb]] for lb in labels}
    cpu_rate = {lb: [b["rounds"] / b["env_cpu_s"] for b in blocks[lb]] for lb in labels}
    same = all(
        (a["rounds"], a["reward_sum"]) == (b["rounds"], b["reward_sum"])
        for a, b in zip(blocks[NEW], blocks[V0])
    )
    vec = {
        "preset": VECTOR_PRESET,
        "num_envs": e,
        "steps_per_block": steps,
        "rounds_s": {lb: statistics.median(rate[lb]) for lb in labels},
        "cpu_rounds_s": {lb: statistics.median(cpu_rate[lb]) for lb in labels},
        "new_vs_v0_wall": statistics.median(a / b for a, b in zip(rate[NEW], rate[V0])),
        "new_vs_v0_cpu": statistics.median(a / b for a, b in zip(cpu_rate[NEW], cpu_rate[V0])),
        "same_episodes": same,
        "warmup": warm,
        "probe": probe,
        "blocks": blocks,
    }
    print(f"### Vector env, new vs v0 ({VECTOR_PRESET}, E = {e}, {describe(s.overrides)})\n")
    headers = ["code", "rounds/s (wall)", "rounds/s (cpu)", "us/step"]
    vrows = [
        [
            lb,
            fmt(vec["rounds_s"][lb], ",.0f"),
            fmt(vec["cpu_rounds_s"][lb], ",.0f"),
            fmt(e / vec["rounds_s"][lb] * 1e6, ",.0f"),
        ]
        for lb in labels
    ]
    print(md_table(headers, vrows))
    print(
        f"\nnew / v0: {fmt(vec['new_vs_v0_wall'], '.3f')}x (wall), {fmt(vec['new_vs_v0_cpu'], '.3f')}x "
        f"(cpu), median of {s.repeats} paired blocks of {steps} batched steps; same episodes: "
        f"{'yes' if same else 'no'}\n"
    )
    out["versus"] = {"single": presets, "vector": vec}


def section_scaling(s: Settings, single: SingleBench, out: dict[str, Any]) -> None:
    """Per-round cost against N clusters: single env (new, v0) and vector env at E = 64."""
    num_envs = s.scaling_num_envs
    results: list[dict[str, Any]] = []
    for n in SCALING_N:
        log(f"scaling: N = {n}")
        ov: Overrides = {
            "capacities": [(16, 16)] * n,
            "arrival_rate": 2.0 * n / 3,
            "num_tasks": s.scaling_tasks_per_cluster * n,
        }
        p = make_config(VECTOR_PRESET, **ov).max_pending
        m = single.measure(VECTOR_PRESET, ov)  # JSON to the workers: they turn lists back into tuples
        v = measure_vector(VECTOR_PRESET, num_envs, ov, s, s.scaling_target_s)
        results.append(
            {
                "n": n,
                "max_pending": p,
                "new_us": m[NEW]["us_per_round"],
                "v0_us": m[V0]["us_per_round"] if V0 in m else None,
                "vector_us": 1e6 / v["rounds_s"],
                "single": m,
                "vector": v,
            }
        )
    for r in results:
        r["new_us_per_np"] = r["new_us"] / (r["n"] * r["max_pending"])
        r["vector_us_per_np"] = r["vector_us"] / (r["n"] * r["max_pending"])
        r["new_ratio_vs_n3"] = r["new_us_per_np"] / results[0]["new_us_per_np"]
        r["vector_ratio_vs_n3"] = r["vector_us_per_np"] / results[0]["vector_us_per_np"]
    rows = []
    for r in results:
        rows.append(
            [
                str(r["n"]),
                fmt(r["new_us"], ",.1f"),
                fmt(r["new_us_per_np"], ".2f"),
                fmt(r["new_ratio_vs_n3"], ".2f"),
                fmt(r["v0_us"], ",.1f"),
                fmt(r["vector_us"], ",.2f"),
                fmt(r["vector_us_per_np"], ".3f"),
                fmt(r["vector_ratio_vs_n3"], ".2f"),
            ]
        )
    p = results[0]["max_pending"]
    print(
        f"### Scaling in clusters ({VECTOR_PRESET}, N clusters of (16, 16), rate 2N/3, "
        f"{s.scaling_tasks_per_cluster}N tasks, P = {p}; vector env at E = {num_envs})\n"
    )
    headers = [
        "N",
        "single us/round",
        "single us/(N*P)",
        "single vs N=3",
        "v0 us/round",
        "vector us/round",
        "vector us/(N*P)",
        "vector vs N=3",
    ]
    print(md_table(headers, rows, left=0, skip=single.v0_columns()))
    print()
    out["scaling"] = {"num_envs": num_envs, "rows": results}


# ------------------------------------------------------------------------------------- main
def git_commit(path: Path) -> str | None:
    """``git describe``-like id of a checkout (``+dirty`` when it has changes), the commit of an
    export made by :func:`export_ref`, or None."""
    marker = path / V0_MARKER
    if marker.is_file():
        return marker.read_text().strip()[:12] + " (exported)"
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=path, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=path, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def export_ref(ref: str) -> Path | None:
    """The checkout of git ref ``ref`` of this repository, exported once with ``git archive`` to
    ``$TMPDIR/edgesched-v0-<commit>`` (reused when there); None when ``ref`` is not a commit here."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    dest = Path(tempfile.gettempdir()) / f"edgesched-v0-{commit[:12]}"
    marker = dest / V0_MARKER
    if marker.is_file() and marker.read_text().strip() == commit:
        return dest
    log(f"exporting {ref} ({commit[:12]}) to {dest} ...")
    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", dir=dest.parent))
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tmp, filter="data")
    (tmp / V0_MARKER).write_text(commit + "\n")
    if dest.exists():  # an incomplete earlier export (no marker): replace it
        shutil.rmtree(dest)
    tmp.rename(dest)
    return dest


def resolve_v0(arg: str | None, parser: argparse.ArgumentParser) -> Path | None:
    """The v0 checkout: ``--v0`` (a path, or a git ref exported by :func:`export_ref`), else
    /work/v0 when present; None to skip the v0 columns."""
    if arg is None:
        return DEFAULT_V0 if (DEFAULT_V0 / "edgesched_env" / "__init__.py").is_file() else None
    if arg.strip().lower() in ("", "none"):
        return None
    path = Path(arg).expanduser().resolve()
    if not path.exists():
        exported = export_ref(arg)
        if exported is None:
            parser.error(f"--v0 {arg}: neither a directory nor a git ref of {ROOT}")
        path = exported
    if not (path / "edgesched_env" / "__init__.py").is_file():
        parser.error(f"--v0 {arg}: no edgesched_env package there")
    if path == ROOT:
        parser.error("--v0 points at this checkout")
    return path


def parse_sections(arg: str, parser: argparse.ArgumentParser) -> list[str]:
    """``--sections`` as a list in the canonical order."""
    names = {x.strip() for x in arg.split(",") if x.strip()}
    bad = names - set(SECTIONS)
    if bad or not names:
        parser.error(f"--sections: choose from {','.join(SECTIONS)} (got {arg!r})")
    return [x for x in SECTIONS if x in names]


def meta(args: argparse.Namespace, s: Settings, v0: Path | None, sections: list[str]) -> dict[str, Any]:
    """Where and how this run was made."""
    try:
        import numba

        numba_version: str | None = numba.__version__
    except ImportError:
        numba_version = None
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "argv": sys.argv[1:],
        "sections": sections,
        "quick": s.quick,
        "repeats": s.repeats,
        "overrides": s.overrides,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba_version,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "loadavg_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "new_root": str(ROOT),
        "new_commit": git_commit(ROOT),
        "new_file": edgesched_env.__file__,
        "import_s": IMPORT_S,
        "numba_cache_index_files_before": NUMBA_CACHE_FILES,
        "numba_cache_dir": os.environ.get("NUMBA_CACHE_DIR"),
        "v0_root": str(v0) if v0 else None,
        "v0_commit": git_commit(v0) if v0 else None,
    }


def write_json(path: str, data: dict[str, Any]) -> None:
    """All figures as JSON (missing figures are null)."""
    with open(path, "w") as target:
        json.dump(data, target, indent=2, default=str)
        target.write("\n")


def main() -> None:
    """Parse the flags, run the sections, print the tables, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="episodes (single) / blocks (vector)")
    parser.add_argument(
        "--quick", action="store_true", help="2 repeats, 60 tasks, E <= 64, short blocks (smoke run)"
    )
    parser.add_argument(
        "--v0",
        default=None,
        metavar="PATH|REF",
        help=f"v0 checkout or git ref (default {DEFAULT_V0} if there; none: skip)",
    )
    parser.add_argument("--json", default=None, metavar="PATH", help="write all figures here")
    parser.add_argument(
        "--sections",
        default=",".join(DEFAULT_SECTIONS),
        help=f"comma list of {','.join(SECTIONS)} (default {','.join(DEFAULT_SECTIONS)})",
    )
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    sections = parse_sections(args.sections, parser)
    v0 = resolve_v0(args.v0, parser)
    s = Settings.make(args.quick, args.repeats)
    if any(x != "single" for x in sections):
        vector_api()  # fail early

    t_start = time.perf_counter()
    data: dict[str, Any] = {"meta": meta(args, s, v0, sections)}
    m = data["meta"]
    load = m["loadavg_start"][0] if m["loadavg_start"] else None
    print(f"## Environment speed{' (--quick)' if s.quick else ''}\n")
    print(
        f"- {m['date']}, python {m['python']}, numpy {m['numpy']}, numba {m['numba']}, "
        f"{m['cpu_count']} cpus, load average {fmt(load, '.2f')} at the start"
    )
    print(
        f"- new code: `{ROOT}` ({m['new_commit']}); vector env in this process from "
        f"`{edgesched_env.__file__}` (import {IMPORT_S:.2f} s)"
    )
    if v0 is None:
        why = "--v0 none" if args.v0 is not None else f"no --v0 and no {DEFAULT_V0}"
        print(f"- v0 code: none ({why}): the v0 columns are left out")
    else:
        print(f"- v0 code: `{v0}` ({m['v0_commit']})")
    print(
        f"- numba cache before this run: {NUMBA_CACHE_FILES} index files (reused only for kernels "
        f"whose source has not changed since; else the first calls compile)"
    )
    single = SingleBench(v0, s.repeats, warmup_each=not s.quick)
    runners = {
        "vector": section_vector,
        "single": section_single,
        "presets": section_presets,
        "versus": section_versus,
        "scaling": section_scaling,
    }
    try:
        if any(x in sections for x in ("vector", "single", "versus", "scaling")):
            single.start()
        else:
            print()
        section_s: dict[str, float] = {}
        for name in sections:
            t0 = time.perf_counter()
            runners[name](s, single, data)
            section_s[name] = time.perf_counter() - t0
            log(f"{name}: {section_s[name]:.1f} s")
        data["meta"]["section_s"] = section_s
    finally:
        single.close()
    data["meta"]["wall_s"] = time.perf_counter() - t_start
    data["meta"]["loadavg_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    data["meta"]["workers"] = {lb: w.hello for lb, w in single.workers.items()}
    if args.json:
        write_json(args.json, data)
        log(f"wrote {args.json}")
    log(f"done in {data['meta']['wall_s']:.1f} s")


if __name__ == "__main__":
    main()
