"""Records of earlier schemas upgraded to today's: schema 1 (flat β, α, loss scale and
τ_base; names in the run id) and schema 2 (the memory layout in the run id). The same
computation under its new id, run directories renamed, atomically and resumably; the
report reads old records without being told."""

import json
import shutil
from pathlib import Path

import pytest

from ssl_bench.cli import main
from ssl_bench.config import CONFIG_SCHEMA, build_config, config_from_dict, run_id
from ssl_bench.migrate import migrate_tree, upgrade_config, upgrade_record

OLD = Path(__file__).parent / "fixtures" / "migrate" / "byol-cpu-seed0-schema1.json"
# BYOL at batch 64 of the batch-size grid, cpu preset, seed 0, recorded with channels_last in its id.
SCHEMA_2 = Path(__file__).parent / "fixtures" / "migrate" / "byol-batch64-cpu-seed0-schema2.json"


# The cpu preset as it was when the fixture ran: a 2k test subset, no pixel or extra-k scores,
# the default memory format.
THEN = {"data.test_subset": 2000, "eval.pixels": False, "eval.knn_k_also": (), "train.channels_last": False}


def old_record() -> dict:
    return json.loads(OLD.read_text())


def test_a_schema_1_record_upgrades_to_the_id_todays_code_gives_the_same_run():
    rec = old_record()
    assert rec["schema"] == 1 and rec["run_id"] == "fab4e8847494" and "tau_base" in rec["config"]["method"]
    new = upgrade_record(rec)
    today = build_config("byol", preset="cpu", overrides=THEN)  # BYOL, cpu preset, seed 0
    assert new["schema"] == CONFIG_SCHEMA and new["run_id"] == run_id(today) != rec["run_id"]
    assert new["upgraded_from"] == {"schema": 1, "run_id": "fab4e8847494"}
    assert new["config"]["method"]["loss"] == {
        "kind": "info_nce",
        "beta": 0.0,
        "temperature": 0.1,
        "scale": "eq8",
        "queue": 0,
        "same_view_negatives": True,
        "other_view_negatives": True,
        "similarity": "cosine",  # a field added since, at its default (left out of the run id)
    }
    assert new["config"]["method"]["ema"] == {"tau_base": 0.99, "cosine": True, "every": 1}
    assert new["metrics"] == rec["metrics"]  # nothing but the config's shape and the id changes
    assert upgrade_record(new) is new


def test_a_simclr_loss_scale_and_a_target_without_ema_carry_over():
    old = json.loads(json.dumps(old_record()["config"]))
    old["method"].update(target="online", tau_base=None, predictor=None, beta=1.0, loss_scale="infonce")
    method = config_from_dict(upgrade_config(old)).method
    assert method.ema is None and method.loss.scale == "infonce" and method.loss.beta == 1.0


def test_names_are_labels_not_part_of_the_id():
    a = build_config("byol", preset="cpu", overrides=THEN)
    b = config_from_dict({**json.loads(json.dumps(upgrade_record(old_record())["config"])), "method_name": "mine"})
    assert run_id(a) == run_id(b) and b.method_name == "mine"


def run_dir_with_old_record(root: Path) -> Path:
    d = root / "tau" / "fab4e8847494"
    d.mkdir(parents=True)
    shutil.copy(OLD, d / "record.json")
    (d / "config.json").write_text(json.dumps(old_record()["config"]))
    (d / "encoder.pt").write_bytes(b"weights")
    return d


def test_migrating_a_tree_renames_run_directories_and_is_idempotent(tmp_path, capsys):
    run_dir_with_old_record(tmp_path)
    assert main(["upgrade", str(tmp_path)]) == 0
    new_id = run_id(build_config("byol", preset="cpu", overrides=THEN))
    assert f"fab4e8847494 -> {new_id}" in capsys.readouterr().out
    moved = tmp_path / "tau" / new_id
    assert not (tmp_path / "tau" / "fab4e8847494").exists() and (moved / "encoder.pt").read_bytes() == b"weights"
    assert json.loads((moved / "record.json").read_text())["schema"] == CONFIG_SCHEMA
    assert run_id(config_from_dict(json.loads((moved / "config.json").read_text()))) == new_id
    assert migrate_tree(tmp_path) == []  # nothing left to do


def test_a_schema_2_record_keeps_its_config_and_takes_the_id_without_its_memory_layout():
    from ssl_bench.ablation import expand, get_ablation

    rec = json.loads(SCHEMA_2.read_text())
    assert rec["schema"] == 2 and rec["run_id"] == "7c7e9f164480" and rec["config"]["train"]["channels_last"] is True
    new = upgrade_record(rec)
    (point,) = expand(get_ablation("batch_size"), methods=["byol"], rows=["64"], seeds=[0])
    assert point.config.train.channels_last is None  # today's grid leaves the layout to the device
    assert new["run_id"] == point.run_id != rec["run_id"]
    assert new["config"]["train"]["channels_last"] is True  # what the run did stays on record
    assert new["metrics"] == rec["metrics"] and new["upgraded_from"] == {"schema": 2, "run_id": "7c7e9f164480"}


def test_an_interrupted_migration_is_finished_by_running_it_again(tmp_path):
    d = run_dir_with_old_record(tmp_path)
    new_id = run_id(build_config("byol", preset="cpu", overrides=THEN))
    d.rename(d.with_name(new_id))  # killed after the rename, before the rewrite
    assert migrate_tree(tmp_path) == [("fab4e8847494", new_id)]
    assert json.loads((d.with_name(new_id) / "config.json").read_text())["method"]["ema"]["tau_base"] == 0.99


def test_upgrade_of_a_missing_directory_is_one_line(capsys):
    assert main(["upgrade", "/nonexistent/runs"]) == 2
    assert capsys.readouterr().err.strip() == "ssl-bench: error: upgrade /nonexistent/runs: no such directory"


@pytest.mark.parametrize("ablation", ["tau"])
def test_status_and_report_see_an_old_record_once_upgraded(tmp_path, ablation, capsys):
    """A schema-1 run directory is found by status only after `ssl-bench upgrade` (its
    directory carries the old id), while the report reads it either way as a record of
    a selected row whose config is not today's (the cpu main job's 20 epochs, not the
    grid's 6): 'stale record', never 'missing' and never silently dropped."""
    run_dir_with_old_record(tmp_path)
    rec = json.loads((tmp_path / ablation / "fab4e8847494" / "record.json").read_text())
    rec["labels"] = {"ablation": "tau", "row": "0.99", "method": "byol", "seed": 0}
    (tmp_path / ablation / "fab4e8847494" / "record.json").write_text(json.dumps(rec))
    out = tmp_path / "reports"
    argv = ["report", "--ablation", ablation, "--runs", str(tmp_path), "--out", str(out), "--format", "md"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "1 record(s) of the selected rows whose config is not today's grid" in text
    assert "stale record" in (out / ablation / f"{ablation}.md").read_text()
