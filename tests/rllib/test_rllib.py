"""agents.integrations.rllib: RLlib's env checker, PPO with masks and 2 env runners, the bench."""

from __future__ import annotations

import numpy as np
import pytest

SMALL = {"num_tasks": 10, "max_cycles": 300}


def test_env_passes_rllibs_checker_and_masks_are_enforced():
    from ray.rllib.utils.pre_checks.env import check_multiagent_environments

    from agents.integrations import rllib

    # the checker steps unmasked samples: the strict mode would (rightly) refuse them
    check_multiagent_environments(
        rllib.EdgeSchedRLlibEnv({"preset": "tapfinger-synthetic", "overrides": SMALL, "strict_masks": False})
    )
    env = rllib.EdgeSchedRLlibEnv({"preset": "tapfinger-synthetic", "overrides": SMALL})
    obs, _ = env.reset(seed=0)
    space = env.observation_spaces["cluster_0"]
    assert set(space.spaces) == {"observations", "action_mask"} and space.contains(obs["cluster_0"])
    masked = {a: int(np.flatnonzero(o["action_mask"] == 0)[0]) for a, o in obs.items()}
    with pytest.raises(rllib.MaskViolationError, match="outside their action_mask"):
        env.step(masked)
    assert env.step(dict.fromkeys(obs, 0))[0]  # the no-op is always allowed; nothing was lost


def test_the_documented_ppo_example_trains_with_two_env_runners_and_is_benched():
    """Runs docs/integrations.md's RLlib example as written, then checks what it made."""
    import re
    from pathlib import Path

    import ray

    from agents.bench import run_bench
    from agents.integrations import rllib

    doc = (Path(__file__).resolve().parents[2] / "docs" / "integrations.md").read_text()
    code = next(
        b for b in re.findall(r"```python\n(.*?)```", doc, flags=re.S) if "integrations import rllib" in b
    )
    ns: dict = {}
    exec(compile(code, "integrations.md[rllib]", "exec"), ns)  # an action outside its mask would raise
    algo, res = ns["algo"], ns["res"]
    try:
        ppo = [r for r in res.records if r["scheduler"] == "rllib-ppo"]
        assert len(ppo) == 1 and ppo[0]["infeasible_actions"] == 0
        again = run_bench(
            "tapfinger-synthetic",
            ["rllib-ppo"],
            [0],
            progress=False,
            instances={"rllib-ppo": rllib.as_scheduler(algo)},
            num_tasks=10,
            max_cycles=300,
        )
        assert again.records[0]["mean_jct"] == ppo[0]["mean_jct"]  # deterministic: the masked argmax
        assert algo.config.num_env_runners == 2
    finally:
        algo.stop()
        ray.shutdown()
