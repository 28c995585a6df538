"""Trace formats, Perfetto export, reports and the notebook API."""
import csv
import json
import re
import struct

import pandas as pd
import pytest

from prismsim import load_run, simulate
from prismsim.hw.errors import PrismError
from prismsim.sim.cli import main
from prismsim.sim.output import fmt_ps
from prismsim.traces import COLUMNS
from prismsim.traces.analysis import busy_integral, pareto_front, read_events

import numpy as np


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_csv_and_parquet_hold_the_same_rows_and_schema(tmp_path, capsys):
    for fmt in ("csv", "parquet"):
        run(capsys, "simulate", "--model", "mlp", "--schedule", "pipelined", "--trace-format", fmt,
            "--out", str(tmp_path / fmt))
    a = read_events(tmp_path / "csv" / "events.csv")
    b = read_events(tmp_path / "parquet" / "events.parquet")
    assert list(a.columns) == list(COLUMNS) == list(b.columns)
    assert str(a["t_start_ps"].dtype) == "int64" and str(b["energy_pj"].dtype) == "float64"
    pd.testing.assert_frame_equal(a.drop(columns="energy_pj"), b.drop(columns="energy_pj"))
    assert np.allclose(a["energy_pj"], b["energy_pj"], rtol=1e-8)
    assert set(a["kind"]) <= {"compute", "transfer", "memory", "switch", "stall"}


def test_trace_levels(tmp_path, capsys):
    rows = {}
    for lv in ("none", "layers", "events", "packets"):
        run(capsys, "simulate", "--model", "mlp", "--trace", lv, "--out", str(tmp_path / lv))
        rows[lv] = len(read_events(tmp_path / lv / "events.csv"))
        assert json.loads((tmp_path / lv / "summary.json").read_text())["trace_rows"] == rows[lv]
    assert rows["none"] == 0 and rows["layers"] == 5 and rows["layers"] < rows["events"] < rows["packets"]


def test_perfetto_json_follows_the_trace_event_format(tmp_path, capsys):
    f = tmp_path / "t.json"
    run(capsys, "simulate", "--model", "mlp", "--trace", "packets", "--perfetto", str(f), "--out", str(tmp_path / "r"))
    doc = json.loads(f.read_text())
    evs = doc["traceEvents"]
    assert doc["displayTimeUnit"] == "ns" and {e["ph"] for e in evs} == {"M", "X", "C"}
    named = {(e["pid"], e["tid"]) for e in evs if e["ph"] == "M" and e["name"] == "thread_name"}
    for e in evs:
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int) and isinstance(e["name"], str)
        if e["ph"] == "X":
            assert e["ts"] >= 0 and e["dur"] >= 0 and (e["pid"], e["tid"]) in named
        if e["ph"] == "C":
            assert all(isinstance(v, (int, float)) for v in e["args"].values())
    units = {e["args"]["name"] for e in evs if e["ph"] == "M" and e["name"] == "thread_name" and e["pid"] == 1}
    ran = {r["unit"] for r in csv.DictReader(open(tmp_path / "r" / "units.csv")) if int(r["jobs"])}
    assert ran and ran <= units                        # a track per unit that ran ...
    assert any(e["pid"] == 3 for e in evs if e["ph"] == "X")  # ... and per NoC channel
    path = [e for e in evs if e["ph"] == "X" and e["pid"] == 6]  # the critical path: a gapless track to the end
    s = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert path[0]["ts"] == 0 and all(abs(a["ts"] + a["dur"] - b["ts"]) < 1e-9 for a, b in zip(path, path[1:]))
    assert abs(path[-1]["ts"] + path[-1]["dur"] - s["latency_ps"] / 1e6) < 1e-9
    existing = tmp_path / "t.json"
    code = main(["simulate", "--model", "mlp", "--perfetto", str(existing), "--out", str(tmp_path / "r2")])
    assert code == 2 and not (tmp_path / "r2").exists()  # never overwrites


