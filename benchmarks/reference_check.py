"""Fidelity check: two simple policies against the reference code's figures of SPEC.md s.12.

Random feasible (``random``) and "exactly the minimum request, random placeable task" on the
synthetic setting at 3 clusters (rate 2) and 6 clusters (rate 2), seeds 0-9; prints the mean and
standard deviation over seeds of the per-seed mean JCT next to the reference values.

Usage: ``python benchmarks/reference_check.py [--seeds 10]``
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from agents.base import Actions, Observations, SchedulerBase
from agents.baselines import make_scheduler
from agents.evaluate import evaluate


class RandomTaskMinRequest(SchedulerBase):
    """The reference code's ``Min`` policy: a random placeable task at exactly its minimum."""

    name = "random-task-min"

    def act_agents(self, observations: Observations, infos: dict[str, dict[str, Any]]) -> Actions:
        out: Actions = {}
        for agent, obs in observations.items():
            act = self.noop()
            slots = self.placeable_slots(obs)
            if slots.shape[0]:
                s = int(slots[self.rng.integers(slots.shape[0])])
                act[0] = s
                for r, levels in enumerate(obs["alloc_mask"][s]):
                    act[1 + r] = int(np.flatnonzero(levels)[0])
            out[agent] = act
        return out


REFERENCE = {
    ("tapfinger-synthetic", "random"): "9.23 +- 1.41",
    ("tapfinger-synthetic", "random-task-min"): "16.38 +- 3.66",
    ("tapfinger-synthetic6", "random"): "5.69",
    ("tapfinger-synthetic6", "random-task-min"): "12.54",
}


def main() -> None:
    """Print the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    print(f"{'preset':<22}{'policy':<18}{'reference':>14}{'edgesched':>18}")
    for preset in ("tapfinger-synthetic", "tapfinger-synthetic6"):
        for sched in (make_scheduler("random"), RandomTaskMinRequest()):
            recs = evaluate(sched, preset, range(args.seeds), arrival_rate=2.0)
            jct = np.array([r["mean_jct"] for r in recs])
            ours = f"{jct.mean():.2f} +- {jct.std():.2f}"
            print(f"{preset:<22}{sched.name:<18}{REFERENCE[(preset, sched.name)]:>14}{ours:>18}")


if __name__ == "__main__":
    main()
