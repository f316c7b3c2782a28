"""A callback that interrupts training as Ctrl-C would, for the resume tests."""

from __future__ import annotations

from trainlab.train import Callback


class StopAfter(Callback):
    """Raises KeyboardInterrupt at the end of epoch ``epochs`` (after the checkpoint of
    that epoch is written: it runs after every other callback)."""

    order = 50

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch == self.epochs:
            raise KeyboardInterrupt
