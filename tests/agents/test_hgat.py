"""The HGAT actor-critic: graph building, equivariance, masks, the Bayes resolver, checkpoints."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.nn import HANConv

import edgesched_env
from agents.checkpoint import CheckpointCorruptedError, CheckpointMismatchError, CheckpointNotFoundError
from agents.evaluate import evaluate
from agents.hgat import (
    GraphBuilder,
    HGATActorCritic,
    HGATScheduler,
    JointPolicy,
    ModelConfig,
    load_agent,
    save_agent,
)
from agents.hgat.conflicts import bayes_resolve, capacity_ratio
from agents.hgat.graph import EDGE_TYPES, NODE_TYPES
from agents.hgat.model import GraphHANConv
from edgesched_env import FixedTask
from edgesched_env.presets import make_config, preset_names

INSENSITIVE, GPU_CONCAVE = 0, 1


def model_for(config, seed: int = 0, **kw) -> HGATActorCritic:
    torch.manual_seed(seed)
    picks = config.max_picks if config.mode == "multi" else 1
    fields = dict(
        num_types=config.num_types,
        num_resources=config.num_resources,
        num_levels=max(config.num_levels),
        max_picks=picks,
        hidden=32,
        layers=2,
        heads=2,
        head_hidden=32,
    )
    fields.update(kw)
    return HGATActorCritic(ModelConfig(**fields))


def two_cluster_venv():
    tasks = (
        FixedTask(0, INSENSITIVE, (0, 1)),
        FixedTask(0, GPU_CONCAVE, (0,)),
        FixedTask(1, INSENSITIVE, (0, 1)),
    )
    return edgesched_env.vector_env(
        "tapfinger-synthetic", num_envs=1, capacities=[(16, 16), (8, 8)], fixed_tasks=tasks, num_tasks=3
    )


def batched(venv, obs):
    return GraphBuilder(venv.config).build(obs, venv.pending_task_ids())


# ------------------------------------------------------------------------------------ graph
def test_graph_of_a_hand_made_two_cluster_state():
    venv = two_cluster_venv()
    obs, _ = venv.reset(seed=0)
    gb = batched(venv, obs)
    # T0 is seen by both clusters (one shared node), T1 by cluster_0 only; nothing runs yet
    assert gb.num_nodes() == {"cluster": 2, "pending": 2, "running": 0, "hub": 1}
    offers = gb.edge_index[("cluster", "offers", "pending")]
    assert sorted(map(tuple, offers.T.tolist())) == [(0, 0), (0, 1), (1, 0)]
    assert torch.equal(gb.edge_index[("pending", "offered_by", "cluster")], offers.flip(0))
    assert gb.num_edges()[("cluster", "joins", "hub")] == 2
    assert gb.slot_node[0, 0, :2].tolist() == [0, 1] and gb.slot_node[0, 1, 0].item() == 0
    assert gb.slot_mask[0].sum().item() == 3
    # pending features: type one-hot, min request / 16 = (2/16, 1/16), waiting 0, seen by 2/2 and 1/2
    x = gb.x["pending"]
    assert x[0].tolist() == pytest.approx([1, 0, 2 / 16, 1 / 16, 0, 1.0])
    assert x[1].tolist() == pytest.approx([0, 1, 2 / 16, 1 / 16, 0, 0.5])
    # cluster features: all free, capacity relative to the largest (16 vs 8)
    assert gb.x["cluster"][1, :4].tolist() == pytest.approx([1, 1, 0.5, 0.5])
    assert gb.free_units[0].tolist() == [[16, 16], [8, 8]]
    assert gb.min_units[0, 0, 0].tolist() == [2, 1]
    assert gb.placeable[0, 0, :2].tolist() == [True, True]
    # place T1 on cluster_0 with (4, 8): it becomes a running node of cluster_0 only
    act = np.zeros((1, 2, 3), dtype=np.int64)
    act[0, 0] = [1, 4, 8]
    act[0, 1] = [10, 0, 0]
    obs, *_ = venv.step(act)
    gb = batched(venv, obs)
    assert gb.num_nodes() == {"cluster": 2, "pending": 1, "running": 1, "hub": 1}
    assert gb.edge_index[("cluster", "hosts", "running")].tolist() == [[0], [0]]
    assert gb.x["running"][0].tolist() == pytest.approx([0, 1, 4 / 16, 8 / 16, 0])
    assert gb.free_units[0].tolist() == [[12, 8], [8, 8]]


def test_graph_han_conv_equals_pyg_on_one_graph_and_ignores_batch_mates():
    venv = edgesched_env.vector_env("tapfinger-synthetic", num_envs=3)
    obs, _ = venv.reset(seed=5)
    rng = np.random.default_rng(0)
    for _ in range(25):
        obs, *_ = venv.step(edgesched_env.random_feasible_actions(obs, rng))
    builder = GraphBuilder(venv.config)
    ids = venv.pending_task_ids()
    meta = (list(NODE_TYPES), list(EDGE_TYPES))
    torch.manual_seed(0)
    ref, ours = HANConv(8, 8, meta, heads=2), GraphHANConv(8, 8, meta, heads=2)
    ours.load_state_dict(ref.state_dict())
    one = builder.build({k: v[1:2] for k, v in obs.items()}, ids[1:2])
    x1 = {t: torch.randn(n, 8) for t, n in one.num_nodes().items()}
    a, b = ref(x1, one.edge_index), ours(x1, one.edge_index, one.batch, 1)
    for t in NODE_TYPES:
        torch.testing.assert_close(a[t], b[t], rtol=1e-5, atol=1e-6)
    # the same graph inside a batch of three: its rows are unchanged
    model = model_for(venv.config)
    with torch.no_grad():
        full = model.slot_log_probs(builder.build(obs, ids))
        alone = model.slot_log_probs(one)
    torch.testing.assert_close(full[1:2], alone, rtol=1e-5, atol=1e-5)


def test_permuting_pending_positions_permutes_the_selection_log_probs():
    venv = edgesched_env.vector_env("tapfinger-synthetic", num_envs=2)
    obs, _ = venv.reset(seed=1)
    rng = np.random.default_rng(1)
    for _ in range(12):
        obs, *_ = venv.step(edgesched_env.random_feasible_actions(obs, rng))
    ids = venv.pending_task_ids()
    builder = GraphBuilder(venv.config)
    model = model_for(venv.config)
    perm = np.random.default_rng(2).permutation(venv.config.max_pending)
    pobs = dict(obs)
    for key in ("pending", "pending_mask", "alloc_mask"):
        pobs[key] = obs[key][:, :, perm]
    with torch.no_grad():
        base = model.slot_log_probs(builder.build(obs, ids))
        permuted = model.slot_log_probs(builder.build(pobs, ids[:, :, perm]))
    assert (ids >= 0).sum() > 4  # a non-trivial state
    torch.testing.assert_close(permuted[..., :-1], base[..., :-1][..., perm], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(permuted[..., -1], base[..., -1], rtol=1e-5, atol=1e-5)


def test_teacher_forcing_reproduces_the_sampled_log_probs():
    venv = edgesched_env.vector_env("edge-ml-small", num_envs=3)
    obs, _ = venv.reset(seed=3)
    builder = GraphBuilder(venv.config)
    model = model_for(venv.config)
    gb = builder.build(obs, venv.pending_task_ids())
    with torch.no_grad():
        out = model(gb, generator=torch.Generator().manual_seed(0))
        again = model(gb, actions=out.actions)
    torch.testing.assert_close(again.logp_slot, out.logp_slot)
    torch.testing.assert_close(again.logp_alloc, out.logp_alloc)
    torch.testing.assert_close(again.entropy, out.entropy)


# ------------------------------------------------------------------------------------ masks
def _episodes_respect_masks(
    preset: str,
    mode: str,
    num_tasks: int | None,
    seeds: list[int],
    max_rounds: int | None = None,
    max_slots: int | None = None,
) -> int:
    overrides: dict = {"mode": mode}
    if max_slots is not None:
        overrides["max_slots"] = max_slots
    if num_tasks is not None:
        overrides["num_tasks"] = num_tasks
    venv = edgesched_env.vector_env(preset, num_envs=len(seeds), **overrides)
    model = model_for(venv.config, seed=seeds[0])
    policy = JointPolicy(model, venv.config, seed=seeds[0])
    obs, _ = venv.reset(seed=seeds)
    done = np.zeros(len(seeds), dtype=bool)
    placed = 0
    for _ in range(max_rounds or 100_000):
        dec = policy.decide(obs, venv.pending_task_ids(), mode="sample")
        obs, _, term, trunc, infos = venv.step(dec.executed)
        live = ~infos["reset"]
        for key in ("infeasible", "clipped", "empty_slot"):
            assert not infos[key][live].any(), (preset, mode, key)
        if mode == "single":
            assert not infos["conflict"][live].any(), (preset, "Bayes resolver left a conflict")
        placed += int(infos["placed"][live].sum())
        done |= term | trunc
        if done.all():
            break
    assert max_rounds is not None or done.all(), (preset, mode, "episodes did not end")
    return placed


@pytest.mark.parametrize("mode", ["single", "multi"])
@pytest.mark.parametrize("preset", preset_names())
def test_random_weights_never_break_a_mask(preset, mode):
    assert _episodes_respect_masks(preset, mode, num_tasks=24, seeds=[7, 8], max_rounds=300) > 0


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["single", "multi"])
@pytest.mark.parametrize("preset", preset_names())
def test_random_weights_never_break_a_mask_full_episodes(preset, mode):
    # untrained weights can starve tasks for long: episodes end at 5x the expected length
    limit = make_config(preset).slots_limit // 20
    assert _episodes_respect_masks(preset, mode, num_tasks=None, seeds=[11], max_slots=limit) > 0


# --------------------------------------------------------------------------------- conflicts
def test_capacity_ratio_ignores_resources_without_a_minimum():
    free = np.array([[8, 3], [4, 12], [5, 5]])
    mins = np.array([[2, 1], [2, 0], [0, 0]])
    assert capacity_ratio(free, mins).tolist() == [3.0, 2.0, 0.0]


def test_bayes_resolver_hand_case():
    # one episode, three agents, P = 2: agents 0 and 1 both pick task 7, agent 2 picks task 9.
    ids = np.array([[[7, 9], [3, 7], [9, -1]]])
    actions = np.array([[[0, 2, 1], [1, 4, 2], [0, 2, 1]]])
    free = np.array([[[4, 4], [8, 8], [16, 16]]])
    mins = np.tile(np.array([2, 1]), (1, 3, 2, 1))
    # ratios: agent 0 min(4/2, 4/1) = 2, agent 1 min(8/2, 8/1) = 4 -> softmax (e^2, e^4) / sum
    w0, w1 = np.exp(2.0) / (np.exp(2.0) + np.exp(4.0)), np.exp(4.0) / (np.exp(2.0) + np.exp(4.0))
    # agent 0 is far surer of its pick: 0.9 * w0 = 0.1073 < 0.1 * w1? no: 0.1 * 0.8808 = 0.0881
    probs = np.array([[0.9, 0.1, 0.5]])
    executed, lost = bayes_resolve(actions, probs, ids, free, mins, np.random.default_rng(0))
    assert 0.9 * w0 > 0.1 * w1
    assert lost.tolist() == [[False, True, False]]
    assert executed[0, 1].tolist() == [2, 0, 0] and executed[0, 0].tolist() == [0, 2, 1]
    assert executed[0, 2].tolist() == [0, 2, 1]  # task 9 had one taker (agent 0 took slot 0 = 7)
    # a surer competitor on the bigger cluster wins instead
    executed, lost = bayes_resolve(
        actions, np.array([[0.3, 0.6, 0.5]]), ids, free, mins, np.random.default_rng(0)
    )
    assert lost.tolist() == [[True, False, False]] and executed[0, 0].tolist() == [2, 0, 0]
    # exact ties are drawn with the RNG: both outcomes happen over seeds
    tie_free = np.array([[[8, 8], [8, 8], [16, 16]]])
    winners = {
        int(np.flatnonzero(~bayes_resolve(actions, np.array([[0.5, 0.5, 0.5]]), ids, tie_free, mins,
                                          np.random.default_rng(s))[1][0, :2])[0])
        for s in range(20)
    }  # fmt: skip
    assert winners == {0, 1}
    # no duplicate: untouched
    solo = actions.copy()
    solo[0, 1] = [0, 2, 1]  # agent 1 now picks task 3
    executed, lost = bayes_resolve(solo, probs, ids, free, mins, np.random.default_rng(0))
    assert not lost.any() and np.array_equal(executed, solo)


# ------------------------------------------------------------------------------- checkpoints
def test_checkpoint_round_trip_is_exact(tmp_path):
    config = make_config("tapfinger-synthetic")
    model = model_for(config, seed=3)
    save_agent(tmp_path / "ck", model, config)
    loaded, meta, _ = load_agent(tmp_path / "ck", config)
    for (k, a), (k2, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(a, b)
    assert meta["trained_on"] == "tapfinger-synthetic" and meta["model_config"] == model.cfg.to_dict()
    venv = edgesched_env.vector_env(config, num_envs=2)
    obs, _ = venv.reset(seed=0)
    gb = GraphBuilder(config).build(obs, venv.pending_task_ids())
    with torch.no_grad():
        torch.testing.assert_close(model.slot_log_probs(gb), loaded.slot_log_probs(gb), rtol=0, atol=0)
    # a preset with the same layout but more clusters loads (the model does not depend on N)
    load_agent(tmp_path / "ck", make_config("tapfinger-synthetic6"))


def test_damaged_and_mismatched_checkpoints_raise_named_errors(tmp_path):
    config = make_config("tapfinger-synthetic")
    path = save_agent(tmp_path / "ck", model_for(config), config)
    # another feature layout (6 task types, 3 resources)
    with pytest.raises(CheckpointMismatchError, match=r"feature_layout|type_names"):
        load_agent(path, make_config("edge-ml-small"))
    # truncated weights
    weights = path / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointCorruptedError, match="truncated"):
        load_agent(path, config)
    # a flipped byte of the same size
    flipped = bytearray(data)
    flipped[-5] ^= 0xFF
    weights.write_bytes(bytes(flipped))
    with pytest.raises(CheckpointCorruptedError, match="sha256"):
        load_agent(path, config)
    weights.write_bytes(data)
    load_agent(path, config)
    # a model config that does not fit the weights
    doc = json.loads((path / "checkpoint.json").read_text())
    doc["meta"]["model_config"]["hidden"] = 48
    doc["meta"]["model_config"]["heads"] = 2
    (path / "checkpoint.json").write_text(json.dumps(doc))
    with pytest.raises(CheckpointMismatchError, match="shape"):
        load_agent(path, config)
    doc["meta"]["model_config"]["conv"] = "transformer"
    (path / "checkpoint.json").write_text(json.dumps(doc))
    with pytest.raises(CheckpointCorruptedError, match="model_config"):
        load_agent(path, config)
    with pytest.raises(CheckpointNotFoundError):
        load_agent(tmp_path / "nowhere", config)
    # per-agent heads need the same number of clusters
    per_agent = save_agent(tmp_path / "pa", model_for(config, shared_actor=False, num_agents=3), config)
    with pytest.raises(CheckpointMismatchError, match="num_agents"):
        load_agent(per_agent, make_config("tapfinger-synthetic6"))


# -------------------------------------------------------------------------------- scheduler
def test_hgat_scheduler_plays_bench_episodes_deterministically(tmp_path):
    config = make_config("tapfinger-synthetic")
    path = save_agent(tmp_path / "ck", model_for(config), config)
    for mode in ("greedy", "sample"):
        a = evaluate(HGATScheduler(path, mode=mode), "tapfinger-synthetic", seeds=[0, 1], num_tasks=20)
        b = evaluate(HGATScheduler(path, mode=mode), "tapfinger-synthetic", seeds=[0, 1], num_tasks=20)
        assert [r["mean_jct"] for r in a] == [r["mean_jct"] for r in b]
        assert all(r["tasks_completed"] == 20 and r["infeasible_actions"] == 0 for r in a)
        assert all(r["clipped_actions"] == 0 and r["conflicts"] == 0 for r in a)


def test_hgat_scheduler_matches_the_vector_policy(tmp_path):
    """The scheduler (one env, batch of one) and the trainer's evaluation (vector env) agree."""
    from agents.mappo.trainer import evaluate_model

    config = make_config("tapfinger-synthetic", num_tasks=20)
    model = model_for(config, seed=4)
    path = save_agent(tmp_path / "ck", model, config)
    vec = evaluate_model(model, config, [3, 4])
    single = evaluate(HGATScheduler(path), config, seeds=[3, 4])
    assert [m["mean_jct"] for m in vec] == [r["mean_jct"] for r in single]


