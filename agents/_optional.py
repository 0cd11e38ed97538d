"""Optional dependencies: which extra each feature needs, and the one-line error that names it.

A feature that needs an optional library calls :func:`require` (one module) or
:func:`require_extra` (every module of an extra) where the user asks for it: a scheduler name,
an integration's public function, a CLI command. A missing library then raises
:class:`MissingExtraError`, a ``ModuleNotFoundError`` whose message is one line::

    'hgat' scheduler needs torch: pip install 'edgesched[agents]' (with torch==2.13.0 in the same command)

:data:`MODULE_EXTRAS` is the one mapping from modules to the extra they need (the docs and the
errors name the same extra; ``tests/test_extras.py`` checks it against ``pyproject.toml``).
"""

from __future__ import annotations

import difflib
import importlib
from types import ModuleType

__all__ = [
    "EXTRAS",
    "EXTRA_MODULES",
    "MODULE_EXTRAS",
    "MissingExtraError",
    "as_missing_extra",
    "check_extra",
    "extra_of",
    "install_hint",
    "require",
    "require_extra",
]

#: The extras of ``pyproject.toml`` and what each enables (``base``: ``pip install -e .``).
EXTRAS: dict[str, str] = {
    "agents": "the HGAT agent: `edgesched train`/`eval`, the `hgat` schedulers, checkpoints",
    "sb3": "stable-baselines3 / sb3-contrib MaskablePPO (agents.integrations.sb3, `sb3:PATH`)",
    "torchrl": "the native TorchRL env and its MAPPO recipe (agents.integrations.torchrl)",
    "benchmarl": "the BenchMARL task family (agents.integrations.benchmarl; pins torchrl)",
    "rllib": "RLlib PPO with action masking (agents.integrations.rllib; pins gymnasium)",
    "viz": "the plots of `edgesched bench`/`eval`/`train` (matplotlib)",
    "plan": "the clairvoyant `oracle-plan` reference (OR-Tools CP-SAT)",
    "tb": "TensorBoard event files from `edgesched train`",
    "ray": "`edgesched bench --backend ray` (Ray core)",
    "dev": "everything above but rllib, benchmarl and tb, and the test and lint tools",
}

#: The modules a feature of each extra imports, checked in this order by :func:`require_extra`.
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "agents": ("torch", "torch_geometric", "safetensors"),
    "sb3": ("torch", "stable_baselines3", "sb3_contrib", "torch_geometric", "safetensors"),
    "torchrl": ("torch", "tensordict", "torchrl"),
    "benchmarl": ("torch", "tensordict", "torchrl", "benchmarl"),
    "ray": ("ray",),  # before rllib: ``extra_of("ray")`` is the smallest extra with it
    "rllib": ("torch", "ray.rllib"),
    "viz": ("matplotlib",),
    "plan": ("ortools",),
    "tb": ("tensorboard",),  # written through torch.utils.tensorboard: with [agents]
}

#: The extra each optional part of the package needs (a key is a module or a package prefix).
MODULE_EXTRAS: dict[str, str] = {
    "agents.hgat": "agents",
    "agents.checkpoint": "agents",
    "agents.mappo": "agents",
    "agents.integrations.sb3": "sb3",
    "agents.integrations.torchrl": "torchrl",
    "agents.integrations.benchmarl": "benchmarl",
    "agents.integrations.rllib": "rllib",
    "agents.plots": "viz",
    "agents.baselines.oracle_plan": "plan",
}

#: The extras whose libraries depend on torch: pin it in the same pip command.
_TORCH_EXTRAS = frozenset({"agents", "sb3", "torchrl", "benchmarl", "rllib", "dev"})


class MissingExtraError(ModuleNotFoundError):
    """An optional library is not installed; the message names the extra that installs it."""


def check_extra(extra: str) -> str:
    """``extra`` if it is an extra of the package, else a ``ValueError`` listing the closest."""
    if extra in EXTRAS:
        return extra
    close = difflib.get_close_matches(extra, list(EXTRAS), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"unknown extra {extra!r}{hint} (extras: {', '.join(EXTRAS)})")


def install_hint(extra: str) -> str:
    """``pip install 'edgesched[EXTRA]'``, with the torch pin note where the extra needs torch."""
    check_extra(extra)
    cmd = f"pip install 'edgesched[{extra}]'"
    return cmd + " (with torch==2.13.0 in the same command)" if extra in _TORCH_EXTRAS else cmd


def _message(feature: str, module: str, extra: str) -> str:
    return f"{feature} needs {module.split('.')[0]}: {install_hint(extra)}"


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming ``extra``.

    Args:
        module: the module to import (``"torch"``, ``"stable_baselines3.common.vec_env"``).
        extra: the extra that installs it (one of :data:`EXTRAS`; an unknown one is a
            ``ValueError`` listing the closest names).
        feature: what the user asked for, as the message's subject (``"'hgat' scheduler"``).
    """
    check_extra(extra)
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = exc.name or module
        raise MissingExtraError(_message(feature, missing, extra), name=missing) from exc
    except ImportError as exc:  # installed but broken (a version the extra does not pin, ...)
        raise MissingExtraError(
            f"{_message(feature, module, extra)} (importing {module} failed: {exc})", name=module
        ) from exc


def require_extra(extra: str, feature: str) -> None:
    """Import every module of ``extra`` (:data:`EXTRA_MODULES`), or :class:`MissingExtraError`."""
    check_extra(extra)
    if extra not in EXTRA_MODULES:
        raise ValueError(f"require_extra: {extra!r} is a set of extras; name one of {list(EXTRA_MODULES)}")
    for module in EXTRA_MODULES[extra]:
        require(module, extra, feature)


def extra_of(module: str) -> str | None:
    """The extra that installs the top-level ``module`` (``"torch"`` -> ``"agents"``), or ``None``."""
    top = module.split(".")[0]
    for extra, modules in EXTRA_MODULES.items():  # the first extra naming it: the smallest
        if any(m.split(".")[0] == top for m in modules):
            return extra
    return None


def as_missing_extra(exc: ModuleNotFoundError, feature: str) -> MissingExtraError | None:
    """``exc`` as a :class:`MissingExtraError` of ``feature`` if the missing module belongs to
    an extra (a plain ``No module named 'torch'`` from deep inside a command), else ``None``."""
    if isinstance(exc, MissingExtraError):
        return exc
    extra = extra_of(exc.name or "")
    if extra is None:
        return None
    return MissingExtraError(_message(feature, exc.name or "", extra), name=exc.name)
