"""Env steps per second of each RL-library integration path against the raw vector env, one run.

Every path steps ``E`` episodes with random feasible actions (drawn the same way, from the raw
observation) for ``--rounds`` rounds; the figure is cluster-steps per second (rounds x episodes x
clusters / s) and its ratio to the raw :class:`~edgesched_env.vector.EdgeSchedVectorEnv` measured
in the same run (the median of ``--repeats`` interleaved timed runs per path). Paths:

* ``raw vector env``: ``edgesched_env.vector_env`` (default interface);
* ``sb3 shared``: :class:`agents.integrations.sb3.SharedPolicyVecEnv` (strict mask, same-step
  autoreset, the ``E x N`` sub-env view);
* ``sb3 central``: SB3's ``DummyVecEnv`` of ``E`` central views (each a batch of one);
* ``torchrl native``: :class:`agents.integrations.torchrl.EdgeSchedTorchRLEnv` (flat observations,
  the exact joint mask, ``env.step`` + ``step_mdp``), when torchrl is installed;
* ``torchrl generic``: TorchRL's own ``PettingZooWrapper`` over one parallel env with the same
  options (a batch of one, so ``E`` times as many rounds);
* ``rllib env``: :class:`agents.integrations.rllib.EdgeSchedRLlibEnv`, the ``MultiAgentEnv`` an RLlib
  env runner steps (dict actions, strict mask check; a batch of one, ``E`` times as many rounds),
  when ray[rllib] is installed;
* ``benchmarl task``: the env BenchMARL builds from ``EdgeSchedTask.<PRESET>`` (the native TorchRL
  env under BenchMARL's pinned torchrl), when benchmarl is installed.

A path whose library is missing is skipped, so the figure for each library is measured in the
environment that has it: ``.venv`` (SB3, TorchRL 0.14) and ``.venv-pinned`` (RLlib, BenchMARL with
TorchRL 0.11), each run with its own raw baseline. ``--block`` names the docs block it writes
(``speed`` for ``.venv``, ``speed-pinned`` for ``.venv-pinned``; default: chosen by what is
installed).

    python benchmarks/integration_speed.py [--preset tapfinger-synthetic] [--rounds 300] [--num-envs 16]
    .venv-pinned/bin/python benchmarks/integration_speed.py   # the RLlib and BenchMARL paths
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _raw(preset: str, e: int, rounds: int) -> float:
    import edgesched_env

    venv = edgesched_env.vector_env(preset, num_envs=e)
    rng = np.random.default_rng(0)
    obs, _ = venv.reset(seed=0)
    t0 = time.perf_counter()
    for _ in range(rounds):
        obs, *_ = venv.step(venv.random_actions(obs, rng))
    return time.perf_counter() - t0


def _sb3_shared(preset: str, e: int, rounds: int) -> float:
    from agents.integrations import sb3

    env = sb3.SharedPolicyVecEnv(preset, num_envs=e)
    rng = np.random.default_rng(0)
    env.seed(0)
    env.reset()
    t0 = time.perf_counter()
    for _ in range(rounds):
        raw = env.venv.last_obs_batch
        env.step_async(env.venv.random_actions(raw, rng).reshape(env.num_envs, -1))
        env.step_wait()
    return time.perf_counter() - t0


def _sb3_central(preset: str, e: int, rounds: int) -> float:
    import edgesched_env
    from agents.integrations import sb3

    env = sb3.central_vec_env(preset, num_envs=e)
    env.seed(0)
    env.reset()
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(rounds):
        acts = []
        for sub in env.envs:
            batch = sub.unwrapped.par.last_obs_batch
            acts.append(edgesched_env.random_feasible_actions(batch, rng)[0].reshape(-1))
        env.step(np.stack(acts))
    return time.perf_counter() - t0


def _torchrl_native(preset: str, e: int, rounds: int, env: Any = None) -> float:
    import torch
    from torchrl.envs.utils import step_mdp

    from agents.integrations import torchrl as trl

    if env is None:
        env = trl.EdgeSchedTorchRLEnv(preset, num_envs=e)
    env.set_seed(0)
    td = env.reset()
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(rounds):
        codes = env.venv.random_actions(env.venv.last_obs_batch, rng)
        td.set(("agents", "action"), torch.as_tensor(codes))
        td = step_mdp(env.step(td))
        done = td.get("done")
        if done.any():
            reset = td.select().clone()
            reset.set("_reset", done)
            td.update(env.reset(reset))
    return time.perf_counter() - t0


def _torchrl_generic(preset: str, e: int, rounds: int) -> float:
    """TorchRL's generic ``PettingZooWrapper`` over one parallel env (a batch of one): ``e * rounds``
    rounds, so that it makes as many cluster-steps as the batched paths."""
    import warnings

    import torch
    from torchrl.envs.libs.pettingzoo import PettingZooWrapper
    from torchrl.envs.utils import step_mdp

    import edgesched_env

    warnings.filterwarnings("ignore", message=".*reset\\(options=...\\) has no options.*")
    par = edgesched_env.parallel_env(preset, obs_layout="flat", action_format="discrete", info_format="flat")
    env = PettingZooWrapper(par, use_mask=True, return_state=False, categorical_actions=True)
    group = next(iter(env.group_map))  # the wrapper groups agents by name prefix ("cluster")
    env.set_seed(0)
    td = env.reset()
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(rounds * e):
        batch = par.last_obs_batch
        codes = par.interface.encode(edgesched_env.random_feasible_actions(batch, rng))[0]
        td.set((group, "action"), torch.as_tensor(codes))
        td = step_mdp(env.step(td))
        if td.get("done").any():
            td = env.reset()
    return time.perf_counter() - t0


def _rllib_env(preset: str, e: int, rounds: int) -> float:
    """The ``MultiAgentEnv`` an RLlib env runner steps (one env; ``e * rounds`` rounds)."""
    import edgesched_env
    from agents.integrations import rllib

    env = rllib.EdgeSchedRLlibEnv({"preset": preset})
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(rounds * e):
        acts = edgesched_env.random_feasible_actions(env.par.last_obs_batch, rng)
        codes = env.par.interface.encode(acts)[0]
        _, _, terms, truncs, _ = env.step({a: int(c) for a, c in zip(env.par.agents, codes, strict=True)})
        if terms["__all__"] or truncs["__all__"]:
            env.reset()
    return time.perf_counter() - t0


def _benchmarl_task(preset: str, e: int, rounds: int) -> float:
    """The env BenchMARL's experiment builds for ``EdgeSchedTask.<PRESET>``."""
    from agents.integrations.benchmarl import EdgeSchedTask

    task = getattr(EdgeSchedTask, preset.replace("-", "_").upper()).get_task()
    env = task.get_env_fun(num_envs=e, continuous_actions=False, seed=0, device="cpu")()
    return _torchrl_native(preset, e, rounds, env=env)


