"""The fp16 product (half_matmul.c) gives numpy's fp32 product of the same weights, on every
instruction set this CPU runs, for any row count and a last tile left partial."""

from __future__ import annotations

import platform

import numpy as np
import pytest

from stenogram.core import half_matrix
from stenogram.core.half_matrix import HalfMatrix

ISAS = range(1, half_matrix.best_isa() + 1)


def test_the_kernel_is_built_and_runs_here():
    if platform.machine() != "x86_64":
        pytest.skip("the kernel has x86-64 instructions only; elsewhere fp32 numpy products run")
    # setup.py builds it (optional, so a failed build would only show as slowness): say so here
    assert half_matrix.available(), "app/stenogram/core/half_matmul.c is not built: pip install -e ."
    assert half_matrix.best_isa() >= 1


def _weights(k: int, n: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((k, n)) * 0.05).astype(np.float16)


@pytest.mark.skipif(not half_matrix.available(), reason="the fp16 kernel does not run here")
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("rows", [1, 2, 3, 4, 7, 8, 9, 17, 40])
def test_products_match_fp32_numpy(isa: int, rows: int):
    weights = _weights(384, 32 * 40 + 7)  # 7 columns in the last tile
    matrix = HalfMatrix(weights, isa=isa)
    x = np.random.default_rng(rows).standard_normal((rows, 384), dtype=np.float32)
    expected = x @ weights.astype(np.float32)
    actual = x @ matrix
    assert actual.shape == expected.shape and actual.dtype == np.float32
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(not half_matrix.available(), reason="the fp16 kernel does not run here")
def test_leading_axes_columns_and_memory():
    weights = _weights(64, 100)
    matrix = HalfMatrix(weights)
    x = np.random.default_rng(1).standard_normal((2, 3, 64), dtype=np.float32)
    np.testing.assert_allclose(x @ matrix, x @ weights.astype(np.float32), rtol=1e-4, atol=1e-5)
    assert (np.empty((0, 64), dtype=np.float32) @ matrix).shape == (0, 100)
    index = np.array([[0, 31, 32], [99, 5, 64]])
    assert np.array_equal(matrix.take_columns(index), np.moveaxis(weights[:, index], 0, -1).astype(np.float32))
    assert matrix.nbytes == 64 * 128 * 2  # fp16, padded to whole tiles of 32 columns


@pytest.mark.skipif(not half_matrix.available(), reason="the fp16 kernel does not run here")
def test_bad_shapes_and_instruction_sets_are_refused():
    matrix = HalfMatrix(_weights(8, 40))
    with pytest.raises(ValueError, match=r"cannot multiply \(2, 9\)"):
        np.ones((2, 9), dtype=np.float32) @ matrix
    with pytest.raises(ValueError, match="instruction set 3"):
        HalfMatrix(_weights(8, 40), isa=3)


def test_switched_off_it_is_not_offered(monkeypatch):
    monkeypatch.setattr(half_matrix, "_kernel", half_matrix._kernel.fresh())
    monkeypatch.setenv(half_matrix.DISABLE_ENV, "0")
    assert not half_matrix.available()
    with pytest.raises(RuntimeError, match="not available"):
        HalfMatrix(_weights(8, 40))
