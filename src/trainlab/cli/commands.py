"""The commands of ``trainlab``: where each is implemented and its one-line help (the
table that ``trainlab --help`` lists without importing any command)."""

COMMANDS = {
    "train": "trainlab.cli.train",
    "evaluate": "trainlab.cli.evaluate",
    "predict": "trainlab.cli.predict",
    "report": "trainlab.cli.report_cmd",
}

HELP = {
    "train": "train an MLP and write a run directory",
    "evaluate": "metrics of a run's model on its test split or on --data",
    "predict": "predict for new examples (csv or npz in and out)",
    "report": "rebuild RUN/report.html from the run directory",
    "lab": "run the experiments behind the notes' claims (trainlab lab list | run NAME | "
           "run all; see 'trainlab lab --help')",
}
