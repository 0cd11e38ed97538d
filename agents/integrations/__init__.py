"""Adapters so third-party RL libraries train against edgesched, and what they learn is benched.

One module per library, each importing its library lazily (importing this package never imports
one): :mod:`agents.integrations.sb3` (stable-baselines3 / sb3-contrib). See
``docs/integrations.md`` for the interface options every adapter builds on.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise an ``ImportError`` that names the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"this integration needs {module.split('.')[0]!r}: pip install torch==2.13.0 'edgesched[{extra}]'"
        ) from exc
