"""CSV tables through pandas, with trainlab's checks and error messages on top.

Reading is two steps, so that a table with text (categorical) columns can later be
handed to scikit-learn as it is:

    frame = read_csv_frame("data.csv")       # a pandas DataFrame: numbers as float64,
                                             # text as categorical, missing cells as NaN
    ds = frame_to_dataset(frame, target="y") # the numeric Dataset; refuses text and NaN

``load_csv`` (in :mod:`trainlab.data.tables`) does both. Errors name the file, the line,
the column and the cell, as in "load_csv: data.csv: line 12, column 'age': could not
read 'abc' as a number".

How the file is read, and why memory stays bounded:

- Only a regular file is read (a FIFO or ``/dev/zero`` is refused before reading). One
  pass over its bytes, a megabyte at a time, checks that it is UTF-8 text without NUL
  bytes.
- The first row and a sample of the rows below it (at most 100 rows, and at most about
  100,000 cells) decide whether the first row is a header (``header="auto"``) and which
  columns hold numbers. pandas then reads the file with those dtypes given explicitly:
  ``float64`` for numeric columns and ``category`` for text, so each distinct text value
  is stored once and no cell is padded to the width of the longest one. pandas' C
  parser works through the file in blocks of about a million cells.
- Python's ``csv`` module reads the file again only when something needs a line number
  or the original text of a cell: to find a row with too few or too many fields, a
  text cell in a column that the sample found numeric, or the cell behind an error.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import dataclasses
import io
import itertools
import math
import os
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from trainlab._checks import check_dtype
from trainlab.data._files import open_regular
from trainlab.data.dataset import Dataset, check_classes, encode_targets

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

HEADER_OPTIONS = ("auto", True, False)
MISSING_MARKERS = ("", "na", "nan", "n/a", "null", "none", "?", "-")
_MISSING = frozenset(MISSING_MARKERS)
# pandas matches NA strings exactly: every spelling of every marker, in any case.
_NA_VALUES = sorted({"".join(chars) for marker in MISSING_MARKERS
                     for chars in itertools.product(*((c.lower(), c.upper()) for c in marker))})
_NA_SET = frozenset(_NA_VALUES)
_SAMPLE_ROWS = 100
_SAMPLE_CELLS = 100_000
_CHUNK = 1 << 20
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_ATTR = "trainlab.csv"


@dataclass(frozen=True)
class CsvSource:
    """Where a DataFrame from :func:`read_csv_frame` came from (kept in ``frame.attrs``)."""

    path: Path
    delimiter: str
    header: bool  # whether the first row holds the column names
    header_note: str  # how that was decided, in words
    # header="auto" read the first row as data, and it holds text in these columns where
    # the rows below hold numbers (a header with some numeric names, or a stray row)
    odd_first_row: tuple[int, ...] = ()
    columns: tuple[str, ...] = ()  # the names given to the file's columns, in file order
    rows: int = -1  # the number of data rows read

    def file_column(self, name: str) -> int | None:
        """Where column ``name`` is in the file (None for a column added later)."""
        return self.columns.index(name) if name in self.columns else None

    @property
    def owner(self) -> str:
        return f"load_csv: {self.path}"

    def __deepcopy__(self, memo) -> CsvSource:
        return self  # immutable; pandas deep-copies attrs into every column it hands out


def _pandas():
    import pandas  # imported when a table is read, so that `import trainlab` stays fast

    return pandas


# -- cells ----------------------------------------------------------------------------


def _show(cell: str) -> str:
    """``repr(cell)``, shortened when the cell is long."""
    if len(cell) <= 60:
        return repr(cell)
    return f"{cell[:40]!r}... ({len(cell)} characters)"


def _number(cell: str) -> float | None:
    """The cell as pandas reads a number, else None: Python's float() without what pandas
    refuses (digit separators, non-ASCII digits, "nan" spelled as a number, and "inf"
    with spaces around it)."""
    if "_" in cell or not cell.isascii():
        return None
    try:
        value = float(cell)
    except ValueError:
        return None
    word = any(c.isalpha() for c in cell.lower().replace("e", ""))  # "inf", "nan", ...
    if word and (math.isnan(value) or cell != cell.strip()):
        return None
    return value


def _kind(cell: str) -> str:
    """``"missing"``, ``"number"`` or ``"text"``."""
    if cell.strip().lower() in _MISSING:
        return "missing"
    return "number" if _number(cell) is not None else "text"


def _float64_ok(cell: str) -> bool:
    """Whether pandas reads ``cell`` into a float64 column (a number or an NA marker)."""
    return cell in _NA_SET or _number(cell) is not None


def cell_problem(where: str, cell: str, dtype: np.dtype | None = None) -> str:
    """Why ``cell`` cannot be a feature value (``where`` names file, line and column)."""
    if cell.strip().lower() in _MISSING:
        return f"{where}: missing value {_show(cell)}. Fill in or drop incomplete rows first."
    value = _number(cell)
    if value is None:
        return (f"{where}: could not read {_show(cell)} as a number. Feature columns must be "
                f"numeric; encode text columns as numbers first.")
    if not np.isfinite(value):
        literal = cell.strip().lower().lstrip("+-") in ("inf", "infinity", "nan")
        why = "" if literal else " (it overflows float64)"
        return f"{where}: non-finite value {_show(cell)}{why}; every value must be a finite number."
    if dtype is not None and np.dtype(dtype) == np.float32 and abs(value) > _FLOAT32_MAX:
        return (f"{where}: the value {_show(cell)} overflows float32 (largest finite value "
                f"{_FLOAT32_MAX:.7g}). Pass dtype=np.float64, or rescale the column.")
    return f"{where}: unexpected value {_show(cell)}."


# -- the file, record by record ---------------------------------------------------------


def _check_bytes(handle, path: Path) -> bool:
    """One bounded pass: UTF-8 text without NUL bytes. Returns whether it has any content."""
    owner = f"load_csv: {path}"
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, lines, content = 0, 0, False
    while chunk := handle.read(_CHUNK):
        nul = chunk.find(b"\x00")
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(chunk)
            bad = None
        except UnicodeDecodeError as exc:
            bad = offset - pending + exc.start
            byte = (exc.object[exc.start] if exc.start < len(exc.object) else 0)
        if nul >= 0 and (bad is None or offset + nul < bad):
            line = lines + chunk.count(b"\n", 0, nul) + 1
            raise ValueError(f"{owner}: line {line} contains a NUL byte; this looks like a "
                             f"binary file, not CSV text.")
        if bad is not None:
            raise ValueError(
                f"{owner} is not UTF-8 text (byte 0x{byte:02x} at offset {bad}); expected a "
                f"CSV file. Save it as UTF-8."
            )
        lines += chunk.count(b"\n")
        text = chunk[3:] if offset == 0 and chunk.startswith(codecs.BOM_UTF8) else chunk
        content = content or bool(text.strip())
        offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise ValueError(f"{owner} is not UTF-8 text (it ends inside a character at offset "
                         f"{offset}); expected a CSV file. Save it as UTF-8.") from None
    return content


@contextlib.contextmanager
def _no_field_limit():
    """Python's csv module refuses fields over 128 kB; a long cell is still a cell."""
    previous = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _blank(row: list[str]) -> bool:
    """A record that pandas skips as a blank line."""
    return not row or (len(row) == 1 and not row[0].strip())


