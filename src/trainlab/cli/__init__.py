"""The ``trainlab`` command line.

    trainlab train [options]          train an MLP, write a run directory (runs/NAME)
    trainlab train --resume RUN       continue a run exactly from its last checkpoint
    trainlab evaluate RUN             metrics of the run's model on its test split (or --data)
    trainlab predict RUN --input F --output F   predictions for new examples (csv or npz)
    trainlab report RUN               rebuild RUN/report.html from the run directory
    trainlab lab list|run NAME|run all          the experiments behind the notes' claims

``main(argv)`` returns the exit status (see :mod:`trainlab.cli.errors`): a bad setting is
one line on stderr and status 2, never a traceback.
"""

from __future__ import annotations

from trainlab.cli.main import main

__all__ = ["main"]
