"""The claims sweep adds runs to a grid only on the machine its finished runs ran on."""

import json
import os
import subprocess
import sys
from pathlib import Path

from ssl_bench.ablation import expand, get_ablation
from ssl_bench.one_machine import grid_machines, main, this_machine
from ssl_bench.records import RECORD_NAME

TAU = "--method byol --ablation tau"
REPO = Path(__file__).resolve().parents[1]


def _write(out: Path, run_id: str, machine: tuple[str, str], seed: int, status: str = "done") -> None:
    folder = out / "tau" / run_id
    folder.mkdir(parents=True)
    record = {
        "status": status,
        "labels": {"seed": seed},
        "cost": {"device": "cpu", "device_name": machine[0]},
        "provenance": {"versions": {"torch": machine[1]}},
    }
    (folder / RECORD_NAME).write_text(json.dumps(record))


def _split(machine: str) -> tuple[str, str]:
    device, torch_version = machine.rsplit(", torch ", 1)
    return device, torch_version


def test_runs_from_this_machine_pass_and_another_machines_are_named(tmp_path, capsys):
    p = expand(get_ablation("tau"), methods=["byol"], preset="cpu", seeds=[1])[0]
    _write(tmp_path, p.run_id, _split(this_machine()), seed=1)
    assert grid_machines(tmp_path, TAU) == {this_machine()}
    assert main([str(tmp_path), TAU]) == 0

    q = expand(get_ablation("tau"), methods=["byol"], preset="cpu", seeds=[2])[1]
    _write(tmp_path, q.run_id, ("Some CPU (2 cores; avx2 avx512f)", "2.14.1"), seed=2)
    assert main([str(tmp_path), TAU]) == 1
    err = capsys.readouterr().err
    assert "Some CPU (2 cores; avx2 avx512f), torch 2.14.1" in err and this_machine() in err
    assert "MIXED_MACHINES=1" in err and err.count("\n") == 1


def test_records_outside_the_grid_and_unfinished_runs_do_not_count(tmp_path):
    other = ("Old CPU (2 cores)", "2.0.0")
    _write(tmp_path, "0123456789ab", other, seed=0)  # a stale record: not a point of today's grid
    p = expand(get_ablation("tau"), methods=["byol"], preset="cpu", seeds=[0])[0]
    _write(tmp_path, p.run_id, other, seed=0, status="failed")
    assert grid_machines(tmp_path, TAU) == set()
    assert main([str(tmp_path), TAU]) == 0


def test_the_sweep_script_stops_before_launching_on_another_machine(tmp_path):
    p = expand(get_ablation("batch_size"), methods=["byol"], preset="cpu", seeds=[0])[0]
    folder = tmp_path / "batch_size" / p.run_id
    folder.mkdir(parents=True)
    record = {"status": "done", "labels": {"seed": 0}, "cost": {"device_name": "Other CPU (8 cores; avx2)"}}
    (folder / RECORD_NAME).write_text(json.dumps(record))
    done = subprocess.run(
        ["bash", "scripts/claims-sweep.sh"],
        cwd=REPO,
        env={**os.environ, "OUT": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "Other CPU (8 cores; avx2), torch unknown" in done.stderr
    assert sorted(q.name for q in tmp_path.iterdir()) == ["batch_size"]  # nothing launched


def test_the_power_pass_runs_each_printed_seed_on_its_own_rows(tmp_path):
    """The sweep's second pass hands each line of `ssl_bench.seeds_for_power` (seed, method,
    rows, tab-separated; row labels with spaces and brackets) to `ssl-bench run` intact."""
    stubs, log = tmp_path / "bin", tmp_path / "calls.jsonl"
    stubs.mkdir()
    (stubs / "ssl-bench").write_text(
        f"#!{sys.executable}\nimport json, sys\nopen({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
    )
    (stubs / "python").write_text(
        f"#!{sys.executable}\nimport sys\n"
        "if sys.argv[1:3] == ['-m', 'ssl_bench.seeds_for_power'] and 'heads_bn' in sys.argv[4]:\n"
        "    print('3\\tsimsiam\\t(a) no BN\\t(c) BN on hidden layers')\n"
        "    print('4\\tsimsiam\\t(a) no BN')\n"
    )
    for stub in stubs.iterdir():
        stub.chmod(0o755)
    env = {**os.environ, "OUT": str(tmp_path / "out"), "MIXED_MACHINES": "1", "PATH": f"{stubs}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", "scripts/claims-sweep.sh"], cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    power = [c for c in calls if "--row" in c]
    head = ["run", "--paper", "simsiam", "--ablation", "heads_bn", "--method", "simsiam"]
    assert power == [
        [
            *head,
            "--row",
            "(a) no BN",
            "--row",
            "(c) BN on hidden layers",
            "--seed",
            "3",
            "--jobs",
            "1",
            "--out",
            env["OUT"],
        ],
        [*head, "--row", "(a) no BN", "--seed", "4", "--jobs", "1", "--out", env["OUT"]],
    ]
    assert calls[-1][:3] == ["report", "--ablation", "all"]  # then the index of both papers
