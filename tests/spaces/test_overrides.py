import re

import pytest

from losstune.spaces import Choice, Fixed, Float, Int, SpaceError, default_space, load_space


@pytest.fixture(scope="module")
def base():
    return default_space("multiclass")


def write(tmp_path, text):
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return path


def test_the_documented_format(tmp_path, base):
    path = write(
        tmp_path,
        """
loss: [cross_entropy, focal, gce]
loss.focal.gamma: {low: 0.5, high: 3}
optimizer.adamw.lr: {low: 1.0e-4, high: 1.0e-2, log: true}
batch_size: 256
epochs: {low: 10, high: 40}
model.mlp.width: {low: 64, high: 128}
loss.focal.alpha: 0.25
weighting: none
""",
    )
    space = load_space(path, base)
    assert space["loss"].options == ("cross_entropy", "focal", "gce")
    assert "loss.poly1.eps" not in space.paths()
    assert space["loss.focal.gamma"] == Float(0.5, 3.0)
    assert space["optimizer.adamw.lr"] == Float(1e-4, 1e-2, log=True)
    assert space["batch_size"] == Fixed(256)
    assert space["epochs"] == Int(10, 40), "a fixed integer becomes an integer range"
    assert space["model.mlp.width"] == Int(64, 128), "an Int stays an Int"
    assert space["loss.focal.alpha"] == Fixed(0.25)
    assert space["weighting"] == Fixed("none")
    assert space == base.apply(
        {
            "loss": ["cross_entropy", "focal", "gce"],
            "loss.focal.gamma": {"low": 0.5, "high": 3},
            "optimizer.adamw.lr": {"low": 1e-4, "high": 1e-2, "log": True},
            "batch_size": 256,
            "epochs": {"low": 10, "high": 40},
            "model.mlp.width": {"low": 64, "high": 128},
            "loss.focal.alpha": 0.25,
            "weighting": "none",
        }
    )


def test_more_overrides(tmp_path, base):
    space = load_space(
        write(
            tmp_path,
            "loss: focal\noptimizer.adamw.lr: 1e-3\nepochs: 12\ntemperature: {low: 0.5, high: 2}\n"
            "wrapper: [none]\nbatch_size: [128, 256]\n",
        ),
        base,
    )
    assert space["loss"] == Choice(("focal",), children={"focal": {"gamma": Float(0, 5)}})
    assert space["optimizer.adamw.lr"] == Fixed(1e-3), "YAML reads 1e-3 as text; still a number"
    assert space["epochs"] == Fixed(12)
    assert space["temperature"] == Float(0.5, 2.0)
    assert space["wrapper"] == Choice(("none",))
    assert space["batch_size"] == Choice((128, 256))
    assert load_space(write(tmp_path, ""), base) == base


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("loss: [cross_entropy, focl]", "Unknown option 'focl' for 'loss'. Did you mean 'focal'?"),
        (
            "optimizer: [adamw, lionn]",
            "Unknown option 'lionn' for 'optimizer'. Did you mean 'lion'?",
        ),
        (
            "weighting: [none, effective]",
            "Unknown option 'effective' for 'weighting'. Did you mean",
        ),
        ("los: [focal]", "Unknown path 'los'. Did you mean 'loss'?"),
        (
            "loss.focal.gama: {low: 1, high: 2}",
            "Unknown path 'loss.focal.gama'. Did you mean 'loss.focal.gamma'?",
        ),
        ("loss.focl.gamma: 1.0", "Unknown option 'focl' for 'loss'. Did you mean 'focal'?"),
        (
            "loss.focal.gamma: {low: 3, high: 0.5}",
            "'loss.focal.gamma': Range low=3.0 is above high=0.5; swap them.",
        ),
        (
            "optimizer.adamw.lr: {low: 0, high: 0.1, log: true}",
            "'optimizer.adamw.lr': A log-scale range needs low > 0",
        ),
        ("loss.focal.gamma: 9", "9 is outside 'loss.focal.gamma', a float range [0.0, 5.0]"),
        ("batch_size: 100", "Unknown option 100 for 'batch_size'"),
        ("loss.focal.gamma: high", "'loss.focal.gamma': the value must be a number; got 'high'"),
        ("loss.focal.gamma: true", "'loss.focal.gamma': the value must be a number; got True"),
        (
            "loss.focal.gamma: {low: a, high: 2}",
            "'loss.focal.gamma': 'low' must be a number; got 'a'",
        ),
        ("loss.focal.gamma: {low: 1, hi: 2}", "'loss.focal.gamma': a range needs 'low' and 'high'"),
        (
            "loss.focal.gamma: {low: 1, high: 2, log: maybe}",
            "'loss.focal.gamma': 'log' must be true or false; got 'maybe'",
        ),
        ("loss.focal.gamma: [1, 2]", "'loss.focal.gamma' is a range; give {low: ..., high: ...}"),
        ("loss.focal.gamma:", "'loss.focal.gamma' has no value"),
        (
            "model.mlp.depth: {low: 1, high: 2.5}",
            "'model.mlp.depth' is an integer parameter; 'high'",
        ),
        ("batch_size: {low: 32, high: 512}", "'batch_size' is a choice of 32, 64"),
        ("epochs: 12.5", "'epochs' is fixed to 30; 12.5 is not a value of the same kind"),
        ("loss: [focal, focal]", "The options for 'loss' repeat"),
        ("loss: []", "Restrict 'loss' with a non-empty list"),
        ("1: [focal]", "Override keys must be dotted paths"),
    ],
)
def test_bad_overrides_name_the_path_and_the_fix(tmp_path, base, text, message):
    path = write(tmp_path, text)
    with pytest.raises(SpaceError, match=re.escape(f"{path}: {message}")):
        load_space(path, base)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- loss\n- focal\n", "must be a mapping of 'path: override' lines; got a list"),
        ("loss: [focal\n", "not valid YAML"),
        ("just text", "got a str"),
    ],
)
def test_bad_files(tmp_path, base, text, message):
    with pytest.raises(SpaceError, match=re.escape(message)):
        load_space(write(tmp_path, text), base)


def test_missing_file(tmp_path, base):
    with pytest.raises(SpaceError, match=r"No search-space file at '.*nope\.yaml'; check the path"):
        load_space(tmp_path / "nope.yaml", base)


def test_overrides_apply_in_order(base):
    with pytest.raises(
        SpaceError, match=r"Unknown option 'focal' for 'loss'.*'loss\.focal\.gamma'"
    ):
        base.apply({"loss": ["cross_entropy"], "loss.focal.gamma": {"low": 1, "high": 2}})
    space = base.apply({"loss.focal.gamma": {"low": 1, "high": 2}, "loss": ["focal"]})
    assert space["loss.focal.gamma"] == Float(1.0, 2.0)
