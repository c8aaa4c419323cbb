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
    assert baseline_key(base, "random_init") != baseline_key(
        smoke(seed=1) if False else smoke(**{"seed": 1}), "random_init"
    )
    assert baseline_key(base, "random_init") != baseline_key(smoke(**{"method.projector.hidden": (32,)}), "random_init")
    assert baseline_key(base, "pixels") == baseline_key(smoke("simclr"), "pixels")
    assert baseline_key(base, "random_init") != baseline_key(smoke("simclr"), "random_init")
    assert baseline_key(base, "pixels") != baseline_key(smoke(**{"data.train_subset": 100}), "pixels")
