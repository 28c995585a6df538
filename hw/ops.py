"""The shape of one operation (or shard of one) as the unit cost functions see it.

GEMM convention (SimPhony's): Y[N x M] = W[N x D] . X[D x M], repeated ``batch`` times
(heads of attention, groups of a grouped/depthwise conv). A static-weight layer has batch = 1
and its tokens/pixels (times the input batch) in M. Non-GEMM ops use N x M output elements per
batch and D as the reduction window (pool) or 1.
"""
from __future__ import annotations

from dataclasses import dataclass

GEMM_KINDS = frozenset({"gemm", "conv", "matmul"})  # matmul = dynamic (both operands activations)
VECTOR_KINDS = frozenset({"elementwise", "softmax", "norm", "pool", "embedding"})
ALL_KINDS = GEMM_KINDS | VECTOR_KINDS


@dataclass(frozen=True)
class Op:
    """One operation shard. Sizes are element counts; bits are per element."""

    kind: str
    n: int
    d: int
    m: int
    batch: int = 1
    static_weights: bool = False
    act_bits: int = 8
    weight_bits: int = 8

    @property
    def is_gemm(self) -> bool:
        return self.kind in GEMM_KINDS

    @property
    def macs(self) -> int:
        return self.batch * self.n * self.d * self.m if self.is_gemm else 0

    @property
    def out_elements(self) -> int:
        return self.batch * self.n * self.m

    @property
    def vector_ops(self) -> int:
        """Elementary operations of a non-GEMM op (pool: window reads; others: per element)."""
        return self.out_elements * max(1, self.d)

    @property
    def weight_bytes(self) -> int:
        """Bytes of static weights this shard needs (0 for dynamic or weightless ops)."""
        return self.weight_bytes_at(self.weight_bits)

    def weight_bytes_at(self, bits: int) -> int:
        """Bytes of this shard's static weights stored at ``bits`` per weight (0 without any)."""
        if not (self.is_gemm and self.static_weights):
            return 0
        return (self.batch * self.n * self.d * bits + 7) // 8

    @property
    def split_dim(self) -> str:
        """Dimension shards divide: independent GEMMs (batch) if any, else output rows (n)."""
        return "batch" if self.batch > 1 else "n"

    @property
    def split_size(self) -> int:
        return self.batch if self.batch > 1 else self.n

    # rows/cols build the shard directly: dataclasses.replace re-reads the fields on every call,
    # and plan building and the mappers' searches cut ops thousands of times
    def rows(self, count: int) -> "Op":
        """This op restricted to ``count`` of its ``split_dim``."""
        if self.batch > 1:
            return Op(self.kind, self.n, self.d, self.m, count, self.static_weights, self.act_bits, self.weight_bits)
        return Op(self.kind, count, self.d, self.m, self.batch, self.static_weights, self.act_bits, self.weight_bits)

    def cols(self, m: int) -> "Op":
        """This op restricted to ``m`` columns (tokens / output pixels): a pipeline chunk."""
        return Op(self.kind, self.n, self.d, m, self.batch, self.static_weights, self.act_bits, self.weight_bits)