def _png_size(path):
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_report_renders_every_plot_headless(tmp_path, capsys):
    d = tmp_path / "run"
    run(capsys, "simulate", "--model", "pythia-70m?seq_len=16", "--out", str(d))
    run(capsys, "report", str(d))
    rep = d / "report"
    pngs = sorted(p.name for p in rep.glob("*.png"))
    assert pngs == ["energy.png", "layers.png", "noc.png", "stalls.png", "timeline.png", "utilization.png"]
    for p in rep.glob("*.png"):
        w, h = _png_size(p)
        assert w > 200 and h > 100 and p.stat().st_size > 5000
    md = (rep / "report.md").read_text()
    assert all(f"({p})" in md for p in pngs)
    assert main(["report", str(d)]) == 2  # an existing report is kept


def _md_tables(md: str) -> dict[str, list[list[str]]]:
    """Section title -> rows of the first markdown table under it (header row first)."""
    out, title = {}, None
    for line in md.splitlines():
        if line.startswith("## "):
            title = line[3:]
        elif line.startswith("|") and title is not None and not line.startswith("|---"):
            if title not in out or out[title] is not None:
                out.setdefault(title, []).append([c.strip() for c in line.strip("|").split("|")])
        elif title in out and not line.startswith("|"):
            title = None   # only the first table of a section
    return out


def test_report_tables_hold_the_runs_numbers(tmp_path, capsys):
    d = tmp_path / "run"
    out = run(capsys, "simulate", "--model", "resnet18", "--schedule", "pipelined", "--chunks", "2", "--trace", "none",
              "--out", str(d))
    run(capsys, "report", str(d))
    s = json.loads((d / "summary.json").read_text())
    t = _md_tables((d / "report" / "report.md").read_text())
    crit = s["critical_path_ps"]
    assert sum(crit.values()) == s["latency_ps"]
    assert {r[0]: r[1] for r in t["Critical path"][1:]} == {k: fmt_ps(v) for k, v in crit.items()}
    top = max(crit, key=crit.get)
    assert f"critical     {top} {100 * crit[top] / s['latency_ps']:.1f}%" in out
    summary = {r[0]: r[1] for r in t["Summary"][1:]}
    assert summary["latency"] == f"{s['latency_ps'] / 1e6:,.3f} us" and summary["schedule"] == "pipelined, 2 chunks"
    assert summary["efficiency"] == f"{2 * s['macs'] / s['energy_pj']:.3f} TOPS/W"
    cats = t["Energy"][1:]
    assert {r[0] for r in cats} == set(s["energy_breakdown_pj"])
    assert sum(float(r[1].replace(",", "")) for r in cats) == pytest.approx(s["energy_pj"] / 1e6, abs=0.01)
    assert sum(float(r[2].rstrip("%")) for r in cats) == pytest.approx(100, abs=0.5)
    layers = pd.read_csv(d / "layers.csv")
    span = (layers["end_ps"] - layers["start_ps"]).sort_values(ascending=False)
    rows = t[f"Layers (10 longest of {len(layers)})"][1:]
    assert len(layers) > 10 and len(rows) == 10
    assert [float(r[3].split()[0].replace(",", "")) for r in rows] == [round(v / 1e6, 3) for v in span.head(10)]
    busiest = [float(r[1].rstrip("%")) for r in next(v for k, v in t.items() if k.startswith("Channels"))[1:]]
    assert busiest == sorted(busiest, reverse=True) and len(busiest) == 10


