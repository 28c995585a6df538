"""Building blocks the model definitions share (the zoo's and the trained models'): attention and
the transformer encoder block, in the zoo's GEMM conventions (``mapper/zoo.py``)."""
from __future__ import annotations

from .workload import Builder


def attention(b: Builder, p: str, x: str, dim: int, heads: int, seq: int, groups: int = 1) -> str:
    """QKV projection, per-head scores, softmax, weighted sum, output projection.
    ``groups`` independent sequences share the weights (MobileViT's pixel positions)."""
    hd = dim // heads
    tok = seq * groups
    qkv = b.gemm(f"{p}.qkv", 3 * dim, dim, tok, [x])
    qk = b.add(f"{p}.qk", "matmul", seq, hd, seq, batch=heads * groups, inputs=[(qkv, 2 / 3, False)])
    sm = b.add(f"{p}.softmax", "softmax", seq, 1, seq, batch=heads * groups, inputs=[qk])
    av = b.add(f"{p}.av", "matmul", hd, seq, seq, batch=heads * groups, inputs=[sm, (qkv, 1 / 3, False)])
    return b.gemm(f"{p}.proj", dim, dim, tok, [av])


def encoder_block(b: Builder, p: str, x: str, dim: int, heads: int, ffn: int, seq: int,
                   post_norm: bool = False, groups: int = 1) -> str:
    """Transformer encoder block, pre-norm (ViT, MobileViT) or post-norm (BERT)."""
    tok = seq * groups
    a_in = x if post_norm else b.norm(f"{p}.ln1", dim, tok, [x])
    a = attention(b, f"{p}.attn", a_in, dim, heads, seq, groups)
    r1 = b.eltwise(f"{p}.add1", dim, tok, [x, a])
    h_in = b.norm(f"{p}.ln1", dim, tok, [r1]) if post_norm else b.norm(f"{p}.ln2", dim, tok, [r1])
    h = b.gemm(f"{p}.fc1", ffn, dim, tok, [h_in])
    h = b.eltwise(f"{p}.act", ffn, tok, [h])
    h = b.gemm(f"{p}.fc2", dim, ffn, tok, [h])
    r2 = b.eltwise(f"{p}.add2", dim, tok, [h_in if post_norm else r1, h])
    return b.norm(f"{p}.ln2", dim, tok, [r2]) if post_norm else r2
