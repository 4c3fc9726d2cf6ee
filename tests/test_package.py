import ast
import subprocess
import sys
from pathlib import Path

import pytest

import losstune

PACKAGE = Path(losstune.__file__).parent


def test_import_losstune_is_light():
    code = (
        "import sys, losstune; "
        "print(sorted(m for m in ('ray', 'mlflow', 'torch', 'optuna') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_runner_contract_and_errors_import_without_torch():
    code = (
        "import sys; from losstune.runners import RUNNERS, TrainResult, TrainingDiverged; "
        "import losstune.params, losstune.spaces; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_public_names_resolve():
    for name in losstune.__all__:
        assert getattr(losstune, name) is not None


# -- no module uses another module's private names ------------------------------------------


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_paths(module: str, is_package: bool, tree: ast.AST) -> list[tuple[int, str]]:
    """``(line, dotted path)`` of every name this module takes from losstune: imported
    modules, ``from`` imports and attributes read off an imported losstune module."""
    found, modules = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append((node.lineno, alias.name))
                modules[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")[: len(module.split(".")) - node.level + is_package]
                base = ".".join([*parts, base] if base else parts)
            for alias in node.names:
                found.append((node.lineno, f"{base}.{alias.name}"))
                modules[alias.asname or alias.name] = f"{base}.{alias.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in modules:
                found.append((node.lineno, f"{modules[node.value.id]}.{node.attr}"))
    return [(line, path) for line, path in found if path.startswith("losstune.")]


def _private_uses_in(module: str, is_package: bool, tree: ast.AST) -> list[str]:
    """Uses of a ``_private`` name from outside the module or package that owns it
    (``losstune._hyper`` belongs to ``losstune``: every module may use it)."""
    broken = []
    for line, dotted in _imported_paths(module, is_package, tree):
        parts = dotted.split(".")
        for i, part in enumerate(parts):
            if part.startswith("_") and not part.startswith("__"):
                owner = ".".join(parts[:i])
                if module != owner and not module.startswith(owner + "."):
                    broken.append(f"{module}:{line} uses {dotted}")
                break
    return broken


def _files(part: Path) -> list[Path]:
    return sorted(part.rglob("*.py")) if part.is_dir() else [part]


PARTS = sorted(p for p in PACKAGE.iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file())


@pytest.mark.parametrize("part", [pytest.param(p, id=p.name) for p in PARTS])
def test_no_module_uses_another_modules_private_names(part):
    broken = []
    for path in _files(part):
        tree = ast.parse(path.read_text())
        broken += _private_uses_in(_module_name(path), path.name == "__init__.py", tree)
    assert broken == []


def test_the_private_name_check_catches_what_it_should():
    tree = ast.parse(
        "from losstune.spaces.space import _walk\n"
        "from losstune._hyper import Domain\n"
        "from . import _catalog\n"
        "from losstune.search import run\n"
        "run._finish()\n"
    )
    assert _private_uses_in("losstune.datasets", True, tree) == [
        "losstune.datasets:1 uses losstune.spaces.space._walk",
        "losstune.datasets:5 uses losstune.search.run._finish",
    ]
