"""The reference networks: workload shapes (for the zoo) and numpy forward passes that send every
GEMM through ``ops`` — the same layer names, so a mapping's shards apply to both.

``ops.gemm(name, W, X, m)``: X[rows x D] . W[N x D]^T with ``m`` rows per sample (tokens/pixels);
``ops.dyn(name, head, W, X)``: a dynamic matmul of one attention head (both operands activations).
"""
from __future__ import annotations

import math

import numpy as np

from ..blocks import encoder_block
from ..workload import Builder, Workload

VIT = {"patch": 7, "dim": 32, "heads": 2, "ffn": 64, "layers": 2}


# --------------------------------------------------------------------------------- workloads --
def mnist_mlp_workload(batch: int = 1) -> Workload:
    b = Builder(f"mnist-mlp[batch={batch}]")
    b.mlp((784, 256, 128, 10), batch)
    return b.build()


def mnist_cnn_workload(batch: int = 1) -> Workload:
    b = Builder(f"mnist-cnn[batch={batch}]")
    x, hw = b.conv("conv1", 1, 8, 3, 1, (28, 28), batch=batch)
    x = b.eltwise("relu1", 8, hw[0] * hw[1] * batch, [x])
    x = b.add("pool1", "pool", 8, 4, 14 * 14 * batch, inputs=[x])
    x, hw = b.conv("conv2", 8, 16, 3, 1, (14, 14), [x], batch=batch)
    x = b.eltwise("relu2", 16, hw[0] * hw[1] * batch, [x])
    x = b.add("pool2", "pool", 16, 4, 7 * 7 * batch, inputs=[x])
    b.gemm("fc", 10, 16 * 7 * 7, batch, [x])
    return b.build()


def tiny_transformer_workload(batch: int = 1) -> Workload:
    """A tiny ViT on MNIST: 7x7 patches -> 16 tokens + [CLS], dim 32, 2 heads, 2 pre-norm layers."""
    p, dim = VIT["patch"], VIT["dim"]
    b = Builder(f"tiny-transformer[batch={batch}]")
    x, (h, w) = b.conv("patch", 1, dim, p, p, (28, 28), pad=0, batch=batch)
    seq = h * w + 1
    for i in range(VIT["layers"]):
        x = encoder_block(b, f"l{i}", x, dim, VIT["heads"], VIT["ffn"], seq, groups=batch)
    x = b.norm("ln_f", dim, seq * batch, [x])
    b.gemm("head", 10, dim, batch, [(x, 1 / seq)])
    return b.build()


WORKLOADS = {"mnist-mlp": mnist_mlp_workload, "mnist-cnn": mnist_cnn_workload,
             "tiny-transformer": tiny_transformer_workload}


# --------------------------------------------------------------------------------- forwards ---
def _im2col(x: np.ndarray, k: int, stride: int, pad: int) -> np.ndarray:
    """[B, C, H, W] -> [B * H_out * W_out, C * k * k] (row-major over output pixels)."""
    B, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho, wo = (H + 2 * pad - k) // stride + 1, (W + 2 * pad - k) // stride + 1
    windows = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride][:, :, :ho, :wo]
    return np.ascontiguousarray(windows.transpose(0, 2, 3, 1, 4, 5)).reshape(B * ho * wo, C * k * k), ho, wo


def _conv(ops, name, x, w, bias, stride=1, pad=1):
    B = x.shape[0]
    k = w.shape[-1]
    cols, ho, wo = _im2col(x, k, stride, pad)
    y = ops.gemm(name, w.reshape(w.shape[0], -1), cols, ho * wo) + bias
    return y.reshape(B, ho, wo, -1).transpose(0, 3, 1, 2)


def _maxpool2(x):
    B, C, H, W = x.shape
    return x.reshape(B, C, H // 2, 2, W // 2, 2).max(axis=(3, 5))


def _layernorm(x, g, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def _gelu(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def mnist_mlp(p: dict, x: np.ndarray, ops) -> np.ndarray:
    h = x.reshape(len(x), -1)
    h = np.maximum(ops.gemm("fc1", p["fc1.w"], h, 1) + p["fc1.b"], 0)
    h = np.maximum(ops.gemm("fc2", p["fc2.w"], h, 1) + p["fc2.b"], 0)
    return ops.gemm("fc3", p["fc3.w"], h, 1) + p["fc3.b"]


def mnist_cnn(p: dict, x: np.ndarray, ops) -> np.ndarray:
    h = x[:, None]
    h = _maxpool2(np.maximum(_conv(ops, "conv1", h, p["conv1.w"], p["conv1.b"]), 0))
    h = _maxpool2(np.maximum(_conv(ops, "conv2", h, p["conv2.w"], p["conv2.b"]), 0))
    return ops.gemm("fc", p["fc.w"], h.reshape(len(h), -1), 1) + p["fc.b"]


def tiny_transformer(p: dict, x: np.ndarray, ops) -> np.ndarray:
    dim, heads = VIT["dim"], VIT["heads"]
    hd = dim // heads
    B = len(x)
    h = _conv(ops, "patch", x[:, None], p["patch.w"], p["patch.b"], stride=VIT["patch"], pad=0)
    h = h.reshape(B, dim, -1).transpose(0, 2, 1)                          # [B, 16, dim]
    h = np.concatenate([np.broadcast_to(p["cls"], (B, 1, dim)), h], axis=1) + p["pos"]
    seq = h.shape[1]
    for i in range(VIT["layers"]):
        a = _layernorm(h, p[f"l{i}.ln1.g"], p[f"l{i}.ln1.b"]).reshape(B * seq, dim)
        qkv = (ops.gemm(f"l{i}.attn.qkv", p[f"l{i}.qkv.w"], a, seq) + p[f"l{i}.qkv.b"]).reshape(B, seq, 3, heads, hd)
        out = np.empty((B, seq, heads, hd))
        for b in range(B):
            for hh in range(heads):
                q, k, v = qkv[b, :, 0, hh], qkv[b, :, 1, hh], qkv[b, :, 2, hh]
                att = _softmax(ops.dyn(f"l{i}.attn.qk", b * heads + hh, k, q) / math.sqrt(hd))
                out[b, :, hh] = ops.dyn(f"l{i}.attn.av", b * heads + hh, v.T, att)
        o = ops.gemm(f"l{i}.attn.proj", p[f"l{i}.proj.w"], out.reshape(B * seq, dim), seq) + p[f"l{i}.proj.b"]
        h = h + o.reshape(B, seq, dim)
        f = _layernorm(h, p[f"l{i}.ln2.g"], p[f"l{i}.ln2.b"]).reshape(B * seq, dim)
        f = _gelu(ops.gemm(f"l{i}.fc1", p[f"l{i}.fc1.w"], f, seq) + p[f"l{i}.fc1.b"])
        f = ops.gemm(f"l{i}.fc2", p[f"l{i}.fc2.w"], f, seq) + p[f"l{i}.fc2.b"]
        h = h + f.reshape(B, seq, dim)
    c = _layernorm(h[:, 0], p["ln_f.g"], p["ln_f.b"])
    return ops.gemm("head", p["head.w"], c, 1) + p["head.b"]


FORWARDS = {"mnist-mlp": mnist_mlp, "mnist-cnn": mnist_cnn, "tiny-transformer": tiny_transformer}


class FloatOps:
    """Exact float arithmetic: the reference every mapping is compared against."""

    def gemm(self, name, w, x, m):
        return x @ w.T

    def dyn(self, name, head, w, x):
        return x @ w.T
