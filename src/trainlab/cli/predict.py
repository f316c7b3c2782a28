"""trainlab predict RUN --input FILE --output FILE: the model's predictions for new rows.

Input: a .csv, or an .npz with an array X ((n, d) or (n, height, width)).
A run trained on a table with text or missing cells reads the CSV as it read its
training file: by column name (other columns, such as the target, are ignored), or in
order when there is no header, and encodes it with the categories and fill values
learned in training. Otherwise a CSV with a header (its first row is text, or
--header yes) has its columns matched to the run's features by name, in any order
(other columns, such as the target, are ignored); a header that names only some of them
is refused, naming the missing ones, and one that names none of them is read in order.
A CSV without a header (its first row is numbers, or --header no) has its columns taken
in order, as many as the model's inputs. The run's saved input normalisation is applied.

Class names that a spreadsheet would run as a formula (starting with =, +,
-, @, a tab or a carriage return) are written with a leading '.

Output (by the suffix of --output):

- classification, .csv: label (class index), class (class name) and
  prob_<class> per class; .npz: labels (n,), classes (n,) names,
  probabilities (n, K), class_names (K,).
- regression, .csv: prediction (or prediction_0, ... for several targets);
  .npz: predictions (n,) or (n, k).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from trainlab import runs
from trainlab.cli.commands import HELP
from trainlab.cli.errors import EXIT_OK, UsageError, one_line
from trainlab.data._files import open_regular
from trainlab.data.csvfile import read_csv_frame
from trainlab.data.encoding import TableEncoder
from trainlab.data.npzfile import NpzArchive
from trainlab.data.tables import HEADER_WORDS
from trainlab.runs.record import LoadedModel, RunRecord

FORMATS = (".csv", ".npz")


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "predict", help=HELP["predict"],
        description=(__doc__ or "").split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run", metavar="RUN", help="a run directory, e.g. runs/digits")
    parser.add_argument("--input", required=True, metavar="FILE", help="examples: .csv or .npz")
    parser.add_argument("--output", required=True, metavar="FILE",
                        help="where to write the predictions: .csv or .npz")
    parser.add_argument("--header", choices=("auto", "yes", "no"), default="auto",
                        help="csv: whether the first row holds column names (default: auto, "
                        "decided from the rows and said)")
    parser.set_defaults(handler=run)


def _suffix(path: Path, setting: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(f"setting '{setting}' (--{setting}) = {str(path)!r}: the file must end "
                         f"in .csv or .npz; received {suffix or 'no suffix'!r}.")
    return suffix


MAX_INPUT_BYTES = 1 << 30
"""The largest --input CSV read (1 GiB): rows are parsed in memory."""


def read_table_features(path: Path, encoder: TableEncoder, header: str) -> np.ndarray:
    """The rows of a CSV encoded as the run's table was: its columns matched to the run's
    by name (a header), or taken in order (no header: exactly the run's columns)."""
    where = f"setting 'input' (--input) = {str(path)!r}"
    if path.is_dir():
        raise UsageError(f"{where} is a directory.")
    try:
        frame = read_csv_frame(path, header=HEADER_WORDS[header])
    except FileNotFoundError:
        raise UsageError(f"setting 'input' (--input): no such file {str(path)!r}.") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{where}: {one_line(exc)}") from None
    source = frame.attrs.get("trainlab.csv")
    names = encoder.input_names
    if source is not None and not source.header:
        if frame.shape[1] != len(names):
            raise UsageError(f"{where}: the file has no header and {frame.shape[1]} columns; "
                             f"without a header it must hold the run's {len(names)} columns in "
                             f"order ({', '.join(names)}). Add a header row to match them "
                             "by name.")
        frame.columns = names
        if header == "auto":
            print(f"{path.name}: no header found; its {len(names)} columns were read in "
                  "order as the run's columns (use --header yes if the first row holds names)")
    try:
        return encoder.transform(frame, where=where)
    except ValueError as exc:
        raise UsageError(one_line(exc)) from None


def read_csv_features(path: Path, features: int, names: list[str] | None,
                      header: str = "auto") -> np.ndarray:
    header_row: list[str]
    where = f"setting 'input' (--input) = {str(path)!r}"
    try:
        handle, size = open_regular(path, where)
    except FileNotFoundError:
        raise UsageError(f"setting 'input' (--input): no such file {str(path)!r}.") from None
    except (OSError, ValueError) as exc:
        raise UsageError(one_line(exc)) from None
    with handle:
        if size > MAX_INPUT_BYTES:
            raise UsageError(f"{where}: {size} bytes is more than the {MAX_INPUT_BYTES} bytes "
                             "that predict reads at once; split the file.")
        try:
            text = handle.read(MAX_INPUT_BYTES + 1).decode("utf-8-sig")
            rows = [r for r in csv.reader(io.StringIO(text, newline=""))
                    if any(c.strip() for c in r)]
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise UsageError(f"{where}: cannot read it as CSV ({one_line(exc)}).") from None
    if not rows:
        raise UsageError(f"{where}: the file is empty; expected a header row and data rows.")
    first = [h.strip() for h in rows[0]]
    headerless = all(_is_number(c) for c in first) if header == "auto" else header == "no"
    if headerless:  # every row is data, columns in order
        header_row, body = [f"column {j + 1}" for j in range(len(first))], rows
        if len(header_row) != features:
            raise UsageError(f"{where}: the model takes {features} features; the file has "
                             f"{len(header_row)} columns and no header.")
        columns = list(range(features))
    else:
        header_row, body = first, rows[1:]
        columns = _columns_by_name(header_row, features, names, where)
    if not body:
        raise UsageError(f"{where}: no data rows after the header.")
    X = np.empty((len(body), len(columns)), dtype=np.float64)
    for i, row in enumerate(body):
        if len(row) != len(header_row):
            raise UsageError(f"{where}: row {i + 2} has {len(row)} cells; the header has "
                             f"{len(header_row)}.")
        for j, c in enumerate(columns):
            try:
                X[i, j] = float(row[c])
            except ValueError:
                raise UsageError(f"{where}: row {i + 2}, column {header_row[c]!r}: {row[c]!r} is "
                                 "not a number.") from None
    return X


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _columns_by_name(header: list[str], features: int, names: list[str] | None,
                     where: str) -> list[int]:
    """The positions of the run's features in a header; order never changes an answer."""
    duplicated = {h for h in header if header.count(h) > 1} if len(header) < 5000 else set()
    if names and len(names) == features:
        index = {h: j for j, h in enumerate(header)}
        present = [n for n in names if n in index]
        if len(present) == features:
            clash = duplicated & set(names)
            if clash:
                raise UsageError(f"{where}: the header names {sorted(clash)[:5]} more than once.")
            return [index[n] for n in names]
        if present:
            missing = [n for n in names if n not in index]
            raise UsageError(f"{where}: the header names {len(present)} of the run's {features} "
                             f"features; missing: {', '.join(missing[:8])}"
                             f"{', ...' if len(missing) > 8 else ''}.")
    if len(header) != features:
        raise UsageError(f"{where}: the model takes {features} features; the file has "
                         f"{len(header)} columns ({', '.join(header[:8])}"
                         f"{', ...' if len(header) > 8 else ''}).")
    return list(range(features))


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """``text`` with a leading ' when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def read_npz_features(path: Path) -> np.ndarray:
    where = f"setting 'input' (--input) = {str(path)!r}"
    try:
        with NpzArchive(path, where) as archive:
            if "X" not in archive:
                raise UsageError(f"{where}: no array 'X' (arrays present: {archive.files}).")
            X = archive.read("X")
    except FileNotFoundError:
        raise UsageError(f"setting 'input' (--input): no such file {str(path)!r}.") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{where}: not a readable .npz archive or array 'X' cannot be read "
                         f"safely ({one_line(exc)}).") from None
    if X.dtype.kind not in "biuf":
        raise UsageError(f"{where}: X must be numeric; received dtype {X.dtype}.")
    if X.ndim == 3:
        X = X.reshape(X.shape[0], -1)
    if X.ndim != 2:
        raise UsageError(f"{where}: X must have shape (n, d) or (n, height, width); received "
                         f"shape {X.shape}.")
    return X.astype(np.float64)


def read_features(path: Path, features: int, names: list[str] | None,
                  header: str = "auto") -> np.ndarray:
    suffix = _suffix(path, "input")
    if path.is_dir():
        raise UsageError(f"setting 'input' (--input) = {str(path)!r} is a directory.")
    X = (read_csv_features(path, features, names, header) if suffix == ".csv"
         else read_npz_features(path))
    where = f"setting 'input' (--input) = {str(path)!r}"
    if X.shape[1] != features:
        raise UsageError(f"{where}: the model takes {features} features per example; "
                         f"received {X.shape[1]}.")
    if X.shape[0] == 0:
        raise UsageError(f"{where}: no examples.")
    if not np.isfinite(X).all():
        bad = np.argwhere(~np.isfinite(X))[0]
        raise UsageError(f"{where}: example {bad[0]}, feature {bad[1]} is not finite "
                         f"({X[bad[0], bad[1]]}).")
    return X


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def write_predictions(path: Path, run: LoadedModel, outputs: np.ndarray) -> None:
    suffix = _suffix(path, "output")
    buffer = io.BytesIO()
    if run.task == "classification":
        if outputs.shape[1] == 1:  # one logit z: P(class 1) = σ(z)
            outputs = np.column_stack([np.zeros_like(outputs[:, 0]), outputs[:, 0]])
        probabilities = softmax(outputs)
        labels = probabilities.argmax(axis=1)
        names = run.class_names or [str(k) for k in range(outputs.shape[1])]
        if suffix == ".npz":
            np.savez(buffer, labels=labels.astype(np.int64),
                     classes=np.array([names[k] for k in labels], dtype=str),
                     probabilities=probabilities, class_names=np.array(names, dtype=str))
        else:
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(["label", "class",
                             *(spreadsheet_safe(f"prob_{n}") for n in names)])
            for k, p in zip(labels, probabilities, strict=True):
                writer.writerow([int(k), spreadsheet_safe(names[k]),
                                 *(repr(float(v)) for v in p)])
            buffer.write(text.getvalue().encode("utf-8"))
    else:
        preds = outputs[:, 0] if outputs.shape[1] == 1 else outputs
        if suffix == ".npz":
            np.savez(buffer, predictions=preds)
        else:
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\n")
            cols = (["prediction"] if preds.ndim == 1
                    else [f"prediction_{j}" for j in range(preds.shape[1])])
            writer.writerow(cols)
            for row in preds.reshape(len(preds), -1):
                writer.writerow([repr(float(v)) for v in row])
            buffer.write(text.getvalue().encode("utf-8"))
    try:
        runs.atomic_write_bytes(path, buffer.getvalue())
    except OSError as exc:
        raise UsageError(f"setting 'output' (--output) = {str(path)!r}: cannot write it "
                         f"({one_line(exc.strerror or exc)}).") from None


def run(args: argparse.Namespace) -> int:
    output = Path(args.output)
    _suffix(output, "output")
    if not output.parent.is_dir():
        raise UsageError(f"setting 'output' (--output) = {str(output)!r}: the folder "
                         f"{str(output.parent)!r} does not exist.")
    if output.parent.is_dir() and not os.access(output.parent, os.W_OK):
        raise UsageError(f"setting 'output' (--output) = {str(output)!r}: the folder "
                         f"{str(output.parent)!r} is not writable.")
    loaded = RunRecord.open(args.run).load()
    header = getattr(args, "header", "auto")
    if loaded.encoder is not None and Path(args.input).suffix.lower() == ".csv":
        X = read_table_features(Path(args.input), loaded.encoder, header)
    else:
        X = read_features(Path(args.input), loaded.in_features, loaded.feature_names, header)
    with np.errstate(all="ignore"):
        outputs = loaded.predict(X)
    if not np.isfinite(outputs).all():
        raise UsageError("setting 'input' (--input): the model's outputs are not finite for "
                         "some examples (inputs far outside the training data?).")
    write_predictions(output, loaded, outputs)
    kind = ("class predictions and probabilities" if loaded.task == "classification"
            else "predictions")
    print(f"wrote {kind} for {X.shape[0]} examples to {output}")
    return EXIT_OK

