"""The commands of ``trainlab``: where each is implemented and its one-line help (the
table that ``trainlab --help`` lists without importing any command). A value
``module:function`` names the function that adds the command's parser (else
``module.add_parser``)."""

COMMANDS = {
    "train": "trainlab.cli.train",
    "evaluate": "trainlab.cli.evaluate",
    "predict": "trainlab.cli.predict",
    "report": "trainlab.cli.report_cmd",
    "sweep": "trainlab.cli.sweep_cmd",
    "compare": "trainlab.cli.compare_cmd",
    "doctor": "trainlab.cli.doctor",
    "lr-find": "trainlab.cli.doctor:add_lr_find_parser",
    "ui": "trainlab.cli.ui_cmd",
}

HELP = {
    "train": "train an MLP and write a run directory",
    "evaluate": "metrics of a run's model on its test split or on --data",
    "predict": "predict for new examples (csv or npz in and out)",
    "report": "rebuild RUN/report.html from the run directory",
    "sweep": "run many trainings from a spec (grid, random or TPE search); "
             "'trainlab sweep show DIR' prints a sweep's table",
    "compare": "compare runs: curves overlaid, the settings that differ, the health tables",
    "doctor": "sanity checks of a configuration before training",
    "lr-find": "the learning-rate range test (Smith 2017) on a configuration",
    "ui": "a local web app: runs (live), compare, sweeps, and a playground",
    "lab": "run the experiments behind the notes' claims (trainlab lab list | run NAME | "
           "run all; see 'trainlab lab --help')",
}
