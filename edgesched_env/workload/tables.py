"""Reading small CSV tables (packaged data and user files) with errors a user can act on.

Every problem in a file raises :class:`DataFormatError`, whose message names the file, the line
(1-based, the header is line 1) and the column, and says what would be right. Packaged data is read
through :mod:`importlib.resources` (nothing is downloaded).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["DataFormatError", "Table", "load_json_data", "read_data_table", "read_table"]


class DataFormatError(ValueError):
    """A malformed data file: the message names the file, the line and the column.

    Attributes:
        file: the file's name or path.
        line: 1-based line number (the header is line 1; 0 when the whole file is at fault).
        column: the column name (``None`` when the whole line or file is at fault).
    """

    def __init__(self, file: str, line: int, column: str | None, problem: str) -> None:
        where = f"{file}, line {line}" if line else file
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {problem}")
        self.file = file
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Table:
    """A parsed CSV: its columns and rows (strings), with the line number of each row.

    Attributes:
        file: name used in error messages.
        columns: header names, stripped.
        rows: one dict per data row (column -> stripped text).
        lines: 1-based file line of each row.
    """

    file: str
    columns: tuple[str, ...]
    rows: tuple[dict[str, str], ...]
    lines: tuple[int, ...]

    def error(self, index: int, column: str | None, problem: str) -> DataFormatError:
        """An error for row ``index`` (0-based data row) and ``column``."""
        return DataFormatError(self.file, self.lines[index], column, problem)

    def number(self, index: int, column: str, *, integer: bool = False, minimum: float = 0.0) -> float:
        """The value of ``column`` in row ``index`` as a finite number ``>= minimum``.

        Raises:
            DataFormatError: empty, non-numeric, non-finite, not an integer (if ``integer``) or
                below ``minimum``.
        """
        text = self.rows[index].get(column, "")
        if text == "":
            raise self.error(index, column, "empty value, expected a number")
        try:
            value = float(text)
        except ValueError:
            raise self.error(index, column, f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise self.error(index, column, f"{text!r} is not a finite number")
        if integer and value != int(value):
            raise self.error(index, column, f"{text!r} is not a whole number")
        if value < minimum:
            kind = "negative" if value < 0 else "too small"
            raise self.error(index, column, f"{text!r} is {kind}, expected a value >= {minimum:g}")
        return value

    def numbers(self, column: str, **kw: Any) -> list[float]:
        """:meth:`number` of every row."""
        return [self.number(i, column, **kw) for i in range(len(self.rows))]


def read_table(
    source: str | Path | io.TextIOBase,
    required: Sequence[str],
    *,
    optional: Iterable[str] = (),
    name: str | None = None,
) -> Table:
    """Parse a CSV with a header line and check its columns.

    Args:
        source: a path, or an open text stream (then give ``name``).
        required: columns that must be present.
        optional: further columns that may be present (any other column is an error, so typos are
            caught).
        name: how the file is named in errors (default: the path).

    Raises:
        DataFormatError: no header, missing / unknown / duplicate columns, or a row with the wrong
            number of fields.
        FileNotFoundError: the path does not exist.
    """
    if isinstance(source, (str, Path)):
        label = name or str(source)
        with open(source, newline="") as fh:
            text = fh.read()
    else:
        label = name or "<stream>"
        text = source.read()
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise DataFormatError(label, 1, None, "empty file, expected a header line") from None
    columns = tuple(h.strip() for h in header)
    if len(set(columns)) != len(columns):
        dup = sorted({c for c in columns if columns.count(c) > 1})
        raise DataFormatError(label, 1, dup[0], "duplicate column in the header")
    allowed = set(required) | set(optional)
    for col in required:
        if col not in columns:
            raise DataFormatError(label, 1, col, f"missing column; the header has {list(columns)}")
    for col in columns:
        if col not in allowed:
            raise DataFormatError(label, 1, col, f"unknown column; allowed are {sorted(allowed)}")
    rows: list[dict[str, str]] = []
    lines: list[int] = []
    for fields in reader:
        line = reader.line_num
        if not fields or all(not f.strip() for f in fields):
            continue  # blank line
        if len(fields) != len(columns):
            raise DataFormatError(label, line, None, f"{len(fields)} fields, expected {len(columns)}")
        rows.append({c: f.strip() for c, f in zip(columns, fields)})
        lines.append(line)
    if not rows:
        raise DataFormatError(label, 0, None, "no data rows")
    return Table(label, columns, tuple(rows), tuple(lines))


def _data_file(name: str) -> str:
    """Text of a packaged data file (``edgesched_env/workload/data/<name>``)."""
    return (resources.files("edgesched_env.workload") / "data" / name).read_text(encoding="utf-8")


def read_data_table(name: str, required: Sequence[str], optional: Iterable[str] = ()) -> Table:
    """:func:`read_table` on a packaged data file, named ``data/<name>`` in errors."""
    return read_table(io.StringIO(_data_file(name)), required, optional=optional, name=f"data/{name}")


@cache
def load_json_data(name: str) -> Any:
    """A packaged JSON data file, parsed once and cached (treat it as read-only)."""
    return json.loads(_data_file(name))