def test_model_config_rejects_bad_values():
    with pytest.raises(ValueError, match="conv"):
        ModelConfig(num_types=2, num_resources=2, num_levels=17, conv="gcn")
    with pytest.raises(ValueError, match="divisible"):
        ModelConfig(num_types=2, num_resources=2, num_levels=17, hidden=30, heads=4)
    with pytest.raises(ValueError, match="num_agents"):
        ModelConfig(num_types=2, num_resources=2, num_levels=17, shared_actor=False)
    with pytest.raises(ValueError, match="unknown ModelConfig keys"):
        ModelConfig.from_dict({"num_types": 2, "num_resources": 2, "num_levels": 17, "width": 3})


@pytest.mark.parametrize("conv", ["han", "hgt", "gatv2"])
def test_every_encoder_option_decodes_feasible_actions(conv):
    assert _episodes_respect_masks_with(conv) > 0


def _episodes_respect_masks_with(conv: str) -> int:
    venv = edgesched_env.vector_env("tapfinger-hetero6", num_envs=2, num_tasks=16)
    policy = JointPolicy(model_for(venv.config, conv=conv), venv.config)
    obs, _ = venv.reset(seed=0)
    placed = 0
    for _ in range(400):
        dec = policy.decide(obs, venv.pending_task_ids())
        obs, _, term, trunc, infos = venv.step(dec.executed)
        assert not (infos["infeasible"] | infos["clipped"] | infos["empty_slot"]).any()
        placed += int(infos["placed"].sum())
        if (term | trunc).all():
            break
    return placed


