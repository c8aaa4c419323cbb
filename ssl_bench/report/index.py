"""results/README.md: the paper's claims first, then every table embedded and every plot
linked, each with the command that reproduces it and the machine it ran on."""

from __future__ import annotations

from collections.abc import Sequence

from ssl_bench.report.assemble import Report
from ssl_bench.report.crossing import crossing_markdown
from ssl_bench.report.frame import PCT
from ssl_bench.report.over_pixels import over_pixels, over_pixels_markdown
from ssl_bench.report.separation import METRICS, low_label_verdict, separation, separation_markdown
from ssl_bench.verdicts import RULES, SCOPE_RULES


def single_runs_table(records: Sequence[dict]) -> str:
    """Single runs (not part of a grid): trained vs random-init encoder and the raw pixels it
    is given, from their records ("–" where a record predates the pixel scores)."""
    lines = [
        "| method | seed | kNN top-1 | random init | pixels | gain | linear top-1 | random init | pixels "
        "| training | images/s | machine | record |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def pct(d: dict, key: str) -> str:
        return "–" if d.get(key) is None else f"{PCT * d[key]:.1f}"

    for rec, name in sorted(records, key=lambda x: (x[0]["config"]["method_name"], x[0]["config"]["seed"])):
        m, r, c, px = rec["metrics"], rec["random_init"], rec["cost"], rec.get("pixels") or {}
        lines.append(
            f"| {rec['config']['method_name']} | {rec['config']['seed']} | {pct(m, 'knn_top1')} | "
            f"{pct(r, 'knn_top1')} | {pct(px, 'knn_top1')} | {PCT * (m['knn_top1'] - r['knn_top1']):+.1f} | "
            f"{pct(m, 'linear_top1')} | {pct(r, 'linear_top1')} | {pct(px, 'linear_top1')} | "
            f"{c['train_wall_s'] / 60:.1f} min | {c['images_per_s']:.0f} | {c.get('device_name', '?')} | "
            f"[{name}]({name}) |"
        )
    return "\n".join(lines)


def claims_table(reports: Sequence[tuple[Report, str]]) -> str:
    """One line per claim of the paper over every ablation reported: decided or not, the
    metric it read, and its numbers (the quotes are in each ablation's section below)."""
    lines = [
        "| # | claim | ablation | verdict | reads | numbers | seeds for 80 % power | what this scale can show "
        "| ran on |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    k = 0
    for rep, _ in reports:
        done = rep.records[rep.records.status == "done"] if "machine" in rep.records else rep.records.iloc[:0]
        ran_on = "; ".join(sorted(set(done.machine.dropna()))).replace("|", "/") or "–"
        for v in rep.verdicts:
            k += 1
            numbers, scope = v.numbers.replace("|", "/"), v.scope.replace("|", "/")
            # A claim this scale cannot show, or cannot fail, gets no bold verdict beside that scope.
            verdict = f"**{v.outcome}**" if v.testable else v.reading.replace("|", "/")
            n = rep.seeds_needed(v) if v.testable else None
            needed = "–" if n is None else str(n)
            lines.append(
                f"| {k} | {v.claim} | {rep.ablation.name} | {verdict} | {v.metric} | {numbers} | {needed} | {scope} "
                f"| {ran_on} |"
            )
    return "\n".join(lines) if k else "No ablation has records yet."


def separation_section(reports: Sequence[tuple[Report, str]]) -> list[str]:
    """Which metric tells each grid's rows apart (`ssl_bench.report.separation`), and what
    that means for the metric the verdicts read."""
    tables = [(rep.ablation.name, separation(rep.records)) for rep, _ in reports]
    picks = [(name, low_label_verdict(t)) for name, t in tables]
    chosen = [f"{name} ({METRICS[pick]})" for name, pick in picks if pick]
    lines = [
        "## Which metric tells the rows apart",
        "",
        "Per grid, over the rows with at least two seeds that scored every metric: the seed noise (pooled std over "
        "seeds), the spread of the rows' means, and their ratio, the separation. The low-label probes are frozen "
        "linear probes on 1 % and 10 % of the training labels, class-balanced and fixed by the seed (the label "
        "fractions of the paper's semi-supervised protocol, whose fine-tuning is not run); "
        "records made before they existed lack them and are left out here.",
        "",
    ]
    for name, table in tables:
        lines += [separation_markdown(name, table), ""]
    if chosen:
        lines.append(
            "A low-label probe separates better in: " + "; ".join(chosen) + ". Chosen on these runs, it is a "
            "candidate for verdicts judged on fresh seeds; today every verdict on top-1 reads linear top-1, "
            "the paper's metric."
        )
    else:
        lines.append(
            "No low-label probe separates any grid's rows better than the better of the full linear probe and kNN, "
            "so no verdict reads one: every verdict on top-1 reads linear top-1, the paper's metric; the next "
            "section says whether each "
            "metric scores the trained encoders above the pixels they are given."
        )
    return lines


def _with_gap(lines: list[str]) -> list[str]:
    return [*lines, ""] if lines else []


def _before_gap(lines: list[str]) -> list[str]:
    return ["", *lines] if lines else []


def index_markdown(
    reports: Sequence[tuple[Report, str]], singles: Sequence[tuple[dict, str]], runs: str, out: str
) -> str:
    """results/README.md: every table embedded, every plot linked, each with the command
    that reproduces it and the machine it ran on."""
    machines = sorted(
        {str(d) for rep, _ in reports for d in rep.records.device_name.dropna()}
        | {rec["cost"].get("device_name", "?") for rec, _ in singles}
    )
    lines = [
        "# Results",
        "",
        f"Generated by `ssl-bench report --ablation all --seeds found --runs {runs} --out {out}` from the run records "
        f"under `{runs}/` (and `{out}/cpu-default/`): do not edit by hand. Every number below traces to a record "
        "(config, metrics, cost and provenance, including the git commit it ran at).",
        "",
        f"Machines: {'; '.join(machines) or 'none yet'}.",
        "",
        "## The papers' claims at this scale",
        "",
        claims_table(reports),
        "",
        *_with_gap(crossing_markdown({rep.ablation.name: rep.verdicts for rep, _ in reports})),
        RULES,
        "",
        SCOPE_RULES,
        "",
        *separation_section(reports),
        *_before_gap(over_pixels_markdown(over_pixels([rep.records for rep, _ in reports]))),
    ]
    if singles:
        runs_of = sorted({(rec["config"]["method_name"], rec["config"]["seed"]) for rec, _ in singles})
        commands = ", ".join(f"`ssl-bench run --method {m}" + (f" --seed {k}`" if k else "`") for m, k in runs_of)
        lines += [
            "",
            "## Single runs: the CPU default",
            "",
            f"Reproduce: {commands}; 20 epochs of the cpu preset. kNN and linear top-1 (%) on the test images "
            "each record names, beside a randomly initialised encoder of the same architecture and seed.",
            "",
            single_runs_table([(rec, f"cpu-default/{name}") for rec, name in singles]),
        ]
    for rep, preset in reports:
        a = rep.ablation
        methods = ",".join(rep.methods)
        heading, body = rep.markdown(image=f"{a.name}/{a.name}.png").split("\n", 1)
        seeds = sorted({int(x) for x in rep.records.seed.dropna()}) if "seed" in rep.records else []
        seed_flag = f" --seeds {','.join(map(str, seeds))}" if seeds and tuple(seeds) != tuple(a.seeds) else ""
        lines += [
            "",
            heading,
            "",
            f"Reproduce: `ssl-bench run --method {methods} --ablation {a.name} --preset {preset}{seed_flag} "
            f"--out {runs}`, then `ssl-bench report --ablation {a.name} --preset {preset}{seed_flag} --runs {runs} "
            f"--out {out}`.",
            body,
        ]
    return "\n".join(lines) + "\n"