def _ratio(r: float) -> str:
    """A ratio to the raw env for reading: two decimals, two significant digits below 0.1."""
    return f"{r:.2f}x" if r >= 0.1 else f"{r:.2g}x"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="tapfinger-synthetic")
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--num-envs", type=int, default=16)
    ap.add_argument("--json", type=Path, default=None, help="default: benchmarks/results/<block>.json")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per path (the median is reported)")
    ap.add_argument("--no-docs", action="store_true")
    ap.add_argument("--block", choices=["speed", "speed-pinned"], default=None, help="docs block to write")
    args = ap.parse_args(argv)
    from edgesched_env.presets import make_config

    n = make_config(args.preset).num_clusters

    def has(mod: str) -> bool:
        return importlib.util.find_spec(mod) is not None

    def integrates(name: str) -> bool:  # the integration module imports (its library is installed)
        try:
            importlib.import_module(f"agents.integrations.{name}")
        except ImportError:
            return False
        return True

    paths: dict[str, Any] = {"raw vector env": _raw}
    if has("stable_baselines3") and has("sb3_contrib"):
        paths["sb3 shared"] = _sb3_shared
        paths["sb3 central"] = _sb3_central
    if integrates("torchrl"):
        paths["torchrl native"] = _torchrl_native
        paths["torchrl generic"] = _torchrl_generic
    if integrates("rllib"):
        paths["rllib env"] = _rllib_env
    if integrates("benchmarl"):
        paths["benchmarl task"] = _benchmarl_task
    pinned = "rllib env" in paths or "benchmarl task" in paths
    block = args.block or ("speed-pinned" if pinned else "speed")
    steps = args.rounds * args.num_envs * n
    for fn in paths.values():
        fn(args.preset, args.num_envs, 5)  # warm-up (imports, caches)
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(args.repeats):  # interleaved, so that drift of the machine hits every path alike
        for name, fn in paths.items():
            times[name].append(fn(args.preset, args.num_envs, args.rounds))
    rows = {name: steps / float(np.median(ts)) for name, ts in times.items()}
    base = rows["raw vector env"]
    print(f"{args.preset}: {args.num_envs} episodes x {n} clusters, {args.rounds} rounds, random actions")
    print(f"{'path':<16} {'cluster-steps/s':>16} {'vs raw':>8}")
    for name, v in rows.items():
        print(f"{name:<16} {v:16.0f} {_ratio(v / base):>8}")
    from importlib.metadata import PackageNotFoundError, version

    libraries = {"sb3 shared": "stable-baselines3", "torchrl native": "torchrl", "rllib env": "ray"}
    libraries["benchmarl task"] = "benchmarl"
    versions = {}
    for dist in ["torch"] + [lib for path, lib in libraries.items() if path in paths]:
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            pass
    rep = {
        "preset": args.preset,
        "versions": versions,
        "num_envs": args.num_envs,
        "rounds": args.rounds,
        "repeats": args.repeats,
        "seconds": times,
        "steps_per_s": rows,
        "ratio_to_raw": {k: v / base for k, v in rows.items()},
    }
    if args.json is None:
        args.json = ROOT / "benchmarks" / "results" / f"integration_{block.replace('-', '_')}.json"
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rep, indent=1) + "\n")
    if not args.no_docs:
        from benchmarks._docs import splice_block

        lines = [
            f"`{args.preset}`, {args.num_envs} episodes x {n} clusters, {args.rounds} rounds, "
            f"median of {args.repeats} interleaved runs; "
            + ", ".join(f"{k} {v}" for k, v in versions.items())
            + ":",
            "",
            "| path | cluster-steps/s | vs raw |",
            "|---|---|---|",
        ]
        lines += [f"| {k} | {v:.0f} | {_ratio(v / base)} |" for k, v in rows.items()]
        splice_block(ROOT / "docs" / "integrations.md", block, "\n".join(lines) + "\n", "Speed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