@contextlib.contextmanager
def _records(path: Path, delimiter: str) -> Iterator[Iterator[tuple[int, list[str]]]]:
    """``(line number, fields)`` of every non-blank record, streamed."""
    handle, _ = open_regular(path, "load_csv")
    with handle, _no_field_limit():
        text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
        reader = csv.reader(text, delimiter=delimiter)

        def rows() -> Iterator[tuple[int, list[str]]]:
            try:
                for row in reader:
                    if not _blank(row):
                        yield reader.line_num, row
            except csv.Error as exc:
                raise ValueError(f"load_csv: {path} is not a readable CSV file "
                                 f"(line {reader.line_num}: {exc}).") from exc

        yield rows()


def _data_records(source: CsvSource) -> contextlib.AbstractContextManager:
    return _records(source.path, source.delimiter)


def _locate(source: CsvSource, row: int) -> tuple[int, list[str]]:
    """Line number and fields of data row ``row`` (0-based, after any header)."""
    skip = row + (1 if source.header else 0)
    with _data_records(source) as records:
        for line, fields in itertools.islice(records, skip, None):
            return line, fields
    raise ValueError(f"{source.owner}: data row {row + 1} is no longer in the file; was it "
                     f"changed while it was read?")


def _ragged(source: CsvSource, line: int, row: list[str], expected: int) -> ValueError:
    what = "the header" if source.header else "the first row"
    hint = ""
    if any("\n" in cell or "\r" in cell for cell in row):
        hint = " A quoted field runs over several lines: is a quote left open?"
    return ValueError(f"{source.owner}: line {line} has {len(row)} fields; expected {expected} "
                      f"(the number of columns in {what}).{hint}")


