"""The cpu preset's grids are cut to the rows their scale can decide; a claim whose rows a
grid leaves out reads "not testable at this scale", naming the rows and why, never "not
enough runs"; at the paper preset every row runs."""

import pytest

from ssl_bench.ablation import expand, get_ablation
from ssl_bench.report import Entry, build_report

CPU_ROWS = {
    "batch_size": ["64", "4"],
    "tau": ["0.99", "0 (stop-gradient of online)"],
    "augmentation": ["baseline", "crop only"],
    "simsiam_heads_bn": [
        "(a) no BN",
        "(c) BN on hidden layers and the projector's output",
        "(c') as (c), the projector's output BN without affine",
        "(d) BN on every layer, the predictor's output too",
    ],
}


@pytest.mark.parametrize("name", sorted(CPU_ROWS))
def test_the_cpu_grid_runs_the_rows_its_claims_read(name):
    assert [r.label for r in get_ablation(name).rows("cpu")] == CPU_ROWS[name]
    assert len(get_ablation(name).rows("paper")) > len(CPU_ROWS[name])


def test_the_negatives_family_is_four_rows_at_cpu_and_eighteen_at_the_paper_preset():
    rows = [r.label for r in get_ablation("predictor").rows("cpu")]
    negatives = [r for r in rows if "EMA target, beta=" in r and not r.endswith("beta=0")]
    assert len(negatives) == 4 and len(rows) == 8
    assert len(get_ablation("predictor").rows("paper")) == 29


def _entries(name: str) -> list[Entry]:
    out = []
    for p in expand(get_ablation(name), preset="cpu", seeds=[0, 1, 2]):
        v = 0.80 + 0.001 * p.seed
        metrics = {"linear_top1": v, "knn_top1": v, "z_std": 0.05, "z_std_ideal": 0.0625}
        record = {
            "status": "done",
            "metrics": metrics,
            "random_init": {"linear_top1": 0.7, "knn_top1": 0.7},
            "pixels": {"linear_top1": 0.75, "knn_top1": 0.75},
            "config": {"seed": p.seed, "preset": "cpu", "data": {"dataset": "fashion-mnist"}},
            "data": {"num_classes": 10},
        }
        out.append(Entry(p.labels, record))
    return out


def test_claims_on_rows_the_cpu_grid_leaves_out_read_not_testable():
    rep = build_report(get_ablation("tau"), _entries("tau"))
    by_claim = {v.claim: v for v in rep.verdicts}
    collapse = by_claim["tau = 0 (stop-gradient of online) collapses"]
    assert collapse.testable  # its rows ran
    cut = [v for v in rep.verdicts if v is not collapse]
    assert len(cut) == 2 and all(not v.testable for v in cut)
    assert all("this scale's grid leaves out" in v.reading and "5-point margins" in v.reading for v in cut)
    assert "1 (constant random target)" in cut[0].scope and "0.9; 0.999" in cut[1].scope


def test_the_colour_claim_at_cpu_says_grey_images_have_no_colour_to_remove():
    rep = build_report(get_ablation("augmentation"), _entries("augmentation"))
    colour, crop = rep.verdicts
    assert not colour.testable and "grey images have no colour to remove" in colour.reading
    assert crop.scope.startswith("weak: the images are grey")


NOT_AT_CPU = {"simsiam_batch_size": "within 5 points", "simsiam_cifar10": "CIFAR-10 at 800 epochs"}


@pytest.mark.parametrize("name", sorted(NOT_AT_CPU))
def test_a_grid_that_runs_no_row_at_cpu_still_runs_elsewhere(name):
    ablation = get_ablation(name)
    assert ablation.rows_at("cpu") == [] and expand(ablation, preset="cpu") == []
    assert expand(ablation, preset="smoke") and len(ablation.rows_at("paper")) >= 1


@pytest.mark.parametrize("name", sorted(NOT_AT_CPU))
def test_run_refuses_a_grid_at_a_preset_that_runs_none_of_its_rows(name, tmp_path, capsys):
    from ssl_bench.cli import main

    short = name.removeprefix("simsiam_")
    assert main(["run", "--paper", "simsiam", "--ablation", short, "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "at the cpu preset" in err and NOT_AT_CPU[name] in err
    assert "--preset" in err and not (tmp_path / "runs").exists()


def test_every_grid_of_a_paper_at_cpu_skips_those_and_says_why(tmp_path, capsys):
    from ssl_bench.cli import main

    assert main(["run", "--paper", "simsiam", "--ablation", "all", "--dry-run", "--out", str(tmp_path)]) == 0
    skipped = [line for line in capsys.readouterr().out.splitlines() if line.startswith("skipped: ")]
    assert sorted(s.split()[1] for s in skipped) == sorted(NOT_AT_CPU)
    assert main(["status", "--paper", "simsiam", "--ablation", "batch_size", "--out", str(tmp_path)]) == 0
    assert "runs none of its rows at the cpu preset" in capsys.readouterr().out


def test_their_claims_read_not_testable_at_cpu_beside_the_papers_rows(tmp_path):
    from ssl_bench.cli import main

    out = tmp_path / "reports"
    assert main(["report", "--ablation", "all", "--paper", "simsiam", "--runs", str(tmp_path), "--out", str(out)]) == 0
    index = (out / "README.md").read_text()
    for name, why in NOT_AT_CPU.items():
        lines = [line for line in index.splitlines() if f"| {name} |" in line]
        assert lines and all("not testable at this scale (the cpu preset runs none" in line for line in lines)
        assert all(why in line for line in lines)
    table = (out / "simsiam_batch_size" / "simsiam_batch_size.md").read_text()
    assert "| 64 | not run |" in table and "66.1" in table  # the paper's row, beside ours not run


def test_a_grid_not_run_here_reads_so_and_plots_the_papers_rows_in_order():
    ablation = get_ablation("simsiam_batch_size")
    rep = build_report(ablation, [], baseline=ablation.baseline("cpu"), preset="cpu")
    assert rep.scale == "not run at the cpu preset"
    (paper_line,) = rep.figure().axes[0].get_lines()[:1]
    xs = list(paper_line.get_xdata())
    assert xs == sorted(xs) and len(xs) == len(ablation.paper)  # Table 2 lists 512 first; the line runs 64 .. 4096


def test_a_row_asked_of_a_grid_not_run_here_is_refused_with_the_reason(tmp_path, capsys):
    from ssl_bench.cli import main

    argv = ["report", "--paper", "simsiam", "--ablation", "batch_size", "--row", "8", "--runs", str(tmp_path)]
    assert main([*argv, "--out", str(tmp_path / "reports")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "runs no row at the cpu preset, '8' neither" in err
    assert "within 5 points" in err and not (tmp_path / "reports").exists()
