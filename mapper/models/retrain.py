"""Hardware-aware fine-tuning (LionHeart's flow: a layer moved to analog tiles is retrained with
their noise before its accuracy is checked; noise injection as in aihwkit's hardware-aware training).

Each analog layer's error at ``t_s`` — programming noise, drift, read noise, and above all the
DAC/ADC quantization of its tile, whatever its unit's kernel does — is folded into one equivalent
output noise: the Gaussian sigma (in the layer's output units) with the same error power per output
as the tile on calibration inputs (``output_noise``; aihwkit's forward ``out_noise``). Fine-tuning
trains the torch twin of the network (``train.py``) for a few epochs on the training digits with
fresh noise of that sigma added to those layers' outputs at every step, so the weights settle where
the noise costs less. (Weight noise of the same error power was tried first: it leaves the tile's
quantization unmodelled and gained 0.1 point on mnist-cnn's conv2 where output noise gains 0.6, 3
epochs each.)
Deterministic for a seed. Needs torch (``pip install "prismsim[train]"``).
"""
from __future__ import annotations

from importlib.util import find_spec

import numpy as np

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import Unit

RETRAINABLE = ("mnist-mlp", "mnist-cnn")


def output_noise(unit: Unit, w: np.ndarray, x: np.ndarray, cfg, seed: int = 0) -> float:
    """Equivalent output-noise sigma of ``unit`` for the layer ``w`` on inputs ``x``: the root of
    the tile's mean error power per output element."""
    from ..accuracy import row_errors

    _, err = row_errors(unit, w, x, cfg, seed, True)
    return float(np.sqrt(err.sum() / (x.shape[0] * w.shape[0])))


def finetune(model: str, params: dict[str, np.ndarray], noise: dict[str, float], epochs: int = 3,
             seed: int = 0, lr: float = 1e-3) -> dict[str, np.ndarray]:
    """``params`` fine-tuned for ``epochs`` on the training digits with Gaussian noise of sigma
    ``noise[layer]`` added to those layers' outputs (before their bias) during training."""
    if model not in RETRAINABLE:
        raise PrismError(f"retraining supports {', '.join(RETRAINABLE)}, not {model!r}")
    if find_spec("torch") is None:
        raise PrismError("retraining needs torch: pip install 'prismsim[train]' (or -O retrain=0)")
    import torch

    from .data import split
    from .train import export, torch_models

    torch.manual_seed(seed)
    net = torch_models()[model]()
    state = {k.replace(".w", ".weight").replace(".b", ".bias"): torch.tensor(np.asarray(v, dtype=np.float32))
             for k, v in params.items()}
    net.load_state_dict(state)
    gen = torch.Generator().manual_seed(seed)

    def inject(sigma: float):
        def hook(mod, inputs, out):
            return out + sigma * torch.randn(out.shape, generator=gen) if mod.training else out
        return hook

    hooks = [getattr(net, name).register_forward_hook(inject(s)) for name, s in noise.items()]
    xtr, ytr, _, _ = split()
    X, Y = torch.tensor(xtr), torch.tensor(ytr)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    net.train()
    for _ in range(int(epochs)):
        for idx in torch.randperm(len(X), generator=gen).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(X[idx]), Y[idx]).backward()
            opt.step()
    for h in hooks:
        h.remove()
    net.eval()
    return {k: v.astype(np.float64) for k, v in export(model, net).items()}
