"""Rendering: an ansi text frame and an RGB picture (matplotlib, imported lazily)."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from edgesched_env.sim.core import DONE, RUNNING

if TYPE_CHECKING:
    from edgesched_env.sim.view import SimView

__all__ = ["RENDER_MODES", "check_render_mode", "render_ansi", "render_rgb"]

#: the render modes the envs advertise: ``"rgb_array"`` only where matplotlib is installed (the
#: ``[viz]`` extra), so that env checkers never test a mode that cannot work.
RENDER_MODES: list[str] = ["human", "ansi"] + (
    ["rgb_array"] if importlib.util.find_spec("matplotlib") is not None else []
)


def check_render_mode(render_mode: str | None) -> None:
    """``ValueError`` for a render mode that is not available (naming the extra for rgb_array)."""
    if render_mode is None or render_mode in RENDER_MODES:
        return
    if render_mode == "rgb_array":
        raise ValueError("render_mode='rgb_array' needs matplotlib: pip install 'edgesched[viz]'")
    raise ValueError(f"render_mode must be one of {RENDER_MODES} or None, got {render_mode!r}")


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


def render_rgb(sim: SimView) -> NDArray[np.uint8]:
    """An ``(H, W, 3)`` uint8 picture: utilisation per resource over slots, and a task timeline
    (one bar per placed task, from arrival (light) through placement to completion, by cluster)."""
    # A Figure with its own Agg canvas: no pyplot, so the user's matplotlib backend is untouched.
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError("render_mode='rgb_array' needs matplotlib: pip install 'edgesched[viz]'") from exc

    fig = Figure(figsize=(8, 5), dpi=80)
    canvas = FigureCanvasAgg(fig)
    ax_u, ax_t = fig.subplots(2, 1)
    if sim.hist_used:
        used = np.stack(sim.hist_used).sum(axis=1) / sim.capacity.sum(axis=0)  # (S, R)
        for k, name in enumerate(sim.config.resource_names):
            ax_u.plot(used[:, k], label=name)
        ax_u.legend(loc="upper right", fontsize=7)
    ax_u.set_ylim(0, 1.05)
    ax_u.set_ylabel("utilisation")
    placed = np.flatnonzero(sim.placed_slot >= 0)
    end = np.where(sim.status[placed] == DONE, sim.completion_slot[placed] + 1, sim.t + 1)
    y = sim.host[placed] + (placed % 8) / 10.0
    colors = [f"C{int(c) % 10}" for c in sim.host[placed]]
    ax_t.hlines(y, sim.arrival_slot[placed], sim.placed_slot[placed], colors="0.8", lw=2)
    ax_t.hlines(y, sim.placed_slot[placed], end, colors=colors, lw=2)
    ax_t.set_xlabel("slot")
    ax_t.set_ylabel("cluster")
    ax_t.set_title(f"slot {sim.t}: {sim.num_completed}/{sim.num_tasks} done", fontsize=9)
    fig.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, :3].copy()
