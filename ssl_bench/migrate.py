"""Records and run directories of earlier schemas, upgraded to the current one.

Schema 1 kept β, α, the loss scale and τ_base as flat fields of the method and put the
method's and preset's names in the run id. Schema 2 has the loss and the EMA as
sub-specs (`method.loss`, `method.ema`) and leaves the names out of the id, so the same
computation reached under two names is one run. Schema 3 leaves `train.channels_last` (a
memory layout, chosen for the device unless set) out of the id, as it leaves other ways of
executing the same computation. Upgrading changes no result: a run and its upgrade are the
same computation, only its id changes.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from ssl_bench.config import CONFIG_SCHEMA, config_from_dict, run_id, to_dict
from ssl_bench.records import CONFIG_NAME, RECORD_NAME, read_record, write_json_atomic


def upgrade_config(config: dict[str, Any]) -> dict[str, Any]:
    """A schema-1 config as schema 2 (a later config is returned unchanged: schema 3 changed
    only what the id is computed from)."""
    method = config.get("method", {})
    if "loss" in method:
        return config
    out = copy.deepcopy(config)
    m = out["method"]
    m["loss"] = {
        "kind": "info_nce",
        "beta": m.pop("beta"),
        "temperature": m.pop("temperature"),
        "scale": m.pop("loss_scale", "eq8"),
    }
    tau_base = m.pop("tau_base", None)
    m["ema"] = {"tau_base": tau_base} if m.get("target") == "ema" else None
    return out


def upgrade_record(record: dict[str, Any]) -> dict[str, Any]:
    """A record of any schema as the current one, its run id recomputed from its config;
    a record that was upgraded says from which schema and id."""
    if record.get("schema", 1) >= CONFIG_SCHEMA or "config" not in record:
        return record
    config = to_dict(config_from_dict(upgrade_config(record["config"])))
    return {
        **record,
        "schema": CONFIG_SCHEMA,
        "run_id": run_id(config_from_dict(config)),
        "config": config,
        "upgraded_from": {"schema": record.get("schema", 1), "run_id": record.get("run_id")},
    }


def migrate_tree(root: Path) -> list[tuple[str, str]]:
    """Upgrade every record under `root` in place (run records, lone records such as
    results/cpu-default/*.json, bench records). A run directory, named by its run id, is
    renamed to the new id, then its record and config are rewritten, each step atomic, so
    an interrupted migration is finished by running it again. Returns (old, new) ids."""
    moved = []
    for path in sorted(Path(root).rglob("*.json")):
        record = read_record(path)
        if record is None or record.get("schema", 1) >= CONFIG_SCHEMA or "method" not in record.get("config", {}):
            continue
        new = upgrade_record(record)
        old_id, new_id = record.get("run_id"), new["run_id"]
        if "adopted_from" in new:  # "<ablation>/<id>" of an identical run: the same id
            new["adopted_from"] = new["adopted_from"].replace(str(old_id), new_id)
        if path.name == RECORD_NAME:
            if path.parent.name == old_id:
                target = path.parent.with_name(new_id)
                if target.exists():
                    raise FileExistsError(f"cannot migrate {path.parent}: {target} exists already")
                os.replace(path.parent, target)
                path = target / RECORD_NAME
            if read_record(path.parent / CONFIG_NAME) is not None:
                write_json_atomic(path.parent / CONFIG_NAME, new["config"])
        elif old_id and path.name.startswith(f"{old_id}-"):  # a bench record, named by its run id
            os.replace(path, path.with_name(new_id + path.name[len(old_id) :]))
            path = path.with_name(new_id + path.name[len(old_id) :])
        write_json_atomic(path, new)
        moved.append((old_id, new_id))
    return moved
