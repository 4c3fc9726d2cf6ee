import subprocess
import sys


def test_import_losstune_is_light():
    code = (
        "import sys, losstune; "
        "print(sorted(m for m in ('ray', 'mlflow', 'torch', 'optuna') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names_resolve():
    import losstune

    for name in losstune.__all__:
        assert getattr(losstune, name) is not None
