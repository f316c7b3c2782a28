"""The lab: one experiment per claim of the notes, each checked by measurement.

    from trainlab import lab
    lab.list_experiments()                        # [(name, claim), ...]
    result = lab.run_experiment("selu", "runs/lab")
    print(lab.format_result(result)); result.holds
    results, report = lab.run_all("runs/lab")     # every experiment + report.html
    lab.main(["run", "naive-init"])               # what `trainlab lab run naive-init` does
"""

from trainlab.lab.experiment import Claim, Context, Experiment, Result
from trainlab.lab.registry import get_experiment, list_experiments, names
from trainlab.lab.runner import (
    format_result,
    main,
    run_all,
    run_experiment,
    summary_table,
    write_report,
)

__all__ = [
    "Claim",
    "Context",
    "Experiment",
    "Result",
    "format_result",
    "get_experiment",
    "list_experiments",
    "main",
    "names",
    "run_all",
    "run_experiment",
    "summary_table",
    "write_report",
]
