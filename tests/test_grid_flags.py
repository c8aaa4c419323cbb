"""A user's flags win over an ablation's scale overrides, or are refused in one line where
the grid's rows set the same field: never silently ignored."""

import argparse

import pytest

from ssl_bench.cli import main
from ssl_bench.cli.common import grid_from


def _grid(*argv: str):
    """The points `ssl-bench run --ablation ...` would run, parsed as the CLI parses them."""
    from ssl_bench.cli import parser

    args = parser().parse_args(["run", *argv])
    assert isinstance(args, argparse.Namespace)
    return grid_from(args)[2]


def test_epochs_beats_the_grids_own_schedule():
    smoke = ("--preset", "smoke", "--ablation", "batch_size", "--method", "byol", "--row", "32")
    default = _grid(*smoke)
    assert [p.config.train.epochs for p in default] == [1]  # the smoke grid's own scale
    assert [p.config.train.epochs for p in _grid("--ablation", "tau", "--row", "0.99")] == [20]  # cpu: the preset's
    for epochs in (2, 3):
        (p,) = _grid(*smoke, "--epochs", str(epochs))
        assert p.config.train.epochs == epochs and p.run_id != default[0].run_id


def test_set_beats_the_grids_own_schedule_and_the_shorthand():
    (p,) = _grid("--ablation", "tau", "--method", "byol", "--row", "0.99", "--set", "train.epochs=3")
    assert p.config.train.epochs == 3
    (p,) = _grid("--ablation", "tau", "--row", "0.99", "--epochs", "2", "--set", "train.epochs=3")
    assert p.config.train.epochs == 3


def test_batch_size_seed_and_backbone_reach_a_grid_that_does_not_vary_them():
    (p,) = _grid("--ablation", "tau", "--row", "0.99", "--batch-size", "32", "--backbone", "resnet18")
    assert (p.config.train.batch_size, p.config.backbone) == (32, "resnet18")
    points = _grid("--ablation", "tau", "--row", "0.99", "--seed", "7")
    assert [p.seed for p in points] == [7] and points[0].config.seed == 7


@pytest.mark.parametrize(
    "argv, says",
    [
        (("--ablation", "batch_size", "--batch-size", "32"), "train.batch_size=32: ablation batch_size sets"),
        (("--ablation", "tau", "--set", "method.ema.tau_base=0.9"), "method.ema.tau_base=0.9: ablation tau sets"),
        (("--ablation", "tau", "--set", 'method.ema={"tau_base": 0.9}'), "ablation tau sets method.ema"),
        (("--ablation", "tau", "--seed", "1", "--seeds", "0,1"), "--seed 1 and --seeds 0,1: give one"),
    ],
)
def test_a_flag_the_grid_sets_per_row_is_one_line(tmp_path, capsys, argv, says):
    out = tmp_path / "runs"
    assert main(["run", "--preset", "smoke", "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert not out.exists()


def test_a_grid_runs_seed_major():
    """Every row at seed s before any row at s + 1: a sweep cut short stays balanced."""
    points = _grid("--ablation", "tau", "--seeds", "0,1,2")
    seeds = [p.seed for p in points]
    assert seeds == sorted(seeds) and len(set(seeds)) == 3
    assert [p.row for p in points if p.seed == 0] == [p.row for p in points if p.seed == 2]
