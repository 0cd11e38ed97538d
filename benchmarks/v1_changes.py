"""What EdgeSched-v1's fair baselines changed: every heuristic on every preset, v0 code vs now.

Since v1 the non-oracle heuristics read only the observation (``agents/baselines/_observed.py``);
before, they read the simulator's view. This script runs every scheduler of the default bench
(``agents.baselines.heuristic_names()``) on every preset at the same seeds with the code of a
revision ``REF`` (default ``14358eb``: the last commit before v1, which runs EdgeSched-v0 with
the simulator-reading heuristics) and with the working tree, and reports, preset by preset, the
mean JCT of both and whether the records are bit-identical (every metric but ``wall_time_s``).

Usage: ``python benchmarks/v1_changes.py [--ref REV] [--seeds 3] [--num-tasks N] [--no-docs]``.
Writes ``benchmarks/results/v1_changes.json`` and the table between ``<!-- v1-changes:start -->``
and ``<!-- v1-changes:end -->`` in ``docs/results.md`` (unless ``--no-docs``). The two sides run at
once, one process each (about 10 minutes on 2 cores at the presets' sizes).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from _docs import splice_block  # noqa: E402

#: run in a source tree (its own ``agents`` and ``edgesched_env``): JSON records on stdout
_WORKER = r"""
import hashlib, json, sys, warnings
warnings.simplefilter("ignore")
import edgesched_env
assert edgesched_env.__file__.startswith(sys.argv[1]), edgesched_env.__file__
from agents.baselines import heuristic_names
from agents.evaluate import evaluate
seeds = list(range(int(sys.argv[2])))
over = {} if sys.argv[3] == "0" else {"num_tasks": int(sys.argv[3])}
out = {}
for preset in edgesched_env.preset_names():
    for name in heuristic_names():
        recs = evaluate(name, preset, seeds=seeds, **over)
        for r in recs:
            r.pop("wall_time_s")
        digest = hashlib.sha256(json.dumps(recs, sort_keys=True, default=str).encode()).hexdigest()
        out[f"{preset}|{name}"] = {"mean_jct": [float(r["mean_jct"]) for r in recs], "sha256": digest}
print(json.dumps(out))
"""


def _start(tree: Path, seeds: int, num_tasks: int) -> subprocess.Popen[str]:
    # run from the tree, with -c: its packages come first on sys.path (an editable install of
    # another checkout is not used)
    args = [sys.executable, "-c", _WORKER, str(tree), str(seeds), str(num_tasks)]
    return subprocess.Popen(args, cwd=tree, stdout=subprocess.PIPE, text=True)


def _table(ref: dict[str, dict], now: dict[str, dict], ref_name: str) -> tuple[str, int]:
    lines, changed, preset = [], 0, None
    for key in now:
        p, name = key.split("|")
        if p != preset:
            preset = p
            lines += [
                "",
                f"`{p}`",
                "",
                f"| scheduler | mean JCT ({ref_name}) | mean JCT (v1) | change | identical |",
            ]
            lines += ["|---|---|---|---|---|"]
        a = sum(ref[key]["mean_jct"]) / len(ref[key]["mean_jct"])
        b = sum(now[key]["mean_jct"]) / len(now[key]["mean_jct"])
        same = ref[key]["sha256"] == now[key]["sha256"]
        changed += not same
        change = "-" if same else f"{(b - a) / a:+.1%}"
        lines.append(f"| {name} | {a:.2f} | {b:.2f} | {change} | {'yes' if same else '**no**'} |")
    return "\n".join(lines).strip() + "\n", changed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ref", default="14358eb", help="the revision with the v0 heuristics")
    ap.add_argument("--seeds", type=int, default=3, help="seeds 0..S-1")
    ap.add_argument("--num-tasks", type=int, default=0, help="override num_tasks (0: the presets')")
    ap.add_argument("--no-docs", action="store_true", help="do not write docs/results.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "ref"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-q", str(tree), args.ref], cwd=ROOT, check=True
        )
        try:
            commit = subprocess.run(
                ["git", "rev-parse", args.ref], cwd=ROOT, check=True, capture_output=True, text=True
            ).stdout.strip()
            procs = [_start(tree, args.seeds, args.num_tasks), _start(ROOT, args.seeds, args.num_tasks)]
            outs = [p.communicate()[0] for p in procs]
            if any(p.returncode for p in procs):
                raise SystemExit(f"a worker failed: {[p.returncode for p in procs]}")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
    ref, now = (json.loads(o) for o in outs)
    md, changed = _table(ref, now, args.ref)
    size = "the presets' sizes" if not args.num_tasks else f"num_tasks={args.num_tasks}"
    head = (
        f"`python benchmarks/v1_changes.py --seeds {args.seeds}`: every heuristic of the default bench, "
        f"seeds 0..{args.seeds - 1}, {size}; v0 code = `{args.ref}`. {changed} of {len(now)} "
        "(preset, scheduler) cells changed; the others' records are bit-identical.\n\n"
    )
    out = ROOT / "benchmarks" / "results" / "v1_changes.json"
    record = {"ref": commit, "seeds": args.seeds, "num_tasks": args.num_tasks, "changed": changed}
    record.update(ref_records=ref, v1_records=now)
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(head + md)
    if not args.no_docs:
        splice_block(
            ROOT / "docs" / "results.md",
            "v1-changes",
            head + md,
            "EdgeSched-v1: what the fair baselines changed",
        )


if __name__ == "__main__":
    main()
