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
        columns: header names, stripped (without ignored columns).
        rows: one dict per data row (column -> stripped text).
        lines: 1-based file line of each row.
        ignored: columns of the file that were dropped (``read_table(extra="ignore")``).
    """

    file: str
    columns: tuple[str, ...]
    rows: tuple[dict[str, str], ...]
    lines: tuple[int, ...]
    ignored: tuple[str, ...] = ()

    def error(self, index: int, column: str | None, problem: str) -> DataFormatError:
        """An error for row ``index`` (0-based data row) and ``column``."""
        return DataFormatError(self.file, self.lines[index], column, problem)

    def number(self, index: int, column: str, *, integer: bool = False, minimum: float = 0.0) -> float:
        """The value of ``column`` in row ``index`` as a finite number ``>= minimum``.

        Raises:
            DataFormatError: empty, non-numeric, non-finite, not an integer (if ``integer``; or
                beyond 2**53), or below ``minimum``.
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
        if integer and abs(value) > 2**53:
            raise self.error(index, column, f"{text!r} is too large (whole numbers up to 2**53)")
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
    extra: str = "error",
) -> Table:
    """Parse a CSV with a header line and check its columns.

    Args:
        source: a path, or an open text stream (then give ``name``). Files are read as UTF-8 (a
            byte-order mark is skipped).
        required: columns that must be present.
        optional: further columns that may be present.
        name: how the file is named in errors (default: the path).
        extra: what a column that is neither required nor optional does: ``"error"`` (default,
            so typos are caught) or ``"ignore"`` (dropped from the rows; ``Table.ignored`` lists
            them).

    Raises:
        DataFormatError: not UTF-8 text, no header (a first line of numbers), missing / unknown /
            duplicate columns, or a row with the wrong number of fields.
        FileNotFoundError: the path does not exist.
    """
    if extra not in ("error", "ignore"):
        raise ValueError(f"read_table(extra=...) must be 'error' or 'ignore', got {extra!r}")
    if isinstance(source, (str, Path)):
        label = name or str(source)
        with open(source, "rb") as fb:
            raw = fb.read()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            raise DataFormatError(
                label,
                line,
                None,
                f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                "save the file as UTF-8 CSV",
            ) from None
    else:
        label = name or "<stream>"
        text = source.read()
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise DataFormatError(label, 1, None, "empty file, expected a header line") from None
    except csv.Error as exc:
        raise DataFormatError(label, 1, None, f"not a CSV header line ({exc})") from None
    columns = tuple(h.strip() for h in header)
    allowed = set(required) | set(optional)
    if columns and (all(_is_number(c) for c in columns if c) or not set(columns) & allowed):
        expect = list(required) + [f"[{c}]" for c in optional if c not in required]
        raise DataFormatError(
            label,
            1,
            None,
            f"no header line (line 1 is data, not column names: {list(columns)[:6]}); the first line "
            f"must name the columns: {', '.join(expect)} ([...] optional)",
        )
    if len(set(columns)) != len(columns):
        dup = sorted({c for c in columns if columns.count(c) > 1})
        raise DataFormatError(label, 1, dup[0], "duplicate column in the header")
    for col in required:
        if col not in columns:
            raise DataFormatError(label, 1, col, f"missing column; the header has {list(columns)}")
    ignored = tuple(c for c in columns if c not in allowed)
    if ignored and extra == "error":
        raise DataFormatError(label, 1, ignored[0], f"unknown column; allowed are {sorted(allowed)}")
    kept = [(i, c) for i, c in enumerate(columns) if c in allowed]
    rows: list[dict[str, str]] = []
    lines: list[int] = []
    try:
        for fields in reader:
            line = reader.line_num
            if not fields or all(not f.strip() for f in fields):
                continue  # blank line
            if len(fields) != len(columns):
                raise DataFormatError(label, line, None, f"{len(fields)} fields, expected {len(columns)}")
            rows.append({c: fields[i].strip() for i, c in kept})
            lines.append(line)
    except csv.Error as exc:
        raise DataFormatError(label, reader.line_num, None, f"malformed CSV ({exc})") from None
    if not rows:
        raise DataFormatError(label, 0, None, "no data rows")
    return Table(label, tuple(c for _, c in kept), tuple(rows), tuple(lines), ignored)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


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
