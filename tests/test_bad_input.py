"""Bad input gets one clear line, never a traceback.

One table, every case one row: the case's files are written into a fresh folder, then the case
runs through the CLI (exit code 2, exactly one line on stderr that starts ``Error:`` and holds
``message``, no traceback) and, where the API can be fed the same mistake, through the API
(the exception type ``error`` with ``message`` in it). Placeholders in the CLI arguments:
``{tmp}`` (the case's folder), ``{csv}`` (a good wine CSV, target ``cultivar``), ``{recipe}``
(a good recipe for it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sklearn.datasets import load_wine
from typer.testing import CliRunner

import losstune
from losstune.cli import app
from losstune.data import DataError
from losstune.mlflow import TrackingStoreError
from losstune.recipe import Recipe, RecipeError
from losstune.search.session import StoreError
from losstune.search.show import ShowError, load_search
from losstune.spaces import SpaceError


@dataclass(frozen=True)
class Case:
    """One bad input: what to write, how the CLI and the API are fed it, what they answer."""

    id: str
    message: str
    cli: tuple[str, ...] | None = None
    api: Callable[[Path], Any] | None = None
    error: type[BaseException] = ValueError
    files: dict[str, str | bytes] = field(default_factory=dict)


def _wine_frame():
    return load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})


def _search(source: Any, **options: Any) -> Any:
    data = losstune.load_dataset(source, target="cultivar")
    return losstune.search(data, n_trials=1, epochs=1, top_k=1, n_seeds=1, **options)


def _recipe_yaml(**fields: Any) -> str:
    """A good wine recipe's YAML with top-level ``fields`` replaced (``None`` drops one)."""
    import yaml

    data = {**Recipe.default("multiclass", "accuracy").replace(epochs=1).to_dict(), **fields}
    return yaml.safe_dump({k: v for k, v in data.items() if v is not None}, sort_keys=False)


def _space_search(tmp: Path) -> Any:
    """The API's search with the case's ``space.yaml`` (fails before any training)."""
    from losstune.spaces import default_space, load_space

    return _search(_wine_frame(), space=load_space(tmp / "space.yaml", default_space("multiclass")))


# a tracking store whose driver is not installed, with a password that must not be shown
PG8000 = "postgresql+pg8000://me:s3cret@127.0.0.1:1/mlflow"
LATIN1 = "name,cultivar\n" + "".join(f"caf\xe9 {i},{i % 2}\n" for i in range(40))
HUGE = "x,big,cultivar\n" + "".join(f"{i},{1e300 if i == 7 else i},{i % 2}\n" for i in range(40))


