"""Rendering: an ansi text frame and an RGB picture drawn with numpy alone (every install)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from edgesched_env._names import did_you_mean
from edgesched_env.sim.core import RUNNING

if TYPE_CHECKING:
    from edgesched_env.sim.view import SimView

__all__ = ["RENDER_MODES", "check_render_mode", "render_ansi", "render_rgb"]

#: the render modes the envs advertise; each works on the base install (numpy only).
RENDER_MODES: list[str] = ["human", "ansi", "rgb_array"]


def check_render_mode(render_mode: str | None) -> None:
    """``ValueError`` for a render mode the envs do not have."""
    if render_mode is None or render_mode in RENDER_MODES:
        return
    raise ValueError(
        f"render_mode must be one of {RENDER_MODES} or None, got {render_mode!r}"
        f"{did_you_mean(render_mode, RENDER_MODES)}"
    )


_BAR = 16


def _bar(used: int, cap: int) -> str:
    filled = round(_BAR * used / cap) if cap else 0
    return "[" + "#" * filled + "." * (_BAR - filled) + "]"


def render_ansi(sim: SimView) -> str:
    """One text frame: per cluster, a usage bar per resource, pending / queue / running counts and
    the running tasks (``id:type@units``)."""
    cfg = sim.config
    names = [t.name for t in cfg.workload.task_types]
    lines = [
        f"slot {sim.t}  round {sim.round_in_slot}  arrived {sim.num_arrived}/{sim.num_tasks}  "
        f"done {sim.num_completed}  in system {sim.in_system}"
    ]
    run = np.flatnonzero(sim.status == RUNNING)
    for i in range(cfg.num_clusters):
        bars = "  ".join(
            f"{r} {_bar(int(sim.capacity[i, k] - sim.free[i, k]), int(sim.capacity[i, k]))} "
            f"{int(sim.capacity[i, k] - sim.free[i, k]):>3}/{int(sim.capacity[i, k])}"
            for k, r in enumerate(cfg.resource_names)
        )
        mine = run[sim.host[run] == i]
        tasks = " ".join(
            f"{t}:{names[sim.type_idx[t]]}@{','.join(str(int(u)) for u in sim.alloc[t])}" for t in mine
        )
        lines.append(
            f"cluster_{i}: {bars}  pending {int(sim.pending_count[i])} queue {int(sim.queue_len[i])} "
            f"running {int(sim.running_count[i])}"
        )
        if tasks:
            lines.append(f"    running {tasks}")
    return "\n".join(lines)


#: the picture's size (pixels) and colours (RGB): one colour per resource, then the queue's.
RGB_HEIGHT, RGB_WIDTH = 400, 640
_PALETTE = np.array(
    [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189], [140, 86, 75]],
    dtype=np.uint8,
)
_QUEUE = np.array([90, 90, 90], dtype=np.uint8)
_TRACK = np.array([225, 225, 225], dtype=np.uint8)
_MARGIN = 8


def _hbar(
    img: NDArray[np.uint8], y: int, h: int, x0: int, x1: int, frac: float, color: NDArray[np.uint8]
) -> None:
    """A horizontal gauge on rows ``[y, y + h)``: a light track over ``[x0, x1)`` filled to ``frac``."""
    img[y : y + h, x0:x1] = _TRACK
    fill = x0 + round((x1 - x0) * min(max(frac, 0.0), 1.0))
    img[y : y + h, x0:fill] = color


def render_rgb(sim: SimView) -> NDArray[np.uint8]:
    """An ``(RGB_HEIGHT, RGB_WIDTH, 3)`` uint8 picture of the state, drawn with numpy alone.

    Top three fifths, one band per cluster (``cluster_0`` at the top): a gauge per resource, filled
    to its used / capacity (resource ``k`` in colour ``k``), and a grey gauge of the tasks waiting
    there (pending + queued, relative to the largest such count, at least ``max_pending``).
    Bottom: the whole system's utilisation per resource over the slots so far (one curve per
    resource, the latest slots when there are more than pixels), under a thin bar of the share
    of tasks completed (grey). The same state gives the same picture, on every install.
    """
    cfg = sim.config
    n, r = cfg.num_clusters, cfg.num_resources
    img = np.full((RGB_HEIGHT, RGB_WIDTH, 3), 255, dtype=np.uint8)
    colors = _PALETTE[np.arange(r) % len(_PALETTE)]
    x0, x1 = _MARGIN, RGB_WIDTH - _MARGIN
    # clusters: resource gauges and the waiting gauge
    top = RGB_HEIGHT * 3 // 5
    band = (top - _MARGIN) / n
    rows = r + 1
    row_h = max(1, (int(band) - 3) // rows)  # 3 blank rows between clusters
    gap = 1 if row_h > 2 else 0
    cap, used = sim.capacity, sim.capacity - sim.free  # (N, R) units
    waiting = sim.pending_count + sim.queue_len  # (N,) tasks
    scale = max(int(waiting.max(initial=0)), cfg.max_pending, 1)
    for i in range(n):
        y = _MARGIN + int(i * band)
        for k in range(r):
            frac = float(used[i, k] / cap[i, k]) if cap[i, k] else 0.0
            _hbar(img, y + k * row_h, row_h - gap, x0, x1, frac, colors[k])
        _hbar(img, y + r * row_h, row_h - gap, x0, x1, float(waiting[i]) / scale, _QUEUE)
    # completed share
    y = top + 2
    _hbar(img, y, 4, x0, x1, sim.num_completed / max(sim.num_tasks, 1), _QUEUE)
    # utilisation over slots
    y0, y1 = y + 4 + _MARGIN, RGB_HEIGHT - _MARGIN  # plot rows [y0, y1)
    img[y1 - 1, x0:x1] = _QUEUE  # the axis (utilisation 0)
    if sim.hist_used:
        util = np.stack(sim.hist_used).sum(axis=1) / np.maximum(cap.sum(axis=0), 1)  # (S, R)
        width = x1 - x0
        util = util[-width:]
        step = width // util.shape[0]  # pixels per slot (>= 1): a step curve
        util = np.repeat(util, step, axis=0)
        xs = x0 + np.arange(util.shape[0])
        for k in range(r):
            ys = (y1 - 3 - np.clip(util[:, k], 0.0, 1.0) * (y1 - y0 - 3)).astype(np.int64)
            img[ys, xs] = colors[k]
            img[ys + 1, xs] = colors[k]
    return img
