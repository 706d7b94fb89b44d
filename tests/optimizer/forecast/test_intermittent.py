"""Intermittent-demand methods against hand-computed values and independent scalar versions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from optimizer.forecast.intermittent import (
    METHODS,
    croston_path,
    moving_average_path,
    naive_path,
    sba_path,
    tsb_path,
)

Y = np.array([0, 2, 0, 0, 3, 0, 1.0])


def test_croston_by_hand() -> None:
    # first demand 2 after 2 periods: z=2, p=2 -> 1; then y=3 after 3: z=2.5, p=2.5 -> 1;
    # then y=1 after 2: z=1.75, p=2.25 -> 0.7778
    f = croston_path(Y, alpha=0.5)[0]
    np.testing.assert_allclose(f, [0, 0, 1, 1, 1, 1, 1, 1.75 / 2.25])


def test_sba_is_debiased_croston() -> None:
    np.testing.assert_allclose(sba_path(Y, 0.5), croston_path(Y, 0.5) * 0.75)


def test_tsb_by_hand() -> None:
    # d=1/2, z=2 -> 1; y=0: d=.25 -> .5; y=0: d=.125 -> .25; y=3: d=.5625, z=2.5 -> 1.40625;
    # y=0: d=.28125 -> .703125; y=1: d=.640625, z=1.75 -> 1.12109375
    f = tsb_path(Y, alpha=0.5, beta=0.5)[0]
    np.testing.assert_allclose(f, [0, 0, 1, 0.5, 0.25, 1.40625, 0.703125, 1.12109375])


def test_naive_and_moving_average_by_hand() -> None:
    np.testing.assert_allclose(naive_path(Y)[0], [0, 0, 2, 0, 0, 3, 0, 1])
    np.testing.assert_allclose(moving_average_path(Y, 3)[0],
                               [0, 0, 1, 2 / 3, 2 / 3, 1, 1, 4 / 3])


def _croston_scalar(y: list[float], alpha: float) -> float:
    """Textbook loop, one series, missing values skipped."""
    z = p = None
    q = 0
    for v in y:
        if math.isnan(v):
            continue
        q += 1
        if v > 0:
            if z is None:
                z, p = v, q
            else:
                z += alpha * (v - z)
                p += alpha * (q - p)
            q = 0
    return 0.0 if z is None else z / p


@settings(max_examples=40, deadline=None)
@given(arrays(float, st.tuples(st.integers(1, 4), st.integers(1, 20)),
              elements=st.one_of(st.integers(0, 6).map(float), st.just(float("nan")))),
       st.floats(0.05, 1.0))
def test_croston_matches_scalar_loop(y: np.ndarray, alpha: float) -> None:
    f = croston_path(y, alpha)[:, -1]
    np.testing.assert_allclose(f, [_croston_scalar(list(r), alpha) for r in y], atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(arrays(float, st.tuples(st.integers(1, 4), st.integers(1, 20)),
              elements=st.one_of(st.integers(0, 6).map(float), st.just(float("nan")))),
       st.integers(1, 6))
def test_moving_average_matches_pandas(y: np.ndarray, window: int) -> None:
    f = moving_average_path(y, window)[:, -1]
    expect = [pd.Series(r).dropna().tail(window).mean() if (~np.isnan(r)).any() else 0.0
              for r in y]
    np.testing.assert_allclose(f, expect, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(arrays(float, st.tuples(st.integers(1, 3), st.integers(1, 24)),
              # demand quantities: 0 or at least 1e-6 (a subnormal times c < 1 underflows to 0
              # and turns a demand occurrence into none, which no forecast can be equivariant to)
              elements=st.one_of(st.just(0.0), st.floats(1e-6, 50), st.just(float("nan")))),
       st.floats(0.01, 100))
def test_forecasts_nonnegative_finite_and_scale_equivariant(y: np.ndarray, c: float) -> None:
    for name, fn in METHODS.items():
        f = fn(y)
        assert np.all(np.isfinite(f)) and np.all(f >= 0), name
        np.testing.assert_allclose(fn(c * y), c * f, rtol=1e-9, atol=1e-9, err_msg=name)


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        croston_path(np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="alpha"):
        tsb_path(Y, alpha=0.0)
    with pytest.raises(ValueError, match="window"):
        moving_average_path(Y, 0)
