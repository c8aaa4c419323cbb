"""Tables, verdicts and plots of an ablation: pure functions of its run records.

Input: one entry per grid point, (labels, record or None). `frame` turns records into
numbers, `tables` and `plots` render them beside the paper's, `assemble` makes and
writes one ablation's report, `index` the results README over all of them.
"""

from ssl_bench.report.assemble import Report, build_report, write_report
from ssl_bench.report.frame import PCT, Entry, collect, paper_frame, row_order, summarize
from ssl_bench.report.index import claims_table, index_markdown, single_runs_table
from ssl_bench.report.tables import to_latex, to_markdown
from ssl_bench.verdicts import METRIC

__all__ = [
    "METRIC",
    "PCT",
    "Entry",
    "Report",
    "build_report",
    "claims_table",
    "collect",
    "index_markdown",
    "paper_frame",
    "row_order",
    "single_runs_table",
    "summarize",
    "to_latex",
    "to_markdown",
    "write_report",
]
