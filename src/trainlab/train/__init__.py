"""Training: the fit loop, callbacks, checkpoints, history and metrics.

from trainlab.train import Trainer, EarlyStopping, ModelCheckpoint
trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()), rng=0)
history = trainer.fit(X, y, epochs=20, batch_size=32, validation_data=(X_val, y_val))
"""

from trainlab.train.callbacks import (
    Callback,
    EarlyStopping,
    LambdaCallback,
    LRScheduler,
)
from trainlab.train.checkpoint import (
    Checkpoint,
    CheckpointError,
    ModelCheckpoint,
    load_checkpoint,
    load_model,
    restore_checkpoint,
    save_checkpoint,
)
from trainlab.train.display import LivePlot
from trainlab.train.fit import Trainer, fit
from trainlab.train.guard import DivergenceWarning, global_grad_norm
from trainlab.train.history import History
from trainlab.train.metrics import (
    RunningMetrics,
    accuracy,
    confusion_matrix,
    mse,
    predicted_classes,
    r2,
)
from trainlab.train.progress import EpochLog, ProgressBar
from trainlab.train.protocols import TrainerView
from trainlab.train.scores import METRICS, precision_recall_f1, roc_auc, top_k_accuracy
from trainlab.train.state import module_generators
from trainlab.train.targets import infer_task
from trainlab.train.weights import class_weights

__all__ = [
    "METRICS",
    "precision_recall_f1",
    "roc_auc",
    "top_k_accuracy",
    "class_weights",
    "LivePlot",
    "Trainer",
    "fit",
    "History",
    "DivergenceWarning",
    "infer_task",
    "global_grad_norm",
    "Callback",
    "LambdaCallback",
    "EarlyStopping",
    "ModelCheckpoint",
    "LRScheduler",
    "ProgressBar",
    "EpochLog",
    "save_checkpoint",
    "load_checkpoint",
    "restore_checkpoint",
    "load_model",
    "Checkpoint",
    "CheckpointError",
    "module_generators",
    "accuracy",
    "mse",
    "r2",
    "confusion_matrix",
    "predicted_classes",
    "RunningMetrics",
    "TrainerView",
]
