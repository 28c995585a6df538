"""The architecture as typed, validated data loaded from YAML (presets in ``hw/presets``)."""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .digital import DigitalParams
from .errors import PrismError, load_yaml, read_text, shown
from .memory import DramParams, GlobalBufferParams
from .noc import NocParams
from .noc import nodes as noc_nodes
from .photonic import PhotonicParams
from .reram import ReramParams
from .sram_pim import SramPimParams

UnitParams = Annotated[Union[PhotonicParams, ReramParams, SramPimParams, DigitalParams], Field(discriminator="kind")]
KINDS = ("photonic", "reram", "sram_pim", "digital")
PARAMS = (PhotonicParams, ReramParams, SramPimParams, DigitalParams)


class UnitGroup(BaseModel):
    """``count`` identical units named ``name0 .. name{count-1}`` (just ``name`` when count is 1)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$")
    kind: str
    count: int = Field(1, gt=0)
    positions: list[tuple[int, ...]] | None = Field(
        None, description="NoC router of each unit; default: spread over the mesh in order")
    params: UnitParams

    @model_validator(mode="before")
    @classmethod
    def _kind_into_params(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            kind = data.get("kind")
            if kind not in KINDS:
                raise ValueError(f"kind must be one of {', '.join(KINDS)} (got {shown(kind)})")
            params = dict(data.get("params") or {})
            params["kind"] = kind
            data["params"] = params
        return data


@dataclass(frozen=True)
class Unit:
    """One unit instance: a SimPy resource in the simulator, a node in the NoC."""

    name: str
    kind: str
    params: PhotonicParams | ReramParams | SramPimParams | DigitalParams
    pos: tuple[int, ...]


class Arch(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    name: str = "custom"
    description: str = ""
    based_on: str = Field("", description="the preset or chip this file was made from (set when its name differs)")
    units: list[UnitGroup] = Field(min_length=1)
    dram: DramParams = DramParams()
    global_buffer: GlobalBufferParams = GlobalBufferParams()
    noc: NocParams = NocParams()

    @model_validator(mode="after")
    def _check(self) -> "Arch":
        valid = set(noc_nodes(self.noc))
        shape = "x".join(map(str, self.noc.grid))
        seen: set[str] = set()
        for g in self.units:
            if g.positions is not None and len(g.positions) != g.count:
                raise ValueError(f"units.{g.name}.positions has {len(g.positions)} entries for count {g.count}")
            for pos in g.positions or []:
                if tuple(pos) not in valid:
                    raise ValueError(f"units.{g.name}.positions: {list(pos)} is not a router of the {shape} {self.noc.topology}")
            if g.name in seen:
                raise ValueError(f"units: name {g.name!r} is used twice")
            seen.add(g.name)
        made_by: dict[str, UnitGroup] = {}
        for g, _, name in self._named():
            if name in self.memories():
                raise ValueError(f"units: name {name!r} is taken by a memory ({', '.join(self.memories())})")
            first = made_by.setdefault(name, g)
            if first is not g:
                raise ValueError(f"units: {g.name!r} and {first.name!r} both make a unit named {name!r} "
                                 f"(count n > 1 names units {{name}}0 .. {{name}}<n-1>)")
        ends = [("dram.position", self.dram.position), ("global_buffer.position", self.global_buffer.position)]
        ends += [(f"dram.channels.{i}", p) for i, p in enumerate(self.dram.channels or [])]
        for field, pos in ends:
            if tuple(pos) not in valid:
                raise ValueError(f"{field}: {list(pos)} is not a router of the {shape} {self.noc.topology}")
        return self

    @property
    def label(self) -> str:
        """How runs name this chip: ``mychip (from hybrid)`` for an edited copy of a preset."""
        return f"{self.name} (from {self.based_on})" if self.based_on and self.based_on != self.name else self.name

    def instances(self) -> dict[str, Unit]:
        """All unit instances by name, in declaration order, with their NoC positions (units
        without positions fill the routers in order, x fastest)."""
        grid = noc_nodes(self.noc)
        out: dict[str, Unit] = {}
        for k, (g, i, name) in enumerate(self._named()):
            pos = tuple(g.positions[i]) if g.positions is not None else grid[k % len(grid)]
            out[name] = Unit(name, g.kind, g.params, pos)  # type: ignore[arg-type]
        return out

    def _named(self):
        """(unit group, index in the group, instance name) of every unit instance, in order."""
        for g in self.units:
            for i in range(g.count):
                yield g, i, g.name if g.count == 1 else f"{g.name}{i}"

    @property
    def dram_node(self) -> tuple[int, ...]:
        """The first memory controller's router."""
        return self.dram.positions[0]

    def dram_channels(self) -> dict[str, DramParams]:
        """Memory controllers by endpoint name: ``dram``, then ``dram1``, ``dram2``, ..."""
        return {("dram" if i == 0 else f"dram{i}"): self.dram.channel(i) for i in range(len(self.dram.positions))}

    def nearest_dram(self, node: tuple[int, ...]) -> str:
        """The memory controller fewest hops from ``node`` (the first of equals)."""
        pos = self.dram.positions
        if len(pos) == 1:
            return "dram"
        i = min(range(len(pos)), key=lambda k: (sum(abs(a - b) for a, b in zip(pos[k], node)), k))
        return "dram" if i == 0 else f"dram{i}"

    def memories(self) -> dict[str, DramParams | GlobalBufferParams]:
        """Memory endpoints of transfers by name: ``dram`` (``dram1``, ... with several
        controllers) and ``gb`` (the global buffer)."""
        return {**self.dram_channels(), "gb": self.global_buffer}


