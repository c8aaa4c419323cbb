"""Command line: bad input gets one line naming the value and the choices, exit 2, no
traceback, nothing written; listing works; a smoke run prints its summary."""

import json
import os
import subprocess
import sys

import pytest

from ssl_bench.cli import main
from ssl_bench.registry import list_methods

BAD = [
    (
        ["run", "--method", "byol2"],
        "unknown method 'byol2'; choose one of: barlow_twins, byol, moco_v2, simclr, simsiam, vicreg",
    ),
    (["run", "--dataset", "mnist3"], "unknown dataset 'mnist3'; choose one of: cifar10"),
    (["run", "--backbone", "resnet999"], "unknown backbone 'resnet999'"),
    (["run", "--set", "method.tau=0.5"], "unknown config key 'method.tau'"),
    (["run", "--set", "train.epochs=ten"], "train.epochs='ten': expected an int"),
    (["run", "--set", "method.ema.tau_base=1.5"], "method.ema.tau_base=1.5 is outside [0, 1]"),
    (["run", "--set", "method.ema.tau_base=-0.1"], "outside [0, 1]"),
    (["run", "--method", "simclr", "--set", 'method.ema={"tau_base": 0.99}'], "does not apply"),
    (["run", "--method", "simclr", "--set", "method.ema.tau_base=0.99"], "method.ema is none; set it whole first"),
    (["run", "--set", "method.loss.beta=-1"], "method.loss.beta=-1.0 must be >= 0"),
    (["run", "--set", "method.loss.temperature=0"], "method.loss.temperature=0.0 must be > 0"),
    (
        ["run", "--set", 'method.loss={"kind": "hinge"}'],
        "method.loss: kind='hinge' is not one of: info_nce, barlow_twins, vicreg",
    ),
    (["run", "--method", "vicreg", "--set", "method.loss.queue=8"], "unknown config key 'method.loss.queue'"),
    (["run", "--method", "byol", "--set", "method.loss.queue=8"], "method.loss.queue=8 needs method.loss.beta > 0"),
    (["run", "--method", "simclr", "--batch-size", "1"], "batch size per step 1 must be >= 2"),
    (["run", "--set", "data.image_size=4"], "data.image_size=4 is too small"),
    (["run", "--dataset", "cifar10"], "cifar10 needs --data-dir"),
    (["run", "--dataset", "cifar10", "--data-dir", "/nonexistent/x"], "--data-dir /nonexistent/x: no such directory"),
    (["run", "--preset", "huge"], "unknown preset 'huge'; choose one of:"),
    (["run", "--device", "tpu"], "--device 'tpu': choose auto, cpu, cuda or cuda:N"),
    (["run", "--epochs", "0"], "train.epochs=0 must be >= 1"),
    (["run", "--set", "method.optim.name=adam"], "not one of: lars, sgd, adamw"),
    (["run", "--set", "aug.view2.solarize_p=2"], "solarize_p"),
    (["run", "--epochs", "x"], "argument --epochs: invalid int value: 'x'"),
    (["list", "things"], "invalid choice: 'things'"),
    (["run", "--method", "byol,simclr,byol"], "--method 'byol,simclr,byol': byol given twice; give each once"),
    (["run", "--ablation", "tau", "--seeds", "0,1,0"], "--seeds '0,1,0': 0 given twice; give each once"),
    (["report", "--ablation", "tau", "--runs", "/nonexistent/runs"], "--runs /nonexistent/runs: no such directory"),
    # A bad name is named before a missing folder is.
    (["report", "--ablation", "taus", "--runs", "/nonexistent/runs"], "unknown ablation 'taus'"),
    (["report", "--ablation", "tau", "--seeds", "x", "--runs", "/nonexistent/runs"], "--seeds 'x': expected"),
    (["report", "--ablation", "all", "--method", "byl", "--runs", "/nonexistent/runs"], "unknown method 'byl'"),
    # Grid and SLURM options on a single run would be ignored: refused, never dropped.
    (["run", "--seeds", "0,1"], "--seeds: for a grid, with --ablation"),
    (["run", "--launcher", "slurm", "--partition", "gpu"], "--launcher, --partition: for a grid"),
    (["run", "--jobs", "2"], "--jobs: for a grid"),
    (["run", "--row", "0.99"], "--row: for a grid"),
    (["run", "--dry-run"], "--dry-run: for a grid"),
    (["run", "--paper", "simsiam"], "--paper: for a grid"),
    (
        ["run", "--preset", "smoke", "--batch-size", "512"],
        "train.batch_size=512 is larger than the 200 training images",
    ),
]