# -- the header ---------------------------------------------------------------------------


def _sample(source_path: Path, delimiter: str) -> list[tuple[int, list[str]]]:
    """The first record and up to 100 more (fewer for wide tables)."""
    with _records(source_path, delimiter) as records:
        first = next(records, None)
        if first is None:
            return []
        rows = max(1, min(_SAMPLE_ROWS, _SAMPLE_CELLS // max(1, len(first[1]))))
        return [first, *itertools.islice(records, rows)]


def _column_kinds(sample: list[list[str]], width: int) -> list[str]:
    """``"number"`` for a column whose sampled cells pandas reads as float64 (numbers and
    missing markers), else ``"text"``; a column with only missing cells counts as numeric."""
    kinds = ["number"] * width
    for row in sample:
        for j, cell in enumerate(row[:width]):
            if kinds[j] == "number" and not _float64_ok(cell):
                kinds[j] = "text"
    return kinds


def _numeric_below(first: list[str], below: list[list[str]], kinds: list[str]) -> list[int]:
    """Columns whose sampled rows below the first hold numbers (and nothing else)."""
    return [j for j, kind in enumerate(kinds) if kind == "number" and j < len(first)
            and any(j < len(row) and _kind(row[j]) == "number" for row in below)]


def _detect_header(first: list[str], below: list[list[str]], kinds: list[str]) -> tuple[bool, str]:
    first_kinds = [_kind(cell) for cell in first]
    numeric = _numeric_below(first, below, kinds)
    has_text = "text" in first_kinds
    if not below:
        if has_text:
            return True, "header='auto': the first row holds text and there are no rows below it"
        return False, "header='auto': the only row holds no text, so it is data"
    numbers_on_top = [j for j in numeric if first_kinds[j] == "number"]
    if numbers_on_top:
        return False, (f"header='auto': the first row was read as data, because it holds "
                       f"numbers in numeric columns ({len(numbers_on_top)} of {len(numeric)}); "
                       f"pass header=True if it holds the column names")
    if has_text:
        return True, ("header='auto': the first row was read as column names, because it holds "
                      "text and no numbers where the rows below hold numbers; pass "
                      "header=False if it is data")
    return False, ("header='auto': the first row was read as data, because it holds no text; "
                   "pass header=True if it holds the column names")


def _header_names(path: Path, row: list[str]) -> list[str]:
    names = [name.strip() for name in row]
    for j, name in enumerate(names):
        if not name:
            raise ValueError(f"load_csv: {path}: column {j + 1} of the header has no name.")
    duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicates:
        shown = duplicates[:10] + (["..."] if len(duplicates) > 10 else [])
        raise ValueError(f"load_csv: {path}: duplicate column names in the header: {shown}.")
    return names


# -- reading --------------------------------------------------------------------------------


def _check_delimiter(delimiter: Any) -> str:
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\r\n\"":
        raise ValueError(f"load_csv: delimiter must be one character such as ',' or ';'. "
                         f"Received: {delimiter!r}.")
    return delimiter


def _check_header(header: Any) -> str | bool:
    if not (header == "auto" and isinstance(header, str)) and not isinstance(header, bool):
        raise ValueError(f"load_csv: header must be 'auto', True or False. Received: {header!r}.")
    return header


def _pandas_read(handle, source: CsvSource, kinds: list[str]):
    pd = _pandas()
    handle.seek(0)
    text = [j for j, kind in enumerate(kinds) if kind != "number"]
    # one dtype for all columns is much faster in pandas than a per-column mapping
    dtypes = {j: (np.float64 if kind == "number" else "category")
              for j, kind in enumerate(kinds)} if text else np.float64
    with warnings.catch_warnings():
        # a first data row longer than the header would silently become an index
        warnings.simplefilter("error", pd.errors.ParserWarning)
        return pd.read_csv(
            handle, sep=source.delimiter, header=0 if source.header else None,
            names=list(range(len(kinds))), index_col=False, dtype=dtypes, engine="c",
            encoding="utf-8", na_values=_NA_VALUES, keep_default_na=False,
            skip_blank_lines=True, quotechar='"', doublequote=True, on_bad_lines="error",
            low_memory=True,
        )


def _scan(source: CsvSource, width: int, kinds: list[str] | None) -> tuple[int, set[int]]:
    """Stream every data record: raise at the first one with the wrong number of fields;
    return the number of records and the numeric columns (per ``kinds``) holding a cell
    that pandas cannot read as float64 (text, or a missing marker with spaces around it)."""
    text_in: set[int] = set()
    numeric = [] if kinds is None else [j for j, k in enumerate(kinds) if k == "number"]
    count = 0
    with _data_records(source) as records:
        for line, row in itertools.islice(records, 1 if source.header else 0, None):
            if len(row) != width:
                raise _ragged(source, line, row, width)
            count += 1
            if numeric:
                found = [j for j in numeric if not _float64_ok(row[j])]
                if found:
                    text_in.update(found)
                    numeric = [j for j in numeric if j not in text_in]
    return count, text_in


def read_csv_frame(
    path: str | os.PathLike,
    *,
    header: str | bool = "auto",
    delimiter: str = ",",
) -> pd.DataFrame:
    """Read a CSV file into a pandas DataFrame.

    header: ``True`` (the first row holds the column names), ``False`` (it is data; the
        columns are named ``x0, x1, ...``) or ``"auto"``: the first row is a header when it
        holds text and no numbers in the columns where the rows below hold numbers.
        ``CsvSource.header_note`` (in ``frame.attrs``) says what was decided.
    Numeric columns are float64, text columns categorical; missing cells (empty, NA, NaN,
    N/A, null, none, ?, -) are NaN. A row with too many or too few fields, a file that
    is not UTF-8 text, and a header with an empty or repeated name are refused.
    """
    path = Path(path)
    delimiter = _check_delimiter(delimiter)
    header = _check_header(header)
    handle, _ = open_regular(path, "load_csv")
    with handle:
        if not _check_bytes(handle, path):
            raise ValueError(f"load_csv: {path} is empty; expected a header row and data rows.")
        sample = _sample(path, delimiter)
        if not sample:
            raise ValueError(f"load_csv: {path} is empty; expected a header row and data rows.")
        first, below = sample[0][1], [row for _, row in sample[1:]]
        width = len(first)
        kinds = _column_kinds(below, width)
        odd: tuple[int, ...] = ()
        if header == "auto":
            has_header, note = _detect_header(first, below, kinds)
            if not has_header:
                odd = tuple(j for j in _numeric_below(first, below, kinds)
                            if _kind(first[j]) == "text")
        else:
            has_header = bool(header)  # True or False: _check_header allows nothing else
            note = f"header={header}"
        if has_header:
            names = _header_names(path, first)
            if not below:
                raise ValueError(f"load_csv: {path} has a header row but no data rows.")
        else:
            names = [f"x{j}" for j in range(width)]
            kinds = _column_kinds([first, *below], width)
        source = CsvSource(path, delimiter, has_header, note, odd)
        for attempt in range(2):  # the second attempt reads the text columns found as text
            try:
                frame = _pandas_read(handle, source, kinds)
                break
            except (ValueError, Warning) as exc:
                _, text_in = _scan(source, width, kinds)  # raises for a ragged row
                if not text_in or attempt:
                    raise ValueError(f"{source.owner} is not a readable CSV file "
                                     f"({' '.join(str(exc).split())}).") from None
                for j in text_in:
                    kinds[j] = "text"
    if _has_missing(frame):  # pandas fills a short row with NaN: find any short row
        count, _ = _scan(source, width, None)
        if count != len(frame):
            raise ValueError(f"{source.owner}: pandas read {len(frame)} rows where the csv "
                             f"module reads {count}; the file's quoting is ambiguous.")
    frame.columns = names
    frame.attrs[_ATTR] = dataclasses.replace(source, columns=tuple(names), rows=len(frame))
    return frame


# -- DataFrame -> Dataset ---------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    """One column of a DataFrame: float64 numbers (NaN where missing), or categorical
    codes (-1 where missing) into text categories."""

    name: str
    numbers: np.ndarray | None = None
    codes: np.ndarray | None = None
    categories: tuple[str, ...] = ()

    @property
    def category_codes(self) -> np.ndarray:
        """The codes of a text column; a numeric column has none."""
        if self.codes is None:
            raise TypeError(f"column {self.name!r} holds numbers, not categories")
        return self.codes

    def cell(self, row: int) -> str:
        """The value at ``row`` as text ("" when missing)."""
        if self.numbers is not None:
            value = self.numbers[row]
            return "" if np.isnan(value) else repr(float(value))
        code = int(self.category_codes[row])
        return "" if code < 0 else self.categories[code]

    def as_numbers(self) -> np.ndarray:
        """float64 values; NaN for missing cells and for text that is not a number."""
        if self.numbers is not None:
            return self.numbers
        parsed = (_number(c) for c in self.categories)
        values = np.array([np.nan if v is None else v for v in parsed], dtype=np.float64)
        codes = self.category_codes
        return np.where(codes >= 0, values[np.maximum(codes, 0)], np.nan)


@dataclass
class _Table:
    """A DataFrame's columns; ``matrix`` is the whole table as one float64 array when
    every column is numeric (each column is then a view of it)."""

    columns: list[_Column]
    matrix: np.ndarray | None


def _table(frame) -> _Table:
    """Every column of ``frame``, taken once (pandas hands out columns slowly, which
    matters for tables with tens of thousands of columns)."""
    pd = _pandas()
    names = [str(name) for name in frame.columns]
    if all(not isinstance(d, pd.CategoricalDtype) and getattr(d, "kind", "O") in "biuf"
           for d in frame.dtypes):
        matrix = frame.to_numpy(dtype=np.float64, na_value=np.nan)
        return _Table([_Column(name, numbers=matrix[:, j]) for j, name in enumerate(names)],
                      matrix)
    columns = []
    for name, (_, series) in zip(names, frame.items(), strict=True):
        kind = getattr(series.dtype, "kind", "O")
        if not isinstance(series.dtype, pd.CategoricalDtype) and kind in "biuf":
            numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
            columns.append(_Column(name, numbers=numbers))
            continue
        if not isinstance(series.dtype, pd.CategoricalDtype):  # text of a DataFrame built by hand
            series = series.astype("category")
        columns.append(_Column(name, codes=series.cat.codes.to_numpy(),
                               categories=tuple(str(c) for c in series.cat.categories)))
    return _Table(columns, None)


def _has_missing(frame) -> bool:
    pd = _pandas()
    if not any(isinstance(dtype, pd.CategoricalDtype) for dtype in frame.dtypes):
        return bool(np.isnan(frame.to_numpy(dtype=np.float64, copy=False)).any())
    return any(bool(np.isnan(c.numbers).any()) if c.numbers is not None
               else bool((c.category_codes < 0).any()) for c in _table(frame).columns)


def _problem(columns: list[_Column], source: CsvSource | None, owner: str, row: int, j: int,
             dtype: np.dtype | None) -> ValueError:
    """The error for the cell at data row ``row``, column ``j``, worded from its text in
    the file (read again, to give its line and exactly what it holds)."""
    column = columns[j].name
    if source is None or source.file_column(column) is None:
        return ValueError(cell_problem(f"{owner}: row {row} of the DataFrame, column {column!r}",
                                       columns[j].cell(row), dtype))
    line, fields = _locate(source, row)
    at = source.file_column(column)
    cell = fields[at] if at is not None and at < len(fields) else columns[j].cell(row)
    message = cell_problem(f"{owner}: line {line}, column {column!r}", cell, dtype)
    if row == 0 and not source.header and source.header_note.startswith("header='auto'"):
        message += f" ({source.header_note}.)"
    return ValueError(message)


def _first_bad(mask: np.ndarray) -> tuple[int, int] | None:
    """Row and column of the first True of a 2-D mask in reading order."""
    flat = mask.reshape(-1)
    if not flat.any():
        return None
    return divmod(int(np.argmax(flat)), mask.shape[1])


def _numeric_block(table: _Table, which: list[int], n: int, source: CsvSource | None,
                   owner: str, dtype: np.dtype) -> np.ndarray:
    """Columns ``which`` as an (n, k) array of ``dtype``; the first cell (in reading
    order) that is missing, text, non-finite or too large for ``dtype`` is an error."""
    columns = table.columns
    if table.matrix is not None and which == list(range(which[0], which[-1] + 1)):
        block = table.matrix[:, which[0]:which[-1] + 1]  # a view: no copy
    elif table.matrix is not None:
        block = table.matrix[:, which]
    else:
        block = np.empty((n, len(which)), dtype=np.float64)
        for k, j in enumerate(which):
            block[:, k] = columns[j].as_numbers()
    bad = _first_bad(~np.isfinite(block))
    if bad is not None:
        raise _problem(columns, source, owner, bad[0], which[bad[1]], dtype)
    with np.errstate(over="ignore"):  # overflow is checked next, with its position
        out = block.astype(dtype)
    del block
    over = _first_bad(np.isinf(out))
    if over is not None:
        raise _problem(columns, source, owner, over[0], which[over[1]], dtype)
    return out


def _rows_unchanged(frame, source: CsvSource) -> bool:
    """Whether row i of ``frame`` is still data row i of the file."""
    pd = _pandas()
    index = frame.index
    return (len(frame) == source.rows and isinstance(index, pd.RangeIndex)
            and index.start == 0 and index.step == 1)


def _shown_columns(names: Sequence[str]) -> str:
    shown = [str(n) for n in names[:12]]
    more = f" ... ({len(names)} columns)" if len(names) > 12 else ""
    return f"{shown}{more}"


def frame_to_dataset(
    frame: pd.DataFrame,
    target: str | Sequence[str] | None = None,
    task: str | None = None,
    dtype=np.float32,
    name: str | None = None,
) -> Dataset:
    """The numeric :class:`Dataset` of a table from :func:`read_csv_frame` (or any
    DataFrame with string column names).

    target: the target column's name (or a list of names for multi-output regression);
        default the last column. Every other column is a feature and must hold finite
        numbers: a text cell, a missing cell or a value that overflows ``dtype`` is an
        error naming its line and column (its row, for a DataFrame not read from a file).
        (:class:`~trainlab.data.encoding.TableEncoder` turns text and missing cells into
        numbers first.)
    task: "classification", "regression" or None to infer: a text target gives class
        labels (sorted distinct values); an integer-like numeric target with at most 20
        distinct values is classification; anything else is regression.
    """
    dtype = check_dtype(dtype)
    where = _Where.of(frame, target)
    table = _table(frame)
    X = _numeric_block(table, where.feature_cols, len(frame), where.source, where.owner, dtype)
    y, task, class_names = _targets(table, len(frame), where, task, dtype)
    return Dataset(
        X=X,
        y=y,
        task=task,
        name=name or (where.source.path.stem if where.source is not None else "table"),
        feature_names=[where.header[j] for j in where.feature_cols],
        class_names=class_names,
    )


@dataclass(frozen=True)
class FrameTargets:
    """A table's targets, read by :func:`frame_targets`; ``features`` names the other
    columns, in table order."""

    y: np.ndarray
    task: str
    class_names: tuple[str, ...] | None
    features: tuple[str, ...]


def frame_targets(frame: pd.DataFrame, target: str | Sequence[str] | None = None,
                  task: str | None = None, dtype=np.float32) -> FrameTargets:
    """The targets of a table, as :func:`frame_to_dataset` reads them, leaving the feature
    columns as they are (text and missing cells allowed)."""
    dtype = check_dtype(dtype)
    where = _Where.of(frame, target)
    y, task, class_names = _targets(_table(frame), len(frame), where, task, dtype)
    return FrameTargets(y, task, None if class_names is None else tuple(class_names),
                        tuple(where.header[j] for j in where.feature_cols))


@dataclass(frozen=True)
class _Where:
    """Where a DataFrame's target and feature columns are, and how to name its cells."""

    source: CsvSource | None
    owner: str
    header: list[str]
    targets: list[str]
    target_cols: list[int]
    feature_cols: list[int]

    @classmethod
    def of(cls, frame, target) -> _Where:
        source = frame.attrs.get(_ATTR) if isinstance(frame.attrs.get(_ATTR), CsvSource) else None
        owner = source.owner if source is not None else "frame_to_dataset"
        if source is not None and not _rows_unchanged(frame, source):
            owner = f"frame_to_dataset: {source.path}"
            source = None  # rows were dropped or reordered: name them by position, not by line
        header = [str(c) for c in frame.columns]
        if target is not None and not isinstance(target, str) and not (
            isinstance(target, Sequence) and all(isinstance(t, str) for t in target)
        ):
            raise TypeError(f"load_csv: target must be a column name or a list of names. "
                            f"Received: {target!r}.")
        targets = [header[-1]] if target is None else ([target] if isinstance(target, str)
                                                       else list(target))
        position = {column: j for j, column in enumerate(header)}
        for column in targets:
            if column not in position:
                hint = ""
                if source is not None and not source.header:
                    hint = f" ({source.header_note}.)" if "auto" in source.header_note else (
                        " (header=False: the columns are named x0, x1, ...)")
                raise ValueError(f"{owner}: target column {column!r} is not in the header. "
                                 f"Columns: {_shown_columns(header)}.{hint}")
        if not targets or len(set(targets)) == len(header):
            hint = ""
            if len(header) == 1 and source is not None:
                seen = [d for d in ";\t|" if d in header[0] and d != source.delimiter]
                if seen:
                    hint = f" Is the delimiter {seen[0]!r}? Pass delimiter={seen[0]!r}."
            raise ValueError(
                f"{owner}: need at least one target and one feature column. "
                f"Received target={target!r} for columns {_shown_columns(header)}.{hint}"
            )
        target_cols = [position[c] for c in targets]
        taken = set(target_cols)
        feature_cols = [j for j in range(len(header)) if j not in taken]
        return cls(source, owner, header, targets, target_cols, feature_cols)


def _targets(table: _Table, n: int, where: _Where, task, dtype) -> tuple[np.ndarray, str, Any]:
    """Labels or regression targets from the target columns of ``table``."""
    source, owner = where.source, where.owner
    targets, target_cols = where.targets, where.target_cols
    taken = set(target_cols)
    # keep only the target columns (copied out of the whole-table array, which goes)
    table = _Table([_Column(c.name, numbers=None if c.numbers is None else c.numbers.copy(),
                            codes=c.codes, categories=c.categories) if j in taken
                    else _Column(c.name) for j, c in enumerate(table.columns)], None)
    is_text = [table.columns[j].numbers is None for j in target_cols]
    if any(is_text) and len(target_cols) > 1:
        raise ValueError(f"{owner}: several target columns must all be numeric.")
    if is_text[0]:
        y, task, class_names = _text_target(table.columns, target_cols[0], task, dtype, source,
                                            owner)
    else:
        values = _numeric_block(table, target_cols, n, source, owner, np.dtype(np.float64))
        if len(targets) == 1:
            values = values[:, 0]
        with np.errstate(over="ignore"):  # overflow is checked next, with its position
            y, task, class_names = encode_targets(values, task, dtype, owner)
        if task == "regression" and dtype == np.float32:
            _numeric_block(table, target_cols, n, source, owner, dtype)
    check_classes(task, class_names, owner, f"column {targets[0]!r}")
    return y, task, class_names


def _text_target(columns: list[_Column], j: int, task, dtype, source, owner):
    """Class labels from a categorical column (its values stripped of spaces)."""
    column = columns[j]
    missing = np.flatnonzero(column.category_codes < 0)
    if missing.size:
        raise _problem(columns, source, owner, int(missing[0]), j, None)
    if source is not None and source.file_column(column.name) in source.odd_first_row:
        line, fields = _locate(source, 0)
        raise ValueError(
            f"{owner}: line {line}, column {column.name!r}: the first row holds the text "
            f"{_show(fields[source.file_column(column.name)])} where the rows below hold numbers, "
            f"so it would become a class of its own ({source.header_note}, or header=False to "
            "keep it as data)."
        )
    categories = np.array([c.strip() for c in column.categories], dtype=object)
    labels_of_category, task, class_names = encode_targets(categories, task, dtype, owner)
    return labels_of_category[column.category_codes], task, class_names


def missing_cell_error(frame: pd.DataFrame, names: Sequence[str]) -> ValueError | None:
    """The error for the first missing cell (in reading order) of columns ``names`` of a
    table from :func:`read_csv_frame`, naming its line and column; None when none is."""
    source = frame.attrs.get(_ATTR) if isinstance(frame.attrs.get(_ATTR), CsvSource) else None
    owner = source.owner if source is not None else "frame_to_dataset"
    if source is not None and not _rows_unchanged(frame, source):
        source = None
    wanted = [j for j, c in enumerate(frame.columns) if str(c) in set(names)]
    if not wanted:
        return None
    mask = frame.iloc[:, wanted].isna().to_numpy()
    bad = _first_bad(mask)
    if bad is None:
        return None
    return _problem(_table(frame).columns, source, owner, bad[0], wanted[bad[1]], None)


def mixed_column_error(frame: pd.DataFrame, names: Sequence[str]) -> ValueError | None:
    """The error for the first text cell of a column that otherwise holds numbers (a typo
    in a numeric column, which must not turn the column into categories); None when no
    column of ``names`` mixes them."""
    source = frame.attrs.get(_ATTR) if isinstance(frame.attrs.get(_ATTR), CsvSource) else None
    owner = source.owner if source is not None else "frame_to_dataset"
    if source is not None and not _rows_unchanged(frame, source):
        source = None
    columns = _table(frame).columns
    wanted = set(names)
    for j, column in enumerate(columns):
        if column.name not in wanted or column.codes is None:
            continue
        numeric = np.array([_number(c) is not None for c in column.categories], dtype=bool)
        if not numeric.any() or numeric.all():
            continue
        codes = column.category_codes
        text_rows = np.flatnonzero((codes >= 0) & ~numeric[np.maximum(codes, 0)])
        error = _problem(columns, source, owner, int(text_rows[0]), j, None)
        return ValueError(f"{str(error).rstrip('.')}. (Column {column.name!r} holds numbers in "
                          "other rows, so it is not read as a text column.)")
    return None


def frame_has_text_or_missing(frame: pd.DataFrame) -> bool:
    """Whether any column of ``frame`` holds text or a missing cell (one pass for a table
    of numbers)."""
    pd = _pandas()
    if any(isinstance(d, pd.CategoricalDtype) or getattr(d, "kind", "O") not in "biuf"
           for d in frame.dtypes):
        return True
    return _has_missing(frame)
