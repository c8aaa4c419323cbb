"""The lines `ssl-bench run` prints when a single run finishes, from its record."""

from __future__ import annotations

from pathlib import Path


def run_summary(rec: dict, path: Path) -> str:
    """What a finished single run prints: its encoder beside the random-init one, its
    initialisation where it continued pretraining, and the pixels, on each metric."""
    m, r, c = rec["metrics"], rec["random_init"], rec["cost"]
    cfg = rec["config"]
    if r is None:  # trained on unlabelled images with nothing to score it on
        return (
            f"{cfg['method_name']} on {rec['data']['ssl_images']} unlabelled images "
            f"({len(rec['data'].get('skipped_files', []))} unreadable files skipped), final loss "
            f"{m['final_loss']:.4g}; not evaluated: {rec['evaluation']['reason']}; record: {path}"
        )

    def pct(v: float | None) -> str:
        return "   –  " if v is None else f"{100 * v:5.1f}%"

    lines = [
        f"{cfg['method_name']} on {cfg['data']['dataset']} ({rec['data']['ssl_images']} images, {cfg['backbone']}, "
        f"{cfg['train']['epochs']} epochs, batch {cfg['train']['batch_size']}, seed {cfg['seed']}): "
        f"{c['train_wall_s'] / 60:.1f} min training at {c['images_per_s']:.0f} images/s on {c['device']}",
        f"  {'encoder':<13}{'kNN top-1':>10}{'linear top-1':>14}{'linear top-5':>14}{'z std':>8}{'eff. rank':>11}",
    ]
    rows = [(f"{cfg['method_name']}", m), ("random init", r)]
    rows += [("its init", rec["initialisation"])] if "initialisation" in rec else []
    rows += [("raw pixels", rec["pixels"])] if "pixels" in rec else []
    for name, d in rows:
        spread = f"{d['z_std']:8.3f}{d['effective_rank']:11.1f}" if "z_std" in d else f"{'–':>8}{'–':>11}"
        lines.append(
            f"  {name:<13}{pct(d.get('knn_top1')):>10}{pct(d.get('linear_top1')):>14}"
            f"{pct(d.get('linear_top5')):>14}{spread}"
        )
    lines.append(f"  (z std is ≈ {m['z_std_ideal']:.3f} when projections are spread out, → 0 when collapsed)")
    gain = f"kNN gain over random init: {100 * (m['knn_top1'] - r['knn_top1']):+.1f} points"
    if "initialisation" in rec:
        gain += f", over its init: {100 * (m['knn_top1'] - rec['initialisation']['knn_top1']):+.1f}"
    if "pixels" in rec:
        gain += f", over raw pixels: {100 * (m['knn_top1'] - rec['pixels']['knn_top1']):+.1f}"
    lines.append(f"  {gain}; record: {path}")
    return "\n".join(lines)
