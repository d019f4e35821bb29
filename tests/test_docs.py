"""The README's two commands are the ones CI runs, and CONTRIBUTING's example is the tested one."""

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_ci_runs_the_readme_commands():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(bash scripts/setup\.sh && [^\n]+)\n```", readme)
    assert len(commands) == 2, "README must show the set-up+demo and set-up+test commands"
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    for command in commands:
        assert command in ci, f".ci/run does not run the README command: {command}"


def test_contributing_shows_the_tested_example_code():
    guide = (ROOT / "CONTRIBUTING.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", guide, flags=re.S)
    package = ROOT / "tests" / "example_plugin" / "zoo_example"
    sources = {p.name: p.read_text() for p in package.glob("*.py")}
    for marker, name in (("class CSIMLP", "model.py"), ("def register_models", "plugin.py"),
                         ("class RelativePosition", "towers.py"), ('"example/csi-position-clip"', "plugin.py")):
        block = next(b for b in blocks if marker in b)
        for line in block.strip().splitlines():
            assert line.strip() in sources[name], f"CONTRIBUTING's {name} drifted: {line}"
