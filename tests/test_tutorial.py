"""The README's tutorial, run as written in a scratch folder: it must keep working and keep
showing what its text says."""
import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _block(section: str, lang: str) -> list[str]:
    text = README.read_text()
    part = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{lang}\n(.*?)```", part, re.S)


def test_the_tutorial_runs_as_written(tmp_path):
    (script,) = _block("Tutorial", "bash")
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    r = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "adc_bits 7 < the 9 bits" in r.stderr and "2 bit(s) lost" in r.stderr
    adc = [float(m.replace(",", "")) for m in re.findall(r"\n  adc +[\d,]+ +([\d,.]+)", r.stdout)]
    assert len(adc) == 2 and adc[1] < adc[0] / 3          # the knob moved the ADC energy
    assert "on mychip (from hybrid)" in r.stdout
    for f in ("cmp/compare.csv", "sw/results.csv", "sw/report/report.md", "sw/report/pareto.png"):
        assert (tmp_path / f).exists(), f
    assert (README.parent / "benchmarks" / "tutorial-pareto.png").exists()
