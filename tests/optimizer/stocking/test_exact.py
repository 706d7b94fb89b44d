"""Enumerating the stock vectors of a box (the exact stocking and the exact design start there)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.stocking.exact import box_vectors


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(0, 3), min_size=2, max_size=2), min_size=1, max_size=3))
def test_box_vectors_are_every_vector_in_the_box_once(upper: list[list[int]]) -> None:
    up = np.array(upper)
    parts, vecs = box_vectors(up)
    assert len(vecs) == int(np.prod(up + 1, axis=1).sum())
    assert np.all(vecs >= 0) and np.all(vecs <= up[parts])
    keys = {(int(p), *map(int, v)) for p, v in zip(parts, vecs, strict=True)}
    assert len(keys) == len(vecs)


def test_box_too_large_is_refused() -> None:
    with pytest.raises(ValueError, match="small instances"):
        box_vectors(np.full((3, 12), 4))
