import shutil
import subprocess
import zipfile
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_wheel_ships_every_prompt_template(tmp_path):
    uv = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    subprocess.run([uv, "build", "--wheel", "-q", "-o", str(tmp_path)], cwd=ROOT, check=True, timeout=300)
    wheel = zipfile.ZipFile(next(tmp_path.glob("*.whl")))
    names = wheel.namelist()
    templates = {p.relative_to(ROOT).as_posix() for p in (ROOT / "prompts").glob("*/*.j2")}
    assert templates and templates <= set(names)
    assert "agent/cli.py" in names and "evals/cli.py" in names
    entry_points = wheel.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert "[recagent.commands]\neval = evals.cli:app" in entry_points  # `recagent eval` registers itself


def test_every_package_imports_on_its_own():
    """No import cycle, whichever module a user imports first."""
    import subprocess
    import sys

    for module in ("prompts.registry", "agent.errors", "agent", "evals", "tools", "agent.service"):
        r = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True)
        assert r.returncode == 0, f"import {module} failed: {r.stderr[-300:]}"
    r = subprocess.run([sys.executable, "-c", "from agent import ChatSessions, Recommender"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
