"""Optimizers (SGD, Adagrad, RMSprop, Adam, AdamW), learning-rate schedules and gradient clipping."""

__all__: list[str] = []