def test_per_agent_heads_decode_feasible_actions_and_differ_by_agent():
    venv = edgesched_env.vector_env("tapfinger-synthetic", num_envs=2, num_tasks=16)
    model = model_for(venv.config, shared_actor=False, num_agents=3)
    assert len(model.actor) == 3
    policy = JointPolicy(model, venv.config)
    obs, _ = venv.reset(seed=0)
    for _ in range(100):
        dec = policy.decide(obs, venv.pending_task_ids())
        obs, _, term, trunc, infos = venv.step(dec.executed)
        assert not (infos["infeasible"] | infos["clipped"] | infos["empty_slot"]).any()
        if (term | trunc).all():
            break
    # agent i uses head i: changing head 1 only changes agent 1's distribution
    gb = GraphBuilder(venv.config).build(obs, venv.pending_task_ids())
    with torch.no_grad():
        before = model.slot_log_probs(gb)
        model.actor[1].stop_bias.add_(3.0)
        after = model.slot_log_probs(gb)
    torch.testing.assert_close(after[:, [0, 2]], before[:, [0, 2]])


COMMITTED = sorted((Path(__file__).resolve().parents[2] / "benchmarks" / "checkpoints").glob("hgat-*"))


@pytest.mark.parametrize("path", COMMITTED, ids=[p.name for p in COMMITTED])
def test_committed_checkpoints_load_and_play(path):
    """The agents the README reports still load under this code and play feasible episodes."""
    meta = json.loads((path / "checkpoint.json").read_text())["meta"]
    preset = meta["trained_on"]
    with warnings.catch_warnings():  # written by this package version: no version warning
        warnings.simplefilter("error", UserWarning)
        load_agent(path, make_config(preset))
    recs = evaluate(HGATScheduler(path), preset, seeds=[0], num_tasks=20)
    assert recs[0]["tasks_completed"] == 20 and recs[0]["infeasible_actions"] == 0