def _format_validation(err: ValidationError, source: str) -> str:
    e = err.errors()[0]
    parts = [str(x) for x in e["loc"] if not str(x).startswith(("function-", "tagged-union"))]
    # drop the union tag pydantic inserts after `params` (units.0.params.reram.rows -> units.0.params.rows)
    parts = [x for i, x in enumerate(parts) if not (x in KINDS and i and parts[i - 1] == "params")]
    loc = ".".join(parts)
    msg = e["msg"].removeprefix("Value error, ")
    inp = e.get("input")
    got = "" if isinstance(inp, (dict, list)) or inp is None else f" (got {shown(inp)})"
    where = f" field {loc}:" if loc else ""
    return f"{source}:{where} {msg}{got}"


def list_presets() -> list[str]:
    files = resources.files("prismsim.hw").joinpath("presets")
    return sorted(p.name[:-5] for p in files.iterdir() if p.name.endswith(".yaml"))


def preset_text(name: str) -> str:
    if name not in list_presets():
        raise PrismError(f"--arch: no preset or file named {name!r} (presets: {', '.join(list_presets())})")
    return resources.files("prismsim.hw").joinpath("presets", f"{name}.yaml").read_text()


def parse_arch(data: Any, source: str) -> Arch:
    if not isinstance(data, dict):
        raise PrismError(f"{source}: an architecture must be a YAML mapping")
    try:
        return Arch.model_validate(data)
    except ValidationError as err:
        raise PrismError(_format_validation(err, source)) from None


def load_arch(name_or_path: str | Path) -> Arch:
    """A preset by name, or a YAML file by path."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        text, source = read_text(p, "--arch"), str(p)
        arch = parse_arch(load_yaml(text, source), source)
        if arch.name != p.stem:   # an edited copy (prismsim list --arch hybrid > mychip.yaml): named by its file
            arch.based_on = arch.based_on or arch.name
            arch.name = p.stem
        return arch
    text, source = preset_text(str(name_or_path)), f"preset {name_or_path}"
    return parse_arch(load_yaml(text, source), source)


def arch_yaml(arch: Arch) -> str:
    """The complete architecture as YAML, each number commented with its unit and source."""
    lines: list[str] = []
    _emit(arch, arch.model_dump(mode="json"), 0, lines)
    return "\n".join(lines) + "\n"


def _scalar(v: Any) -> str:
    return yaml.safe_dump(v, default_flow_style=True, width=10_000).strip().removesuffix("...").strip()


def _emit(model: BaseModel | None, data: Any, indent: int, lines: list[str]) -> None:
    pad = " " * indent
    fields = type(model).model_fields if isinstance(model, BaseModel) else {}
    for key, val in data.items():
        if key == "kind" and isinstance(model, PARAMS):
            continue  # the group says the kind
        desc = fields[key].description if key in fields else None
        comment = f"  # {desc}" if desc else ""
        sub = getattr(model, key, None) if model is not None else None
        if isinstance(val, dict) and val and isinstance(sub, BaseModel):
            lines.append(f"{pad}{key}:{comment}")
            _emit(sub, val, indent + 2, lines)
        elif isinstance(val, list) and val and isinstance(val[0], dict):
            lines.append(f"{pad}{key}:")
            for item_model, item in zip(sub, val):
                first, rest = True, []
                _emit(item_model, item, indent + 4, rest)
                for ln in rest:
                    lines.append((pad + "  - " + ln.lstrip()) if first else ln)
                    first = False
        else:
            lines.append(f"{pad}{key}: {_scalar(val)}{comment}")
