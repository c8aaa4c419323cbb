"""Several processes for one run (DDP), exercised on the CPU with the gloo backend."""

import pytest
import torch
from helpers import QUIET

from ssl_bench.config import build_config
from ssl_bench.loss import beta_info_nce
from ssl_bench.spec import SpecError
from ssl_bench.train import Preempted, RunEnv, run


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0])
def test_gathered_negatives_give_the_full_batch_loss(beta):
    """Each rank scores its own anchors against every rank's targets; DDP then averages
    the ranks, which is the loss of the whole batch in one process."""
    g = torch.Generator().manual_seed(0)
    world, b = 4, 3
    p1, p2, t1, t2 = (torch.randn(world * b, 8, generator=g, dtype=torch.float64) for _ in range(4))
    full = beta_info_nce(p1, p2, t1, t2, beta=beta, temperature=0.2)
    per_rank = [
        beta_info_nce(
            p1[r * b : (r + 1) * b], p2[r * b : (r + 1) * b], t1, t2, beta=beta, temperature=0.2, offset=r * b
        )
        for r in range(world)
    ]
    assert float(sum(per_rank) / world) == pytest.approx(float(full), rel=1e-12)


def test_devices_must_divide_the_batch():
    with pytest.raises(SpecError, match="train.devices=3"):
        build_config("simclr", preset="smoke", overrides={"train.devices": 3})


def ddp_config(**extra):
    return build_config(
        "simclr", preset="smoke", overrides={"train.devices": 2, "train.epochs": 2, "eval.linear_probe": False, **extra}
    )


def test_two_processes_with_global_batch_norm_train_what_one_process_trains(tmp_path):
    """The same global batch, augmentations and BatchNorm statistics (GlooBatchNorm on the
    CPU) in two processes as in one: the same losses and weights, to float64 rounding (in
    float32 the layouts' sum orders, which differ between CPUs, grow past any fixed
    tolerance over a few steps of SimCLR)."""
    two = ddp_config(**{"train.sync_bn": True, "train.precision": "fp64"})
    one = ddp_config(**{"train.sync_bn": True, "train.precision": "fp64", "train.devices": 1})
    a = run(two, RunEnv(out_dir=tmp_path, device="cpu", **QUIET))
    b = run(one, RunEnv(out_dir=tmp_path, device="cpu", **QUIET))
    assert a["cost"]["devices"] == 2 and b["cost"]["devices"] == 1 and a["cost"]["ranks_agree"]
    assert [p["loss"] for p in a["curves"]] == pytest.approx([p["loss"] for p in b["curves"]], rel=1e-6)
    wa, wb = (torch.load(tmp_path / r["run_id"] / "encoder.pt") for r in (a, b))
    assert all(torch.allclose(wa[k].double(), wb[k].double(), rtol=1e-8, atol=1e-10) for k in wa)


def _batch_norm_rank(rank: int, port: int, x: torch.Tensor, w: torch.Tensor, out: dict) -> None:
    from ssl_bench import distributed
    from ssl_bench.sync_bn import global_batch_norm

    distributed.init(rank, 2, port, torch.device("cpu"))
    bn = global_batch_norm(torch.nn.BatchNorm2d(3), torch.device("cpu"))
    rows = x[rank * 4 : (rank + 1) * 4].clone().requires_grad_()
    (bn(rows) * w[rank * 4 : (rank + 1) * 4]).sum().backward()
    out[rank] = (bn(rows).detach(), rows.grad, bn.weight.grad, bn.bias.grad, bn.running_mean, bn.running_var)
    distributed.shutdown()


