"""Hardware-aware fine-tuning (LionHeart's flow: a layer moved to analog tiles is retrained with
their noise before its accuracy is checked; noise injection as in aihwkit's hardware-aware training).

Each analog layer's non-idealities at ``t_s`` (programming noise, drift, read noise, ADC and DAC
quantization: whatever its unit's kernel does) are folded into one equivalent weight noise: the
Gaussian sigma, as a fraction of the layer's largest weight, that gives the same output error power
on calibration inputs as the tile (``weight_noise``). Fine-tuning then trains the torch twin of
the network (``train.py``) for a few epochs on the training digits with fresh noise of that sigma
added to those layers' weights at every step — the gradient taken at the noisy weights, applied
to the clean ones — so the weights settle where the noise costs less. Deterministic for a seed.
Needs torch (``pip install "prismsim[train]"``).
"""
from __future__ import annotations

from importlib.util import find_spec

import numpy as np

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import Unit

RETRAINABLE = ("mnist-mlp", "mnist-cnn")


def weight_noise(unit: Unit, w: np.ndarray, x: np.ndarray, cfg, seed: int = 0) -> float:
    """Equivalent weight-noise sigma (fraction of max |w|) of ``unit`` for the layer ``w`` on
    inputs ``x``: output error power = sigma_w^2 * rows * sum_b |x_b|^2."""
    from ..accuracy import row_errors

    _, err = row_errors(unit, w, x, cfg, seed, True)
    energy = float((x ** 2).sum()) * w.shape[0]
    return float(np.sqrt(err.sum() / energy)) / (float(np.abs(w).max()) or 1.0) if energy else 0.0


def finetune(model: str, params: dict[str, np.ndarray], noise: dict[str, float], epochs: int = 3,
             seed: int = 0, lr: float = 1e-3) -> dict[str, np.ndarray]:
    """``params`` fine-tuned for ``epochs`` on the training digits with ``noise[layer]`` (sigma as
    a fraction of the layer's max |w|) injected into those layers' weights."""
    if model not in RETRAINABLE:
        raise PrismError(f"retraining supports {', '.join(RETRAINABLE)}, not {model!r}")
    if find_spec("torch") is None:
        raise PrismError("retraining needs torch: pip install 'prismsim[train]' (or -O retrain=0)")
    import torch

    from .data import split
    from .train import _export, _torch_models

    torch.manual_seed(seed)
    net = _torch_models()[model]()
    state = {k.replace(".w", ".weight").replace(".b", ".bias"): torch.tensor(np.asarray(v, dtype=np.float32))
             for k, v in params.items()}
    net.load_state_dict(state)
    noisy = {name: getattr(net, name).weight for name in noise}
    xtr, ytr, _, _ = split()
    X, Y = torch.tensor(xtr), torch.tensor(ytr)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(int(epochs)):
        for idx in torch.randperm(len(X), generator=gen).split(64):
            clean = {n: w.detach().clone() for n, w in noisy.items()}
            with torch.no_grad():
                for n, w in noisy.items():
                    w.add_(noise[n] * w.abs().max() * torch.randn(w.shape, generator=gen))
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(X[idx]), Y[idx]).backward()
            with torch.no_grad():
                for n, w in noisy.items():
                    w.copy_(clean[n])
            opt.step()
    net.eval()
    return {k: v.astype(np.float64) for k, v in _export(model, net).items()}
