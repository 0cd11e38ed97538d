"""sb3-contrib's MaskablePPO trains on the central Gymnasium view unchanged."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

import edgesched_env  # noqa: F401  # registers the Gymnasium id

sb3_contrib = pytest.importorskip("sb3_contrib")
torch = pytest.importorskip("torch")


class MaskAudit(gymnasium.Wrapper):
    """Records, at every step, whether the action respects the mask MaskablePPO was given."""

    def __init__(self, env):
        super().__init__(env)
        self.violations = 0
        self.steps = 0
        self.episodes = 0
        self.nvec = env.unwrapped.action_space.nvec

    def action_masks(self):
        return self.env.unwrapped.action_masks()

    def step(self, action):
        mask = self.env.unwrapped.action_masks()
        offsets = np.concatenate([[0], np.cumsum(self.nvec)[:-1]])
        if not mask[offsets + np.asarray(action)].all():
            self.violations += 1
        self.steps += 1
        obs, rew, term, trunc, info = self.env.step(action)
        if term or trunc:
            self.episodes += 1
            assert rew <= 0 and "metrics" in info
        return obs, rew, term, trunc, info


def train(total_steps, num_tasks, seed=0):
    torch.set_num_threads(1)
    env = MaskAudit(
        gymnasium.make("edgesched/EdgeSchedCentral-v1", preset="tapfinger-synthetic", num_tasks=num_tasks)
    )
    model = sb3_contrib.MaskablePPO(
        "MultiInputPolicy",
        env,
        n_steps=128,
        batch_size=64,
        n_epochs=2,
        seed=seed,
        device="cpu",
        verbose=0,
    )
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(total_steps)
    changed = any(not torch.equal(a, b) for a, b in zip(before, model.policy.parameters()))
    return env, model, changed


def evaluate(model, seed):
    env = gymnasium.make("edgesched/EdgeSchedCentral-v1", preset="tapfinger-synthetic", num_tasks=30)
    obs, _ = env.reset(seed=seed)
    done, total = False, 0.0
    while not done:
        # Sampled (not argmax) actions: a barely trained argmax policy may prefer the no-op forever.
        action, _ = model.predict(obs, action_masks=env.unwrapped.action_masks(), deterministic=False)
        assert env.unwrapped.action_space.contains(action)
        obs, rew, term, trunc, info = env.step(action)
        total += rew
        done = term or trunc
    assert term and not trunc
    return total, info["metrics"]


def test_maskable_ppo_trains_on_the_central_view_tiny():
    env, model, changed = train(256, num_tasks=30)
    assert model.num_timesteps >= 256
    assert env.steps >= 256 and env.violations == 0  # every sampled action respected the mask
    assert changed  # the policy was updated
    total, metrics = evaluate(model, seed=1)
    assert metrics["tasks_completed"] == 30 and total == -metrics["total_jct"]


@pytest.mark.slow
def test_maskable_ppo_trains_on_the_central_view_longer():
    env, model, changed = train(4096, num_tasks=30)
    assert env.violations == 0 and env.episodes >= 2 and changed
    total, metrics = evaluate(model, seed=1)
    assert metrics["tasks_completed"] == 30 and total == -metrics["total_jct"]
