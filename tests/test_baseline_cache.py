"""The random-init encoder's and the pixels' scores are computed once per grid folder for
every run that shares them, and the records are the same as when each run computes its
own; a corrupt cache file is computed again, never trusted."""

from helpers import QUIET, smoke

from ssl_bench import finish as finish_mod
from ssl_bench.baseline_cache import FOLDER, baseline_key, shared_score
from ssl_bench.train import RunEnv, run

FAST = {"eval.linear_probe": False, "eval.pixels": True, "train.epochs": 1}


def _counting(monkeypatch) -> list[str]:
    computed = []

    def counted(out_dir, cfg, what, compute):
        return shared_score(out_dir, cfg, what, lambda: computed.append(what) or compute())

    monkeypatch.setattr(finish_mod, "shared_score", counted)
    return computed


def test_runs_that_share_a_baseline_score_it_once_and_record_the_same(tmp_path, monkeypatch):
    computed = _counting(monkeypatch)
    a = run(smoke(**FAST), RunEnv(out_dir=tmp_path / "grid", **QUIET))
    b = run(smoke(**FAST, **{"method.optim.base_lr": 1e-3}), RunEnv(out_dir=tmp_path / "grid", **QUIET))
    assert a["run_id"] != b["run_id"] and sorted(computed) == ["pixels", "random_init"]
    alone = run(smoke(**FAST, **{"method.optim.base_lr": 1e-3}), RunEnv(out_dir=tmp_path / "alone", **QUIET))
    assert b["random_init"] == alone["random_init"] == a["random_init"] and b["pixels"] == alone["pixels"]
    assert len(computed) == 4  # the other folder computed its own


def test_a_corrupt_cache_file_is_computed_again(tmp_path, monkeypatch):
    first = run(smoke(**FAST), RunEnv(out_dir=tmp_path, **QUIET))
    files = sorted((tmp_path / FOLDER).glob("*.json"))
    assert len(files) == 2
    for f in files:
        f.write_text('{"key": "trunc')
    computed = _counting(monkeypatch)
    again = run(smoke(**{**FAST, "train.epochs": 2}), RunEnv(out_dir=tmp_path, **QUIET))
    assert sorted(computed) == ["pixels", "random_init"]
    assert again["random_init"] == first["random_init"] and again["pixels"] == first["pixels"]


def test_the_key_follows_what_the_score_depends_on():
    base = smoke()
    assert baseline_key(base, "random_init") == baseline_key(smoke(**{"train.epochs": 5}), "random_init")
    assert baseline_key(base, "random_init") != baseline_key(smoke(**{"seed": 1}), "random_init")
    assert baseline_key(base, "random_init") != baseline_key(smoke(**{"method.projector.hidden": (32,)}), "random_init")
    assert baseline_key(base, "pixels") == baseline_key(smoke("simclr"), "pixels")
    assert baseline_key(base, "random_init") != baseline_key(smoke("simclr"), "random_init")
    assert baseline_key(base, "pixels") != baseline_key(smoke(**{"data.train_subset": 100}), "pixels")


# A process that scores a shared baseline: it logs its pid when it starts computing, sleeps
# (so the others arrive while it holds the lock), and prints the score it got.
CHILD = """
import json, os, sys, time
from helpers import smoke
from ssl_bench.baseline_cache import shared_score
log, pause = sys.argv[1], float(sys.argv[2])

def compute():
    with open(log, "a") as f:
        f.write(f"{os.getpid()}\\n")
    time.sleep(pause)
    return {"linear_top1": 0.5}

print(json.dumps(shared_score(sys.argv[3], smoke(), "random_init", compute)))
"""


def _child(tmp_path, pause: float):
    import subprocess
    import sys
    from pathlib import Path

    tests = Path(__file__).resolve().parent
    env = {**__import__("os").environ, "PYTHONPATH": str(tests)}
    argv = [sys.executable, "-c", CHILD, str(tmp_path / "computed.log"), str(pause), str(tmp_path / "grid")]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _computed(tmp_path) -> list[str]:
    log = tmp_path / "computed.log"
    return log.read_text().split() if log.exists() else []


def test_concurrent_runs_compute_a_shared_baseline_once_and_a_killed_one_leaves_it_to_the_next(tmp_path):
    """Three processes at once: one computes, the others wait on the lock and read its
    file. A process killed while computing writes nothing, its lock dies with it, and the
    next process computes the score again; no one ever reads a half-written file."""
    import json
    import signal

    from helpers import wait_until

    children = [_child(tmp_path, 2.0) for _ in range(3)]
    outs = [c.communicate(timeout=600) for c in children]
    assert all(c.returncode == 0 for c in children), [err[-2000:] for _, err in outs]
    assert len(_computed(tmp_path)) == 1
    assert {json.dumps(json.loads(out)) for out, _ in outs} == {json.dumps({"linear_top1": 0.5})}

    for f in (tmp_path / "grid" / FOLDER).glob("*.json"):
        f.unlink()  # as if never computed
    victim = _child(tmp_path, 600.0)
    wait_until(lambda: len(_computed(tmp_path)) == 2, lambda: victim.poll(), "the victim to start computing")
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=60)
    assert not list((tmp_path / "grid" / FOLDER).glob("*.json"))  # nothing half-written
    survivor = _child(tmp_path, 0.0)
    out, err = survivor.communicate(timeout=600)
    assert survivor.returncode == 0, err[-2000:]
    assert json.loads(out) == {"linear_top1": 0.5} and len(_computed(tmp_path)) == 3