def _parquet(**columns: Any) -> bytes:
    """A 40-row Parquet file's bytes: ``columns`` (each a list of 2 cells, repeated) plus
    ``x`` and ``cultivar``."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = {name: pa.array(cells * 20) for name, cells in columns.items()}
    buffer = io.BytesIO()
    pq.write_table(pa.table({**table, "x": range(40), "cultivar": [0, 1] * 20}), buffer)
    return buffer.getvalue()


CASES: list[Case] = [
    # -- the command line ----------------------------------------------------------------------
    Case(
        "batch-trials-not-a-number",
        "--batch-trials must be a whole number or auto",
        cli=("search", "{csv}", "-t", "cultivar", "--batch-trials", "x"),
    ),
    Case(
        "sampler-unknown",
        "Unknown sampler 'nope' for --sampler. Known sampler names: tpe, random.",
        cli=("search", "{csv}", "-t", "cultivar", "--sampler", "nope"),
    ),
    Case(
        "pruner-misspelt",
        "Unknown pruner 'medain' for --pruner. Did you mean 'median'?",
        cli=("search", "{csv}", "-t", "cultivar", "--pruner", "medain"),
    ),
    Case(
        "pruner-asha-without-ray",
        "--pruner asha is a Ray Tune scheduler; use it with --backend ray",
        cli=("search", "{csv}", "-t", "cultivar", "--pruner", "asha"),
    ),
    Case(
        "metric-unknown",
        "Unknown metric 'accuarcy' for --metric. Did you mean 'accuracy'",
        cli=("recipe", "{csv}", "-t", "cultivar", "--metric", "accuarcy"),
    ),
    Case(
        "task-unknown",
        "Unknown task 'ranking' for --task.",
        cli=("search", "{csv}", "-t", "cultivar", "--task", "ranking"),
    ),
    Case(
        "device-not-a-device",
        "Unknown device 'gpu' for --device; use auto, cpu, cuda or cuda:N",
        cli=("train", "{recipe}", "{csv}", "-t", "cultivar", "--device", "gpu"),
    ),
    Case(
        "budget-without-a-unit",
        "--budget 10 has no unit; write a duration such as 10m, 10s or 10h, or give a number "
        "of trials as --trials 10.",
        cli=("search", "{csv}", "-t", "cultivar", "--budget", "10"),
    ),
    Case(
        "trials-zero",
        "--trials must be a whole number >= 1; got 0.",
        cli=("search", "{csv}", "-t", "cultivar", "--trials", "0"),
    ),
    Case(
        "quiet-and-verbose",
        "Give --quiet or --verbose, not both.",
        cli=("search", "{csv}", "-t", "cultivar", "--quiet", "--verbose"),
    ),
    Case(
        "out-exists-without-force",
        "--out {tmp}/recipe.yaml exists; pass --force to overwrite it",
        cli=("recipe", "{csv}", "-t", "cultivar", "--out", "{tmp}/recipe.yaml"),
        files={"recipe.yaml": "mine\n"},
    ),
    Case(
        "search-out-exists-without-force",
        "--out recipe.yaml exists; pass --force to overwrite it",
        cli=("search", "{csv}", "-t", "cultivar"),
        files={"recipe.yaml": "mine\n"},
    ),
    Case(
        "train-seeds-zero",
        "--seeds must be a whole number >= 1; got 0.",
        cli=("train", "{recipe}", "{csv}", "-t", "cultivar", "--seeds", "0"),
    ),
    Case(
        "train-test-file-with-an-unseen-class",
        "holds class(es) 7 of 'cultivar' that the data file's training rows lack",
        cli=("train", "{recipe}", "{csv}", "-t", "cultivar", "--test", "{tmp}/test.csv"),
        files={"test.csv": _wine_frame().head(20).assign(cultivar=7).to_csv(index=False)},
    ),
    Case(
        "train-test-file-lacks-a-column",
        "lacks column(s) 'alcohol' that the dataset was built from",
        cli=("train", "{recipe}", "{csv}", "-t", "cultivar", "--test", "{tmp}/test.csv"),
        files={"test.csv": _wine_frame().head(20).drop(columns="alcohol").to_csv(index=False)},
    ),
    # -- data ------------------------------------------------------------------------------------
    Case(
        "column-name-with-rich-markup",
        "[/bold]",
        cli=("recipe", "{tmp}/markup.csv", "-t", "[/bold]y"),
        api=lambda tmp: losstune.load_dataset(tmp / "markup.csv", target="[/bold]y"),
        error=DataError,
        files={"markup.csv": "a,b\n1,2\n"},
    ),
    Case(
        "latin-1-csv",
        "UTF-8",
        cli=("recipe", "{tmp}/latin1.csv", "-t", "cultivar"),
        api=lambda tmp: losstune.load_dataset(tmp / "latin1.csv", target="cultivar"),
        error=DataError,
        files={"latin1.csv": LATIN1.encode("latin-1")},
    ),
    Case(
        "parquet-list-column",
        "'tags' (lists) hold nested values",
        cli=("recipe", "{tmp}/tags.parquet", "-t", "cultivar"),
        api=lambda tmp: losstune.load_dataset(tmp / "tags.parquet", target="cultivar"),
        error=DataError,
        files={"tags.parquet": _parquet(tags=[[1, 2], [3]])},
    ),
    Case(
        "parquet-struct-column",
        "'point' (structs) hold nested values",
        cli=("recipe", "{tmp}/point.parquet", "-t", "cultivar"),
        api=lambda tmp: losstune.load_dataset(tmp / "point.parquet", target="cultivar"),
        error=DataError,
        files={"point.parquet": _parquet(point=[{"x": 1, "y": 2}, {"x": 3, "y": 4}])},
    ),
    Case(
        "values-beyond-float32",
        "'big' (up to 1e+300) hold values beyond the float32 range",
        cli=("recipe", "{tmp}/huge.csv", "-t", "cultivar"),
        api=lambda tmp: losstune.load_dataset(tmp / "huge.csv", target="cultivar"),
        error=DataError,
        files={"huge.csv": HUGE},
    ),
    Case(
        "infinite-feature-with-a-markup-like-hint",
        "frame.replace([np.inf, -np.inf], np.nan)",
        cli=("recipe", "{tmp}/inf.csv", "-t", "cultivar"),
        api=lambda tmp: losstune.load_dataset(tmp / "inf.csv", target="cultivar"),
        error=DataError,
        files={
            "inf.csv": "x,cultivar\n"
            + "".join(f"{'inf' if i == 3 else i},{i % 2}\n" for i in range(40))
        },
    ),
    # -- recipes ---------------------------------------------------------------------------------
    Case(
        "recipe-is-a-binary-file",
        "recipe",
        cli=("train", "{tmp}/bin.yaml", "{csv}", "-t", "cultivar"),
        api=lambda tmp: Recipe.load(tmp / "bin.yaml"),
        error=RecipeError,
        files={"bin.yaml": bytes(range(256))},
    ),
    Case(
        "recipe-with-a-huge-width",
        "recipe.model: mlp: hyperparameter 'width' must be <= 65536; got 1000000000000",
        cli=("train", "{tmp}/wide.yaml", "{csv}", "-t", "cultivar"),
        api=lambda tmp: Recipe.load(tmp / "wide.yaml"),
        error=RecipeError,
        files={"wide.yaml": _recipe_yaml(model={"name": "mlp", "params": {"width": 10**12}})},
    ),
    Case(
        "recipe-with-an-absurd-temperature",
        "temperature must be a number in [0.01, 100]; got 1e+30",
        cli=("train", "{tmp}/hot.yaml", "{csv}", "-t", "cultivar"),
        api=lambda tmp: Recipe.load(tmp / "hot.yaml"),
        error=RecipeError,
        files={"hot.yaml": _recipe_yaml(temperature=1e30)},
    ),
    Case(
        "recipe-with-an-absurd-sam-rho",
        "recipe.torch.wrapper: sam: hyperparameter 'rho' must be <= 5.0; got 1000000000.0",
        cli=("train", "{tmp}/sam.yaml", "{csv}", "-t", "cultivar"),
        api=lambda tmp: Recipe.load(tmp / "sam.yaml"),
        error=RecipeError,
        files={
            "sam.yaml": _recipe_yaml(
                torch={"epochs": 1, "wrapper": {"name": "sam", "params": {"rho": 1e9}}}
            )
        },
    ),
    Case(
        "recipe-score-not-a-number",
        "recipe.provenance.score: Score.mean must be a number; got 'high'",
        cli=("train", "{tmp}/score.yaml", "{csv}", "-t", "cultivar"),
        api=lambda tmp: Recipe.load(tmp / "score.yaml"),
        error=RecipeError,
        files={
            "score.yaml": _recipe_yaml(
                provenance={
                    "score": {
                        "metric": "accuracy",
                        "mean": "high",
                        "low": 0.8,
                        "high": 0.9,
                        "n_seeds": 3,
                    }
                }
            )
        },
    ),
    Case(
        "recipe-seed-beyond-the-rngs",
        f"recipe.seed must be an integer in [0, 4294967295]; got {2**70}",
        cli=("train", "{tmp}/seed.yaml", "{csv}", "-t", "cultivar"),
        api=lambda tmp: Recipe.load(tmp / "seed.yaml"),
        error=RecipeError,
        files={"seed.yaml": _recipe_yaml(seed=2**70)},
    ),
    Case(
        "recipe-schema-version-is-a-bool",
        "recipe.schema_version is True; this losstune reads versions 1, 2",
        cli=("train", "{tmp}/version.yaml", "{csv}", "-t", "cultivar"),
        api=lambda tmp: Recipe.load(tmp / "version.yaml"),
        error=RecipeError,
        files={"version.yaml": _recipe_yaml(schema_version=True)},
    ),
    # -- the search ------------------------------------------------------------------------------
    Case(
        "search-epochs-beyond-the-recipe-domain",
        "epochs must be a whole number >= 1 and <= 10000 (what a recipe accepts); got 100000000",
        cli=("search", "{csv}", "-t", "cultivar", "--epochs", "100000000"),
        api=lambda tmp: losstune.search(
            losstune.load_dataset(_wine_frame(), target="cultivar"),
            n_trials=1,
            epochs=100_000_000,
        ),
    ),
    Case(
        "space-epochs-below-the-recipe-domain",
        "'epochs': low=0 lies outside the domain of the recipe's epochs, an integer in [1, 10000]",
        cli=("search", "{csv}", "-t", "cultivar", "--space", "{tmp}/space.yaml"),
        api=_space_search,
        error=SpaceError,
        files={"space.yaml": "epochs: {low: 0, high: 40}\n"},
    ),
    Case(
        "space-names-no-hyperparameter",
        "'loss.focal.foo': loss 'focal' has no hyperparameter 'foo'",
        cli=("search", "{csv}", "-t", "cultivar", "--space", "{tmp}/space.yaml"),
        api=_space_search,
        error=SpaceError,
        files={"space.yaml": "loss: [focal]\nloss.focal.foo: 1\n"},
    ),
    Case(
        "space-sam-rho-beyond-its-domain",
        "'wrapper.sam.rho': high=1000000000.0 lies outside the domain of wrapper 'sam''s 'rho'",
        cli=("search", "{csv}", "-t", "cultivar", "--space", "{tmp}/space.yaml"),
        api=_space_search,
        error=SpaceError,
        files={"space.yaml": "wrapper.sam.rho: {low: 0.01, high: 1.0e+9}\n"},
    ),
    Case(
        "search-takes-a-dataset-not-a-frame",
        "search() takes a Dataset, not a DataFrame",
        api=lambda tmp: losstune.search(_wine_frame(), n_trials=1),
        error=TypeError,
    ),
    Case(
        "device-this-machine-lacks",
        "but CUDA is not available",
        cli=("search", "{csv}", "-t", "cultivar", "--device", "cuda:7", "--trials", "1"),
        api=lambda tmp: _search(_wine_frame(), device="cuda:7", run_dir=tmp / "runs"),
    ),
    Case(
        "damaged-optuna-db",
        "Cannot open the Optuna storage sqlite:///{tmp}/runs/optuna.db: file is not a database",
        cli=("search", "{csv}", "-t", "cultivar", "--run-dir", "{tmp}/runs", "--trials", "1"),
        api=lambda tmp: _search(_wine_frame(), run_dir=tmp / "runs"),
        error=StoreError,
        files={"runs/optuna.db": "not a database " * 200},
    ),
    Case(
        "damaged-mlflow-db",
        "Cannot open the MLflow tracking store sqlite:///{tmp}/runs/mlflow.db: file is not a",
        cli=("search", "{csv}", "-t", "cultivar", "--run-dir", "{tmp}/runs", "--trials", "1"),
        api=lambda tmp: _search(_wine_frame(), run_dir=tmp / "runs"),
        error=StoreError,
        files={"runs/mlflow.db": "not a database " * 200},
    ),
    Case(
        "out-is-a-directory",
        "is a directory; name the recipe file",
        cli=("search", "{csv}", "-t", "cultivar", "--out", "{tmp}", "--trials", "1"),
    ),
    Case(
        "out-folder-missing",
        "the folder {tmp}/nowhere does not exist",
        cli=("recipe", "{csv}", "-t", "cultivar", "--out", "{tmp}/nowhere/r.yaml"),
    ),
    # -- secrets, paths, the UI -------------------------------------------------------------------
    Case(
        "study-name-is-a-path",
        "study_name must be 1 to 100 letters, digits, '.', '_' or '-', not starting with '.'",
        cli=("search", "{csv}", "-t", "cultivar", "--study-name", "../../x", "--backend", "ray"),
        api=lambda tmp: _search(_wine_frame(), study_name="../x"),
    ),
    Case(
        "tracking-store-driver-not-installed",
        "postgresql+pg8000://me:***@127.0.0.1:1/mlflow: its database driver is not installed; "
        "pip install pg8000",
        cli=("search", "{csv}", "-t", "cultivar", "--tracking-uri", PG8000),
        api=lambda tmp: _search(_wine_frame(), tracking_uri=PG8000),
        error=TrackingStoreError,
    ),
    # -- show and predict ------------------------------------------------------------------------
    Case(
        "show-not-a-run-folder",
        "{tmp} is not a losstune run folder: it has no optuna.db",
        cli=("show", "{tmp}"),
        api=lambda tmp: load_search(tmp),
        error=ShowError,
    ),
    Case(
        "predict-model-missing",
        "{tmp}/nowhere does not exist; pass the model URI a search printed, or its run folder",
        cli=("predict", "{tmp}/nowhere", "{csv}", "--out", "{tmp}/p.csv"),
    ),
    Case(
        "predict-neither-run-nor-model-folder",
        "{tmp} is neither a run folder (no optuna.db) nor a model folder (no MLmodel)",
        cli=("predict", "{tmp}", "{csv}", "--out", "{tmp}/p.csv"),
    ),
    Case(
        "predict-out-exists",
        "--out {tmp}/p.csv exists; pass --force to overwrite it",
        cli=("predict", "{tmp}", "{csv}", "--out", "{tmp}/p.csv"),
        files={"p.csv": "prediction\n1\n"},
    ),
]


@pytest.fixture(scope="module")
def wine_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("wine") / "wine.csv"
    _wine_frame().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def good_recipe(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("recipe") / "recipe.yaml"
    Recipe.default("multiclass", "accuracy").replace(epochs=1).save(path)
    return path


def _write(case: Case, tmp: Path) -> None:
    for name, content in case.files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


@pytest.mark.parametrize("case", [c for c in CASES if c.cli], ids=lambda c: c.id)
def test_cli_answers_bad_input_with_one_line(case, tmp_path, wine_csv, good_recipe, monkeypatch):
    _write(case, tmp_path)
    monkeypatch.chdir(tmp_path)
    fill = {"{tmp}": str(tmp_path), "{csv}": str(wine_csv), "{recipe}": str(good_recipe)}
    args = list(case.cli or ())
    for key, value in fill.items():
        args = [a.replace(key, value) for a in args]
    out = CliRunner().invoke(app, args)
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.exit_code == 2, (out.stdout, out.stderr, out.exception)
    assert isinstance(out.exception, SystemExit), out.exception
    assert "Traceback" not in out.output
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("Error: ")
    assert case.message.replace("{tmp}", str(tmp_path)) in lines[0]


@pytest.mark.parametrize("case", [c for c in CASES if c.api], ids=lambda c: c.id)
def test_api_raises_a_specific_exception(case, tmp_path, monkeypatch):
    _write(case, tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(case.error) as raised:
        case.api(tmp_path)  # type: ignore[misc]
    assert case.message.replace("{tmp}", str(tmp_path)) in str(raised.value)
