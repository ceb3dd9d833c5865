"""The README's layout rules, checked: what each folder may import."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("folder, forbidden, allowed_files", [
    ("agent", ("evals", "bench", "tests"), set()),  # evals' commands register through an entry point
    ("agent/pipeline", ("agent.recommender", "agent.cli", "agent.service", "agent.conversation", "agent.parts"), set()),
    ("prompts", ("agent.recommender", "agent.pipeline", "agent.service", "evals"), set()),
    ("tools", ("agent.store", "agent.retrieval", "evals"), set()),
])
def test_folders_import_only_what_the_layout_allows(folder, forbidden, allowed_files):
    broken = [f"{path.relative_to(ROOT)} imports {name}" for path in files(folder)
              if str(path.relative_to(ROOT)) not in allowed_files
              for name in imports(path) if name.split(".")[0] in forbidden or name.startswith(forbidden)]
    assert not broken, broken


def test_tools_use_only_the_recommenders_public_api():
    for path in files("tools"):
        text = path.read_text()
        assert ".store" not in text and ".index" not in text and "._" not in text, path
