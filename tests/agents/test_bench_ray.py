"""``edgesched bench --backend ray``: the cells as Ray tasks give the serial run's results, byte for byte."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ray", reason="the [ray] extra is not installed")

from agents.bench import run_bench, write_outputs
from agents.cli import main

SCHEDULERS = ["fifo-greedy", "tetris", "random"]


def test_ray_backend_matches_the_serial_bench_byte_for_byte(tmp_path):
    serial = run_bench("tapfinger-synthetic", SCHEDULERS, [0, 3], progress=False, num_tasks=8)
    on_ray = run_bench(
        "tapfinger-synthetic", SCHEDULERS, [0, 3], progress=False, backend="ray", workers=2, num_tasks=8
    )
    write_outputs(serial, tmp_path / "serial", plots=False)
    write_outputs(on_ray, tmp_path / "ray", plots=False)
    for name in ("results.json", "summary.csv"):
        assert (tmp_path / "serial" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes(), name
    for key, jct in serial.jct.items():
        np.testing.assert_array_equal(jct, on_ray.jct[key])


def test_ray_backend_refuses_in_memory_schedulers_and_bad_backends():
    with pytest.raises(ValueError, match="workers=1"):
        run_bench("tapfinger-synthetic", ["x"], [0], backend="ray", instances={"x": object()})
    with pytest.raises(ValueError, match="backend"):
        run_bench("tapfinger-synthetic", ["fifo-greedy"], [0], backend="dask")
    with pytest.raises(SystemExit):
        main(["bench", "--backend", "dask"])
