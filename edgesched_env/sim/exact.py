"""The exact (integer) blocks of the EdgeSched-v1 observation, as one compiled kernel.

The float blocks of the observation (``clusters``, ``pending``, ``running``) are normalised for
learning; the v1 observation adds the same facts as exact integers, plus the task ids and the
clock, so that a scheduler written by hand can work from the observation alone (issue 23: a
non-oracle scheduler reads only what a learned agent sees). The layout of each block is
:data:`edgesched_env.observation.EXACT_COLUMNS`; empty rows are ``-1`` throughout.

The blocks are written by :func:`edgesched_env.sim.kernels.observe` together with the float
blocks (one compiled call per step; the rows' logic is ``kernels._exact_rows``); this module
names them and gives :func:`observe_exact`, the kernel that writes only them.
"""

from __future__ import annotations

from edgesched_env.sim.kernels import EXACT_BLOCKS, ExactBlocks, observe_exact

__all__ = ["EXACT_BLOCKS", "ExactBlocks", "observe_exact"]