def test_gloo_batch_norm_equals_batch_norm_on_the_whole_batch():
    """Forward, input and weight gradients (summed over ranks, as DDP's sum before its mean)
    and running statistics of GlooBatchNorm in two processes against torch's BatchNorm2d
    on both halves at once."""
    import torch.multiprocessing as mp

    from ssl_bench.distributed import free_port

    g = torch.Generator().manual_seed(0)
    x, w = torch.randn(8, 3, 5, 5, generator=g) * 3 + 1, torch.randn(8, 3, 5, 5, generator=g)
    with mp.Manager() as manager:
        out = manager.dict()
        mp.start_processes(_batch_norm_rank, args=(free_port(), x, w, out), nprocs=2, start_method="spawn")
        ranks = [out[0], out[1]]
    ref = torch.nn.BatchNorm2d(3)
    xr = x.clone().requires_grad_()
    (ref(xr) * w).sum().backward()
    y = torch.cat([r[0] for r in ranks])
    # the second forward of each rank updated the running statistics twice: so does this
    ref(x)
    assert torch.allclose(y, torch.nn.functional.batch_norm(x, None, None, training=True), atol=1e-5)
    assert torch.allclose(torch.cat([r[1] for r in ranks]), xr.grad, atol=1e-5)
    assert torch.allclose(ranks[0][2] + ranks[1][2], ref.weight.grad, atol=1e-4)
    assert torch.allclose(ranks[0][3] + ranks[1][3], ref.bias.grad, atol=1e-4)
    for r in ranks:
        assert torch.allclose(r[4], ref.running_mean, atol=1e-5) and torch.allclose(r[5], ref.running_var, atol=1e-5)


def test_two_process_run_writes_one_record(tmp_path):
    rec = run(ddp_config(), RunEnv(out_dir=tmp_path, device="cpu", **QUIET))
    assert rec["status"] == "done" and rec["cost"]["devices"] == 2
    assert len(rec["curves"]) == 2 and 0 <= rec["metrics"]["knn_top1"] <= 1
    assert len(list(tmp_path.glob("*/record.json"))) == 1


def test_two_process_run_resumes_to_the_same_result(tmp_path):
    cfg = ddp_config()
    ref = run(cfg, RunEnv(out_dir=tmp_path / "a", device="cpu", **QUIET))
    # A stop asked before the ranks start: they checkpoint at their first read point, on
    # any CPU, however fast.
    with pytest.raises(Preempted):
        run(cfg, RunEnv(out_dir=tmp_path / "b", device="cpu", should_stop=lambda: True, **QUIET))
    resumed = run(cfg, RunEnv(out_dir=tmp_path / "b", device="cpu", **QUIET))
    assert resumed["resumes"], "the second call should have resumed from the checkpoint"
    assert resumed["metrics"] == ref["metrics"] and resumed["curves"] == ref["curves"]


def _slurm_task(monkeypatch, job_id: str, rank: int) -> None:
    """This process as task `rank` of a two-task SLURM job on one node, as srun starts it."""
    monkeypatch.delenv("MASTER_PORT", raising=False)
    for name, value in {
        "SUBMITIT_EXECUTOR": "slurm",
        "SLURM_JOB_ID": job_id,
        "SLURM_NTASKS": "2",
        "SLURM_JOB_NUM_NODES": "1",
        "SLURM_NODEID": "0",
        "SLURM_JOB_NODELIST": "n1",
        "SLURM_PROCID": str(rank),
        "SLURM_LOCALID": str(rank),
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("MASTER_ADDR", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)


def test_every_task_of_a_job_takes_one_master_port_clear_of_client_sockets(monkeypatch):
    """Client sockets draw local ports from 32768 up (Linux's default): a master port there
    can be taken by one, and rank 0 then fails to listen. Every task must compute the same."""
    import os

    from ssl_bench.task_group import MASTER_PORTS, _export_slurm_environment

    monkeypatch.setattr(os, "environ", dict(os.environ))  # submitit's export writes os.environ: keep it here
    ports = set()
    for rank in (0, 1):
        _slurm_task(monkeypatch, "4", rank)
        layout = _export_slurm_environment()
        ports.add(os.environ["MASTER_PORT"])
        assert layout["master"] == f"n1:{os.environ['MASTER_PORT']}" and os.environ["RANK"] == str(rank)
    (port,) = ports
    assert MASTER_PORTS[0] <= int(port) <= MASTER_PORTS[1] < 32768
    _slurm_task(monkeypatch, "5", 0)
    _export_slurm_environment()
    assert os.environ["MASTER_PORT"] != port  # another job, another port
    _slurm_task(monkeypatch, "4", 0)
    monkeypatch.setenv("MASTER_PORT", "29500")  # a user's own choice is kept
    assert _export_slurm_environment()["master"] == "n1:29500"
