"""Floret's network-on-interposer (Sharma et al., "Florets for Chiplets: Data Flow-aware
High-Performance and Energy-efficient Network-on-Interposer for CNN Inference Tasks", CODES+ISSS /
ACM TECS 2023), as built here: the interposer links only chiplets that follow each other on a
space-filling curve, so a CNN mapped along the curve sends each layer's output one hop.

The chiplet grid (CX x CY, both even) is cut into four quadrants, the petals. Each petal is a
snake walk that starts at the quadrant's chiplet next to the centre and winds outwards; consecutive
chiplets on it are joined. The four petal heads, the centre 2 x 2 chiplets, are joined in a chain
(lower left, lower right, upper right, upper left). Every link joins grid neighbours, and the
links form a tree of CX x CY - 1 links (a mesh interposer has 2 CX CY - CX - CY): each pair of
chiplets has one path, so routes cannot deadlock. The petal shapes are this module's choice (the
paper's figures are not readable here); the principle — links along the curve, petals from the
centre, one model per petal — is the paper's.
"""
from __future__ import annotations

from functools import lru_cache

Chip = tuple[int, int]


def check(cx: int, cy: int) -> None:
    """Raise ValueError unless a Floret interposer can be built on a cx x cy chiplet grid."""
    if cx < 2 or cy < 2 or cx % 2 or cy % 2:
        raise ValueError(f"interposer floret needs an even chiplet grid of at least 2x2 (got {cx}x{cy})")


@lru_cache(maxsize=64)
def petals(cx: int, cy: int) -> tuple[tuple[Chip, ...], ...]:
    """The four petals, each a walk from its head (a centre chiplet) outwards."""
    check(cx, cy)
    hx, hy = cx // 2, cy // 2
    out = []
    for sx, sy in ((0, 0), (1, 0), (1, 1), (0, 1)):       # lower left, lower right, upper right, upper left
        walk = []
        for v in range(hy):
            us = range(hx) if v % 2 == 0 else range(hx - 1, -1, -1)
            for u in us:
                x = hx - 1 - u if sx == 0 else hx + u
                y = hy - 1 - v if sy == 0 else hy + v
                walk.append((x, y))
        out.append(tuple(walk))
    return tuple(out)


@lru_cache(maxsize=64)
def edges(cx: int, cy: int) -> frozenset:
    """The interposer's links as chiplet pairs, both directions."""
    ps = petals(cx, cy)
    und = [(a, b) for p in ps for a, b in zip(p, p[1:])] + [(ps[i][0], ps[i + 1][0]) for i in range(3)]
    return frozenset(und) | frozenset((b, a) for a, b in und)


@lru_cache(maxsize=64)
def _parents(cx: int, cy: int) -> dict:
    """The tree rooted at the first petal's head: chiplet -> (parent, depth)."""
    root = petals(cx, cy)[0][0]
    nbrs: dict[Chip, list[Chip]] = {}
    for a, b in edges(cx, cy):
        nbrs.setdefault(a, []).append(b)
    out, todo = {root: (None, 0)}, [root]
    while todo:
        a = todo.pop()
        for b in sorted(nbrs[a]):
            if b not in out:
                out[b] = (a, out[a][1] + 1)
                todo.append(b)
    return out


def chip_path(cx: int, cy: int, a: Chip, b: Chip) -> list[Chip]:
    """The one path from chiplet ``a`` to chiplet ``b`` over the interposer's tree."""
    par = _parents(cx, cy)
    up, down = [a], [b]
    while up[-1] != down[-1]:
        if par[up[-1]][1] >= par[down[-1]][1]:
            up.append(par[up[-1]][0])
        else:
            down.append(par[down[-1]][0])
    return up + down[-2::-1]


def order(cx: int, cy: int) -> list[Chip]:
    """Every chiplet along the curve: the petals one after another, each from its head outwards."""
    return [c for p in petals(cx, cy) for c in p]
