"""The report's look at the test split: a confusion matrix and per-class precision,
recall and F1 (classification), predicted against actual and the residuals with the R²
headline (regression). Metrics from :mod:`sklearn.metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from trainlab.report.html import Section, escape, table_html
from trainlab.train.display import format_number


@dataclass
class SplitOutputs:
    """The model's outputs on the test split: logits (n, K) or (n, 1) with int labels, or
    predictions (n,) / (n, k) in the targets' units with the targets."""

    task: str
    outputs: np.ndarray
    y: np.ndarray
    class_names: list[str] | None = None


def split_outputs_of_run_dir(path: Any) -> SplitOutputs | None:
    """The test split of a run directory, rebuilt, and its final model's outputs (None when
    the data or the model cannot be read)."""
    from trainlab.runs.record import RunRecord

    try:
        record = RunRecord.open(path)
        loaded = record.load()
        X, y = record.split("test")
        with np.errstate(all="ignore"):
            outputs = loaded.predict(X)
    except Exception:  # noqa: BLE001 - the report goes on without this section
        return None
    return SplitOutputs(loaded.task, outputs, y, loaded.class_names)


def _labels(outputs: np.ndarray) -> np.ndarray:
    if outputs.shape[1] == 1:
        return (outputs[:, 0] > 0).astype(np.int64)
    return outputs.argmax(axis=1)


def classification_section(test: SplitOutputs, figure: Any) -> Section:
    """Confusion matrix (counts, rows: true class) and precision/recall/F1 per class."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    from trainlab.diagnostics.plots import new_figure  # (matplotlib)

    predicted = _labels(test.outputs)
    k = max(int(test.outputs.shape[1]), 2)
    names = list(test.class_names or [str(i) for i in range(k)])[:k]
    labels = list(range(len(names)))
    matrix = confusion_matrix(test.y, predicted, labels=labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        test.y, predicted, labels=labels, zero_division=0)
    size = min(9.0, 2.2 + 0.45 * len(names))
    fig, ax = new_figure(1, 1, width=size, height=size * 0.85)
    ax.grid(False)
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(labels, [n[:14] for n in names], rotation=45 if len(names) > 4 else 0,
                  ha="right" if len(names) > 4 else "center")
    ax.set_yticks(labels, [n[:14] for n in names])
    top = matrix.max() if matrix.size else 0
    if len(names) <= 20:
        for i in labels:
            for j in labels:
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=9,
                        color="white" if matrix[i, j] > top / 2 else "#222")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(f"confusion matrix, test split ({len(test.y)} examples)")
    rows = [[name, format_number(float(p)), format_number(float(r)), format_number(float(f)),
             str(int(s))] for name, p, r, f, s in zip(names, precision, recall, f1, support,
                                                     strict=True)]
    accuracy = float(np.mean(predicted == test.y)) if len(test.y) else float("nan")
    body = (f"<p>Test accuracy <b>{100 * accuracy:.2f}%</b> "
            f"({int(np.sum(predicted == test.y))} of {len(test.y)}).</p>"
            + figure(fig, "confusion_matrix", "confusion matrix on the test split")
            + table_html(["class", "precision", "recall", "F1", "examples"], rows))
    return Section("Test split: classes", body, anchor="classes")


def regression_section(test: SplitOutputs, figure: Any) -> Section:
    """Predicted against actual (with the diagonal) and residuals against predicted."""
    from sklearn.metrics import mean_absolute_error, r2_score

    from trainlab.diagnostics.plots import new_figure  # (matplotlib)

    y = test.y.reshape(len(test.y), -1).astype(np.float64)
    pred = test.outputs.reshape(len(test.outputs), -1).astype(np.float64)
    r2 = float(r2_score(y, pred))
    mae = float(mean_absolute_error(y, pred))
    fig, (left, right) = new_figure(2, 1, width=5.0, height=4.2)
    lo, hi = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
    pad = 0.04 * (hi - lo or 1.0)
    left.scatter(y[:, 0], pred[:, 0], s=12, alpha=0.7)
    left.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="#7f7f7f", ls="--", lw=1,
              label="predicted = actual")
    left.set_xlim(lo - pad, hi + pad)
    left.set_ylim(lo - pad, hi + pad)
    left.set_xlabel("actual")
    left.set_ylabel("predicted")
    left.set_title(f"predicted against actual (R² = {r2:.3f})")
    left.legend(fontsize=8)
    residual = y[:, 0] - pred[:, 0]
    right.scatter(pred[:, 0], residual, s=12, alpha=0.7)
    right.axhline(0.0, color="#7f7f7f", ls="--", lw=1)
    right.set_xlabel("predicted")
    right.set_ylabel("residual (actual − predicted)")
    right.set_title("residuals")
    body = (f"<p class=\"headline\">Test R² <b>{r2:.3f}</b>; mean absolute error "
            f"<b>{escape(format_number(mae))}</b> ({len(y)} examples"
            f"{'' if y.shape[1] == 1 else ', first target plotted'}).</p>"
            + figure(fig, "predicted_vs_actual", "predicted against actual, and residuals, "
                     "on the test split"))
    return Section("Test split: predictions", body, anchor="predictions")


def split_sections(test: SplitOutputs | None, figure: Any) -> list[Section]:
    if test is None or len(test.y) == 0:
        return []
    if test.task == "classification":
        return [classification_section(test, figure)]
    return [regression_section(test, figure)]