def test_report_of_a_results_table_lists_its_rows_and_front(tmp_path, capsys):
    d = tmp_path / "cmp"
    d.mkdir()
    rows = [{"strategy": f"s{i}", "latency_ps": 1000 * (i + 1), "energy_pj": 1e6 * (60 - i) if i % 2 else 9e7,
             "error": ""} for i in range(50)]
    rows.append({"strategy": "broken", "latency_ps": None, "energy_pj": None, "error": "cannot map"})
    pd.DataFrame(rows[:5] + rows[-1:]).to_csv(d / "compare.csv", index=False)
    run(capsys, "report", str(d))
    md = (d / "report" / "report.md").read_text()
    assert "1 of 6 rows could not run" in md
    t = _md_tables(md)["Results (5)"]
    assert [r[0] for r in t[1:]] == ["s0", "s1", "s2", "s3", "s4"]
    assert [r[-1] for r in t[1:]] == ["yes", "yes", "", "yes", ""]
    big = tmp_path / "sweep"
    big.mkdir()
    pd.DataFrame(rows).to_csv(big / "results.csv", index=False)
    run(capsys, "report", str(big))
    t = _md_tables((big / "report" / "report.md").read_text())
    front = next(v for k, v in t.items() if k.startswith("Pareto front") and "points" in k)
    assert [r[0] for r in front[1:]] == ["s0"] + [f"s{i}" for i in range(1, 50, 2)]
    assert all(r[-1] == "yes" for r in front[1:])


