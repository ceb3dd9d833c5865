import shutil
import subprocess
import zipfile
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_wheel_ships_every_prompt_template(tmp_path):
    uv = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    subprocess.run([uv, "build", "--wheel", "-q", "-o", str(tmp_path)], cwd=ROOT, check=True, timeout=300)
    names = zipfile.ZipFile(next(tmp_path.glob("*.whl"))).namelist()
    templates = {p.relative_to(ROOT).as_posix() for p in (ROOT / "prompts").glob("*/*.j2")}
    assert templates and templates <= set(names)
    assert "agent/cli.py" in names
