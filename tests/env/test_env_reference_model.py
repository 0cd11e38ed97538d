"""Differential test: the env against a small, slow, independent model of SPEC.md sections 2-7.

The reference model below re-implements the slot / round dynamics with plain Python lists, one
task at a time, straight from the SPEC text. It takes the episode's workload (arrival slots,
types, visibility, minimum requests, work: the inputs, tested in test_env_workload.py) and the
speed models from the env, and then predicts every step: the outcome of every agent's pick, the
rewards, the pending slots, queues, free units, allocations, progress and completions. Where the
env draws from its RNG (conflict ties, the "random" rule) the model checks that the env's
winner is one of the allowed ones and follows it.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import edgesched_env
from edgesched_env.presets import preset_names
from edgesched_env.testing import masked_random_policy, sample_masked, unmasked_random_policy

FLAGS = ("task", "placed", "noop", "empty_slot", "infeasible", "clipped", "conflict")


class ReferenceModel:
    """SPEC.md sections 2-7 for one episode, task by task (no vectorisation, no shortcuts)."""

    def __init__(self, env):
        v, cfg = env.view, env.config
        self.cfg = cfg
        self.n, self.p, self.r = cfg.num_clusters, cfg.max_pending, cfg.num_resources
        self.num_tasks = v.num_tasks
        self.arrival = [int(x) for x in v.arrival_slot]
        self.type_idx = [int(x) for x in v.type_idx]
        self.visible = [[bool(x) for x in row] for row in v.visible]
        self.min_req = [[int(x) for x in row] for row in v.min_request]
        self.work = [float(x) for x in v.oracle_work]
        self.speed_factor = [float(x) for x in v.oracle_speed_factor]
        self.models = v.oracle_speed_models
        self.penalty = [t.switch_penalty for t in cfg.workload.task_types]
        self.capacity = [[int(x) for x in row] for row in v.capacity]
        self.max_level = [lv - 1 for lv in cfg.num_levels]
        self.free = [list(row) for row in self.capacity]
        self.pending = [[-1] * self.p for _ in range(self.n)]
        self.queue = [[] for _ in range(self.n)]
        self.status = ["future"] * self.num_tasks
        self.cluster = [-1] * self.num_tasks
        self.alloc = [[0] * self.r for _ in range(self.num_tasks)]
        self.prev_alloc = [[0] * self.r for _ in range(self.num_tasks)]
        self.progress = [0.0] * self.num_tasks
        self.slots_run = [0] * self.num_tasks
        self.placed_slot = [-1] * self.num_tasks
        self.completion = [-1] * self.num_tasks
        self.t = 0
        self.round = 0
        self.arrived = 0
        self.completed = 0
        self._arrive()
        self._refill()

    # -- arrivals and queues (SPEC 2 steps 5-6, SPEC 3)
    def _arrive(self):
        for task in range(self.num_tasks):
            if self.arrival[task] != self.t:
                continue
            self.status[task] = "waiting"
            self.arrived += 1
            for i in range(self.n):
                if not self.visible[task][i]:
                    continue
                if -1 in self.pending[i]:
                    self.pending[i][self.pending[i].index(-1)] = task
                else:
                    self.queue[i].append(task)

    def _refill(self):
        for i in range(self.n):
            while self.queue[i] and -1 in self.pending[i]:
                self.pending[i][self.pending[i].index(-1)] = self.queue[i].pop(0)

    # -- one pick (SPEC 5)
    def _decode(self, i, slot, req):
        out = dict.fromkeys(FLAGS, False)
        out["task"], out["alloc"] = -1, None
        if slot == self.p:
            out["noop"] = True
            return out
        task = self.pending[i][slot]
        if task < 0:
            out["noop"] = out["empty_slot"] = True
            return out
        if not any(req):
            out["noop"] = True
            return out
        out["task"] = task
        m = self.min_req[task]
        upper = [min(f, mx) for f, mx in zip(self.free[i], self.max_level)]
        fits = all(a <= b for a, b in zip(m, upper))
        if self.cfg.infeasible == "clip":
            alloc = [min(max(q, lo), hi) for q, lo, hi in zip(req, m, upper)]
            ok = fits
            out["clipped"] = ok and alloc != list(req)
        else:
            alloc = list(req)
            ok = fits and all(lo <= q <= hi for q, lo, hi in zip(req, m, upper))
        if ok:
            out["placed"], out["alloc"] = True, alloc
        else:
            out["infeasible"] = True
        return out

    def _ratio(self, i, task):
        m = self.min_req[task]
        return min(self.free[i][r] / m[r] for r in range(self.r) if m[r] > 0)

    def _apply_position(self, picks, env_outcome):
        """One round (or one pick position): decode, resolve conflicts, place."""
        outs = [self._decode(i, int(a[0]), [int(x) for x in a[1:]]) for i, a in enumerate(picks)]
        by_task = {}
        for i, o in enumerate(outs):
            if o["placed"]:
                by_task.setdefault(o["task"], []).append(i)
        for task, who in by_task.items():
            if len(who) < 2:
                continue
            if self.cfg.conflict_rule == "capacity":
                ratios = {i: self._ratio(i, task) for i in who}
                best = max(ratios.values())
                allowed = [i for i in who if ratios[i] == best]
            else:
                allowed = who
            env_winners = [i for i in who if env_outcome[i]["placed"]]
            assert len(env_winners) == 1 and env_winners[0] in allowed, (
                f"conflict on task {task}: env winners {env_winners}, allowed {allowed}"
            )
            for i in who:
                if i != env_winners[0]:
                    outs[i]["placed"], outs[i]["conflict"], outs[i]["alloc"] = False, True, None
        for i, o in enumerate(outs):
            if o["placed"]:
                self._place(o["task"], i, o["alloc"])
        return outs

    def _place(self, task, i, alloc):
        self.status[task] = "running"
        self.cluster[task] = i
        self.alloc[task] = list(alloc)
        self.prev_alloc[task] = list(alloc)
        self.slots_run[task] = 0
        self.placed_slot[task] = self.t
        self.free[i] = [f - a for f, a in zip(self.free[i], alloc)]
        for j in range(self.n):
            self.pending[j] = [-1 if x == task else x for x in self.pending[j]]
            if task in self.queue[j]:
                self.queue[j].remove(task)

    # -- slot end (SPEC 2 steps 1-6, SPEC 4, SPEC 7)
    def _end_slot(self):
        running = [task for task in range(self.num_tasks) if self.status[task] == "running"]
        local = []
        for i in range(self.n):
            on_i = sum(1 for task in running if self.cluster[task] == i)
            local.append(-float(on_i + sum(1 for x in self.pending[i] if x >= 0) + len(self.queue[i])))
        glob = -float(self.arrived - self.completed)
        for task in running:
            a = self.alloc[task]
            if any(x < m for x, m in zip(a, self.min_req[task])):
                dp = 0.0
            else:
                model = self.models[self.type_idx[task]]
                dp = float(
                    model.increment(
                        np.array([a], dtype=np.int64),
                        np.array([self.progress[task]]),
                        np.array([self.work[task]]),
                        np.array([self.speed_factor[self.cluster[task]]]),
                    )[0]
                )
            if self.slots_run[task] > 0 and a != self.prev_alloc[task]:
                dp *= self.penalty[self.type_idx[task]]
            self.progress[task] += dp
            self.prev_alloc[task] = list(a)
            self.slots_run[task] += 1
        for task in running:
            if self.progress[task] >= 1.0:
                self.status[task] = "done"
                self.completion[task] = self.t
                i = self.cluster[task]
                self.free[i] = [f + a for f, a in zip(self.free[i], self.alloc[task])]
                self.completed += 1
        self.t += 1
        self.round = 0
        self._arrive()
        self._refill()
        return local, glob

    def step(self, actions, env_infos):
        """Predict one env step; returns (rewards per agent index, per-position outcomes)."""
        names = [f"cluster_{i}" for i in range(self.n)]
        width = 1 + self.r
        if self.cfg.mode == "single":
            picks = [np.asarray(actions[a]) for a in names]
            env_out = [env_infos[a] for a in names]
            outs = [self._apply_position(picks, env_out)]
            self.round += 1
            slot_over = not any(o["placed"] for o in outs[0]) or self.round >= self.cfg.rounds_limit
        else:
            outs = []
            for k in range(self.cfg.max_picks):
                picks = [np.asarray(actions[a])[k * width : (k + 1) * width] for a in names]
                env_out = [{f: as_list(env_infos[a][f])[k] for f in FLAGS} for a in names]
                outs.append(self._apply_position(picks, env_out))
            slot_over = True
        if slot_over:
            local, glob = self._end_slot()
            rewards = local if self.cfg.reward == "local" else [glob] * self.n
        else:
            rewards = [0.0] * self.n
        return rewards, outs, slot_over

    def compare_state(self, env):
        v = env.view
        codes = {"future": 0, "waiting": 1, "running": 2, "done": 3}
        assert v.t == self.t and v.round_in_slot == self.round
        assert v.pending.tolist() == self.pending
        assert v.queue_len.tolist() == [len(q) for q in self.queue]
        assert v.free.tolist() == self.free
        assert v.status.tolist() == [codes[s] for s in self.status]
        assert v.host.tolist() == self.cluster
        running = [s == "running" for s in self.status]
        assert np.asarray(v.alloc)[running].tolist() == [a for a, r in zip(self.alloc, running) if r]
        assert v.placed_slot.tolist() == self.placed_slot
        assert v.completion_slot.tolist() == self.completion
        assert v.oracle_progress.tolist() == self.progress  # bit for bit


def as_list(x):
    # Single-task infos hold one value per agent; multi-task infos a list with one per pick.
    return x if isinstance(x, list) else [x]


@st.composite
def scenarios(draw):
    preset = draw(st.sampled_from([p for p in preset_names() if p.startswith("tapfinger")]))
    mode = draw(st.sampled_from(["single", "single", "multi"]))
    overrides = {
        "num_tasks": draw(st.integers(1, 24)),
        "arrival_rate": draw(st.floats(0.5, 8.0)),
        "visibility": draw(st.sampled_from(["all", "random-subset"])),
        "conflict_rule": draw(st.sampled_from(["capacity", "random"])),
        "infeasible": draw(st.sampled_from(["clip", "noop"])),
        "reward": draw(st.sampled_from(["local", "global"])),
        "mode": mode,
        "max_pending": draw(st.integers(1, 6)),
        "max_slots": 400,
    }
    if mode == "multi":
        overrides["max_picks"] = draw(st.integers(1, 3))
    if draw(st.booleans()):
        overrides["max_rounds_per_slot"] = draw(st.integers(1, 4))
    if draw(st.booleans()):
        overrides["capacities"] = [tuple(draw(st.integers(3, 20)) for _ in range(2)) for _ in range(3)]
    return (
        preset,
        overrides,
        draw(st.sampled_from(["masked", "unmasked", "mixed"])),
        draw(st.integers(0, 2**31)),
    )


def mixed_policy(env, obs, rng):
    out = {}
    for a in env.agents:
        nvec = env.action_space(a).nvec
        u = rng.random()
        if u < 0.5:
            out[a] = sample_masked(nvec, obs[a]["action_mask"], rng)
        elif u < 0.85:
            out[a] = rng.integers(nvec).astype(np.int64)
        else:
            out[a] = np.zeros(len(nvec), dtype=np.int64)
    return out


POLICIES = {"masked": masked_random_policy, "unmasked": unmasked_random_policy, "mixed": mixed_policy}


def run_against_reference(preset, overrides, policy_name, seed, elastic_rng=None):
    env = edgesched_env.parallel_env(preset, **overrides)
    obs, _ = env.reset(seed=seed)
    ref = ReferenceModel(env)
    ref.compare_state(env)
    rng = np.random.default_rng(seed)
    steps = 0
    while env.agents:
        actions = POLICIES[policy_name](env, obs, rng)
        pending_seen = [list(row) for row in ref.pending]
        obs, rew, term, trunc, infos = env.step(actions)
        steps += 1
        want_rew, outs, slot_over = ref.step(actions, infos)
        for i, a in enumerate(sorted(infos, key=lambda s: int(s.split("_")[1]))):
            assert rew[a] == want_rew[i], (steps, a, rew[a], want_rew[i])
            assert infos[a]["slot_end"] == slot_over
            assert infos[a]["pending_task_ids"].tolist() == pending_seen[i]
            for f in FLAGS:
                got = infos[a][f]
                if env.config.mode == "multi":
                    got, want = as_list(got), [o[i][f] for o in outs]
                else:
                    want = outs[0][i][f]
                assert got == want, (steps, a, f, got, want)
        ref.compare_state(env)
        done = ref.completed == ref.num_tasks
        assert all(term.values()) == done
        assert all(trunc.values()) == (not done and ref.t >= env.config.slots_limit)
    return env, steps


@settings(max_examples=150)
@given(scenarios())
def test_env_matches_the_reference_model(scenario):
    run_against_reference(*scenario)


def test_reference_model_on_full_default_episodes():
    for seed in range(3):
        env, steps = run_against_reference("tapfinger-synthetic", {}, "masked", seed)
        assert env.last_metrics["tasks_completed"] == 192 and steps > 100
    env, _ = run_against_reference("tapfinger-hetero6", {"num_tasks": 120}, "mixed", 5)
    assert env.last_metrics["conflicts"] > 0