@pytest.mark.parametrize("name,text,needle", [
    ("summary.json", "{not json", "JSONDecodeError"),
    ("summary.json", '{"model": "mlp"}', "KeyError: 'latency_ps'"),
    ("arch.yaml", "units: [", "ParserError"),
    ("summary.json", '{"model": "m", "arch": "a", "strategy": "s", "latency_ps": 1, "energy_pj": 1, '
                     '"energy_breakdown_pj": "lots", "energy_by_kind_pj": {}}', "AttributeError"),
    ("layers.csv", "layer,begin\nfc1,0\n", "KeyError"),
    ("critical_path.csv", "layer,begin\nfc1,0\n", "KeyError"),
])
def test_report_on_a_damaged_run_is_one_line_and_writes_nothing(tmp_path, capsys, name, text, needle):
    d = tmp_path / "run"
    run(capsys, "simulate", "--model", "mlp", "--trace", "none", "--out", str(d))
    (d / name).write_text(text)
    code = main(["report", str(d)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and f"report: cannot read the run in {str(d)!r}" in err and needle in err
    assert sorted(p.name for p in d.iterdir() if p.name.startswith((".report", "report"))) == []


def test_a_plotting_failure_is_not_called_a_damaged_run(tmp_path, capsys, monkeypatch):
    from prismsim.traces import plots

    d = tmp_path / "run"
    run(capsys, "simulate", "--model", "mlp", "--trace", "none", "--out", str(d))

    def broken(*a, **k):
        raise TypeError("a bug in a plot")
    monkeypatch.setattr(plots, "energy_bars", broken)
    with pytest.raises(TypeError, match="a bug in a plot"):   # ours: it keeps its traceback
        main(["report", str(d)])
    assert sorted(p.name for p in d.iterdir() if p.name.startswith((".report", "report"))) == []


def test_api_round_trip(tmp_path):
    r = simulate(model="mlp", strategy="equal")
    assert r.summary["macs"] == 784 * 256 * 16 + 256 * 256 * 16 + 256 * 10 * 16
    assert int(r.events["macs"].sum()) == r.summary["macs"] and len(r.units) == 14 and len(r.layers) == 5
    w = simulate(model="mlp", strategy="equal", out=tmp_path / "run")
    back = load_run(tmp_path / "run")
    assert back.summary == w.summary and back.summary["latency_ps"] == r.summary["latency_ps"]
    assert len(back.events) == back.summary["trace_rows"] and list(back.layers["layer"])[:2] == ["fc1", "relu1"]
    assert back.mapping is not None and back.mapping.strategy == "equal"
    # the critical path, in memory and read back: the same rows, its parts adding up to the latency
    assert r.critical_path.astype(str).equals(back.critical_path.astype(str)) and len(r.critical_path) > 2
    assert r.summary["critical_path_ps"] == back.summary["critical_path_ps"]
    assert sum(back.summary["critical_path_ps"].values()) == back.summary["latency_ps"]
    # arch and model as objects, and the files the same bytes as the command line writes
    from prismsim.hw.spec import load_arch
    from prismsim.mapper.zoo import ZOO

    simulate(arch=load_arch("hybrid"), model=ZOO["mlp"](), strategy="equal", out=tmp_path / "obj")
    assert main(["simulate", "--model", "mlp", "--strategy", "equal", "--out", str(tmp_path / "cli"),
                 "--no-progress"]) == 0
    for f in ("summary.json", "events.csv", "units.csv", "mapping.yaml", "arch.yaml"):
        assert (tmp_path / "obj" / f).read_bytes() == (tmp_path / "cli" / f).read_bytes() == \
            (tmp_path / "run" / f).read_bytes(), f


def test_api_schedule_replaces_a_given_mappings_own_as_the_command_line_does(tmp_path, capsys):
    """``schedule``/``chunks``/``program_weights`` given with a mapping replace its schedule (they
    were ignored: the run was sequential), the caller's Mapping is left alone, and the run is the
    one ``prismsim simulate --mapping F --schedule ...`` writes."""
    from prismsim.hw.spec import load_arch
    from prismsim.mapper.strategies import make_mapping
    from prismsim.mapper.zoo import ZOO

    m = make_mapping("equal", ZOO["mlp"](), load_arch("hybrid"))
    assert m.schedule.kind == "sequential"
    (tmp_path / "m.yaml").write_text(m.to_yaml())
    plain = simulate(model="mlp", mapping=m)
    piped = simulate(model="mlp", mapping=m, chunks=4, program_weights=True, out=tmp_path / "api")
    assert m.schedule.kind == "sequential" and not m.schedule.program_weights    # the caller's object
    back = piped.mapping.schedule
    assert (back.kind, back.chunks, back.program_weights) == ("pipelined", 4, True)
    jobs = piped.events[piped.events["kind"] == "compute"]
    assert len(jobs) == 4 * len(plain.events[plain.events["kind"] == "compute"])
    assert len(piped.events[piped.events["kind"] == "memory"]) > len(plain.events[plain.events["kind"] == "memory"])
    run(capsys, "simulate", "--model", "mlp", "--mapping", str(tmp_path / "m.yaml"), "--chunks", "4",
        "--program-weights", "--out", str(tmp_path / "cli"), "--no-progress")
    for f in ("summary.json", "events.csv", "mapping.yaml"):
        assert (tmp_path / "api" / f).read_bytes() == (tmp_path / "cli" / f).read_bytes(), f
    # without any of them the mapping's own schedule stands (pipelined here)
    (tmp_path / "p.yaml").write_text((tmp_path / "cli" / "mapping.yaml").read_text())
    assert simulate(model="mlp", mapping=tmp_path / "p.yaml").mapping.schedule.chunks == 4


def test_compare_chunks_alone_means_pipelined_as_for_simulate(tmp_path, capsys):
    """``--chunks N`` without ``--schedule``: pipelined with N chunks (compare made it a sequential
    schedule with N chunks, i.e. ignored it)."""
    run(capsys, "compare", "--model", "mlp", "--strategies", "equal", "--chunks", "4", "--out", str(tmp_path / "c"),
        "--no-progress")
    assert "kind: pipelined" in (tmp_path / "c" / "mapping-equal.yaml").read_text()
    assert "chunks: 4" in (tmp_path / "c" / "mapping-equal.yaml").read_text()


def test_compare_rows_say_what_filled_each_critical_path(tmp_path, capsys):
    text = run(capsys, "compare", "--model", "mlp", "--strategies", "equal,greedy,cmswitch", "--arch", "photonic-only",
               "--out", str(tmp_path / "c"), "--no-progress")
    assert text.count("critical path mostly ") == 2 and "cmswitch     cannot run" in text
    lines = run(capsys, "compare", "--model", "mlp", "--strategies", "greedy,cmswitch", "--arch", "photonic-only",
                "--out", str(tmp_path / "j"), "--json", "--no-progress").splitlines()
    greedy, cms = (json.loads(x) for x in lines)
    assert sum(greedy["critical_path_ps"].values()) == greedy["latency_ps"] and cms["critical_path_ps"] is None
    df = pd.read_csv(tmp_path / "c" / "compare.csv")
    crit = [c for c in df.columns if c.startswith("critical:")]
    ok = df[df["error"].isna()]
    assert len(ok) == 2 and crit and (ok[crit].sum(axis=1) == ok["latency_ps"]).all()
    assert df.loc[df["error"].notna(), crit].isna().all().all()   # cmswitch cannot run without ReRAM
    for r in ok.itertuples():   # each line names the largest part of its row's split
        top = max(crit, key=lambda c: ok.loc[r.Index, c])
        assert f"critical path mostly {top.removeprefix('critical:')}" in text
    run(capsys, "report", str(tmp_path / "c"))
    assert "| critical path mostly |" in (tmp_path / "c" / "report" / "report.md").read_text()


@pytest.mark.parametrize("kw,needle", [({"schedule": "eager"}, "schedule.kind: must be one of sequential, pipelined"),
                                       ({"chunks": 0}, "schedule.chunks: must be a whole number >= 1 (got 0)")])
def test_api_refuses_a_bad_schedule(tmp_path, kw, needle):
    with pytest.raises(PrismError, match=re.escape(needle)):
        simulate(model="mlp", strategy="equal", out=tmp_path / "run", **kw)
    assert not (tmp_path / "run").exists()


def test_busy_integral_and_pareto():
    edges = np.array([0.0, 5, 10, 20])
    f = busy_integral(np.array([0.0, 8]), np.array([6.0, 12]), edges)
    assert list(np.diff(f)) == [5, 3, 2]   # [0,6) and [8,12) over [0,5), [5,10), [10,20)
    df = pd.DataFrame({"x": [1, 2, 3, 4], "y": [4, 1, 2, 0.5]})
    assert list(pareto_front(df, "x", "y")["x"]) == [1, 2, 4]


def test_report_plots_per_model_fronts_with_units(tmp_path, capsys, monkeypatch):
    """A sweep over several models: one front per model in the table and the plot, strategies
    coloured the same way everywhere, µs/µJ units; a run's timeline reaches its latency."""
    from prismsim.traces import plots
    d = tmp_path / "sweep"
    d.mkdir()
    rows = [{"point_id": f"{m}{i}", "model": m, "strategy": s, "axis:noc.link_width_bits": 64 * (i + 1),
             "latency_ps": 1e6 * (i + 1) * (2 if s == "equal" else 1), "energy_pj": 1e9 / (i + 1), "error": ""}
            for m in ("a", "b") for s in ("greedy", "equal") for i in range(3)]
    pd.DataFrame(rows).to_csv(d / "results.csv", index=False)
    seen = {}
    real = plots.pareto

    def spy(df, x, y, label, front, path):
        seen["models"] = sorted(front["model"].unique())
        return real(df, x, y, label, front, path)
    monkeypatch.setattr(plots, "pareto", spy)
    run(capsys, "report", str(d))
    assert seen["models"] == ["a", "b"] and (d / "report" / "pareto.png").exists()
    assert plots._color("greedy") == plots._color("greedy") != plots._color("equal")
    assert plots._shown("latency_ps", pd.Series([2e6]))[0] == "latency (µs)"


def test_report_by_an_axis_draws_a_front_per_value(tmp_path, capsys):
    d = tmp_path / "sweep"
    d.mkdir()
    rows = [{"point_id": f"p{i}{s}", "model": "m", "strategy": s, "axis:noc.link_width_bits": w,
             "latency_ps": 1e6 * (i + 1), "energy_pj": 1e9 / (i + 1), "error": ""}
            for i, w in enumerate((256, 256, 1024, 1024)) for s in ("greedy", "equal")]
    pd.DataFrame(rows).to_csv(d / "results.csv", index=False)
    assert main(["report", str(d), "--by", "noc.link_width_bits"]) == 0
    md = (d / "report" / "report.md").read_text()
    assert "m, link_width_bits=256" in md and "m, link_width_bits=1024" in md
    assert main(["report", str(tmp_path / "sweep"), "--by", "nope"]) == 2      # the report exists: refused first
    assert main(["report", str(d / ".."), "--by", "x"]) == 2