@pytest.mark.parametrize("argv,message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_one_line_exit_2_nothing_written(argv, message, tmp_path, capsys):
    out = tmp_path / "runs"
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main([*argv, "--out", str(out)] if argv[0] == "run" else argv))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ssl-bench: error: "), err
    assert message in err
    assert "Traceback" not in err
    assert not out.exists() or not any(out.rglob("*")), "bad input must not leave files behind"


def test_console_script_reports_bad_input_without_traceback(tmp_path):
    exe = os.path.join(os.path.dirname(sys.executable), "ssl-bench")
    proc = subprocess.run([exe, "run", "--method", "nope", "--out", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == "ssl-bench: error: unknown method 'nope'; choose one of: " + ", ".join(list_methods())


@pytest.mark.parametrize(
    "what,expect", [("methods", "byol"), ("datasets", "fashion-mnist"), ("presets", "smoke"), ("backbones", "convnet")]
)
def test_list(what, expect, capsys):
    assert main(["list", what]) == 0
    assert expect in capsys.readouterr().out


def test_list_ablations_names_both_papers_paper_by_paper(capsys):
    assert main(["list", "ablations"]) == 0
    lines = capsys.readouterr().out.splitlines()
    papers = [line.split()[0] for line in lines]
    assert papers == sorted(papers, key=["byol", "simsiam"].index) and set(papers) == {"byol", "simsiam"}
    names = {tuple(line.split()[:2]) for line in lines}
    assert {("byol", "tau"), ("byol", "predictor"), ("simsiam", "predictor"), ("simsiam", "stop_gradient")} <= names


def test_print_config_resolves_without_running(tmp_path, capsys):
    assert (
        main(["run", "--method", "byol", "--set", "method.ema.tau_base=0.9", "--print-config", "--out", str(tmp_path)])
        == 0
    )
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["method"]["ema"]["tau_base"] == 0.9 and len(cfg["run_id"]) == 12
    assert not any(tmp_path.iterdir())


def test_smoke_run_prints_summary_and_resume_flag(tmp_path, capsys):
    argv = ["run", "--method", "simsiam", "--preset", "smoke", "--epochs", "1", "--out", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "random init" in out and "kNN top-1" in out and "record:" in out
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir() and p.name != "_baselines"]
    assert main(["run", "--resume", str(run_dir)]) == 0  # already done: read back, same summary
    assert "random init" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["run", "dry-run", "report", "status"])
def test_a_flag_one_grid_refuses_stops_all_grids_before_any(command, tmp_path, capsys):
    """With --ablation all, every grid is expanded with the user's flags first: SimSiam's
    rows of simsiam_simclr (a predictor, a stop-gradient) are SimSiam itself, so
    --method simsiam is refused there, before any other grid is trained, reported or shown."""
    runs, reports = tmp_path / "runs", tmp_path / "reports"
    runs.mkdir()
    argv = {
        "run": ["run", "--out", str(runs)],
        "dry-run": ["run", "--dry-run", "--out", str(runs)],
        "report": ["report", "--runs", str(runs), "--out", str(reports)],
        "status": ["status", "--out", str(runs)],
    }[command]
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main([*argv, "--ablation", "all", "--method", "simsiam", "--preset", "smoke"]))
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("ssl-bench: error: --ablation all: ablation simsiam_simclr: rows 'with predictor' and")
    assert not any(runs.iterdir()) and not reports.exists()


@pytest.mark.parametrize("ablation", ["tau", "all"])
def test_a_flag_bad_for_every_grid_is_named_as_itself(ablation, tmp_path, capsys):
    """Only a refusal by one grid of several says it came from --ablation all."""
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(["report", "--ablation", ablation, "--seeds", "x", "--runs", str(tmp_path)]))
    assert exc.value.code == 2
    assert capsys.readouterr().err == "ssl-bench: error: --seeds 'x': expected comma-separated integers such as 0,1,2\n"
