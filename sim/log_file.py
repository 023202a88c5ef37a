"""The request log as a file of the output folder: ``requests.csv.gz`` (the default: pandas
and any spreadsheet read it, no extra to install) or ``requests.parquet`` (typed and smaller,
with the ``parquet`` extra: pyarrow).

The CSV is written here, not by ``DataFrame.to_csv``: pandas turns each float into text one
by one, 8 s for the 450,000 rows of scenarios/fly-seed.yaml, twice the whole run without
--out. Here each column's digits come from whole numbers in numpy, right-aligned in a byte
matrix padded with NUL bytes that are then deleted: 1.8 s with gzip (1,000,000 rows: 3.5 s).
Floats are written to a fixed number of decimals, trailing zeros dropped: latencies [ms] to
3 (a microsecond), times [s] to 6, coordinates to 5 (a metre; the cities table has 5). gzip
at level 1: 6 takes 2.4 times as long for a file 15 % smaller. The gzip stream holds no
time, so the same run gives the same bytes.
"""

from __future__ import annotations

import csv
import gzip
import io

import numpy as np
import pandas as pd

from sim.output_folder import LOGS, check_log

DECIMALS = {"t_s": 6, "user_lat": 5, "user_lon": 5}  # the other float columns: ms, to 3
MS_DECIMALS = 3
COMPRESSLEVEL = 1  # the text in a third of its bytes; level 2 is no faster, 3 is slower
CHUNK_ROWS = 1 << 16  # rows formatted at a time: a byte matrix of a few MB
LARGEST = 1e18  # |value| x 10^decimals beyond which a column is written as text (int64)


def log_file(requests: pd.DataFrame, log: str) -> dict[str, bytes]:
    """The request log as its file (LOGS[log] -> bytes)."""
    check_log(log)
    if log == "parquet":
        buffer = io.BytesIO()
        requests.to_parquet(buffer, index=False)
        return {LOGS[log]: buffer.getvalue()}
    return {LOGS[log]: csv_gz(requests)}


def csv_gz(frame: pd.DataFrame, level: int = COMPRESSLEVEL) -> bytes:
    """``frame`` as gzip-compressed CSV, without its index, as pandas would read it back:
    floats to DECIMALS (MS_DECIMALS by default), NaN as an empty field, labels quoted where
    they hold a comma, a quote or a line break. Byte-identical for the same frame."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=level, mtime=0) as stream:
        header = io.StringIO()
        csv.writer(header, lineterminator="\n").writerow(frame.columns)
        stream.write(header.getvalue().encode())
        for start in range(0, len(frame), CHUNK_ROWS):
            stream.write(csv_rows(frame.iloc[start : start + CHUNK_ROWS]))
    return buffer.getvalue()


def csv_rows(frame: pd.DataFrame) -> bytes:
    """The CSV lines of ``frame``'s rows: each cell's bytes in a matrix, row by row, padded
    with NUL bytes, which CSV text never holds; the matrix without them is the CSV."""
    comma = np.full((len(frame), 1), ord(","), np.uint8)
    parts = []
    for column in frame.columns:
        parts += [column_cells(frame[column]), comma]
    parts[-1] = np.full((len(frame), 1), ord("\n"), np.uint8)
    return np.concatenate(parts, axis=1).tobytes().translate(None, b"\0")


def column_cells(column: pd.Series) -> np.ndarray:
    """One column's cells: its text as bytes, a row per cell, padded with NUL."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        labels = [str(label) for label in column.cat.categories]
        return label_cells(column.cat.codes.to_numpy(), labels)
    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else "O"
    if kind == "b":
        return label_cells(column.to_numpy().astype(np.int64), ["False", "True"])
    values = column.to_numpy()
    if kind in "iu" and np.abs(values).max(initial=0) < LARGEST:
        return number_cells(values.astype(np.int64), 0)
    if kind == "f":
        decimals = DECIMALS.get(str(column.name), MS_DECIMALS)
        finite = np.isfinite(values)
        scaled = np.rint(np.where(finite, values.astype(np.float64), 0.0) * 10.0**decimals)
        if np.abs(scaled).max(initial=0) < LARGEST:
            cells = number_cells(scaled.astype(np.int64), decimals)
            cells[~finite] = 0  # NaN: an empty field, as pandas writes it
            infinite = np.isinf(values)
            if infinite.any():  # as pandas writes them: inf, -inf
                words = ["inf" if value > 0 else "-inf" for value in values[infinite]]
                cells[infinite, :4] = label_matrix(words)
            return cells
    codes, uniques = pd.factorize(column, use_na_sentinel=True)  # anything else, as text
    return label_cells(codes, [str(value) for value in uniques])


def label_cells(codes: np.ndarray, labels: list[str]) -> np.ndarray:
    """Cells of labels given by code (-1: none, an empty field), quoted as CSV needs."""
    matrix = label_matrix([quoted(label) for label in labels] + [""])
    width = max(1, int((matrix != 0).sum(axis=1)[codes].max(initial=1)))  # the longest used
    return matrix[codes, :width]  # code -1 takes the last row: the empty field


def label_matrix(labels: list[str]) -> np.ndarray:
    """Each label's UTF-8 bytes in a row, NUL-padded to the longest (a NUL in a label, which
    no region, country or set name holds, would be dropped)."""
    encoded = [label.encode() for label in labels]
    matrix = np.zeros((len(encoded), max([1, *map(len, encoded)])), np.uint8)
    for row, text in enumerate(encoded):
        matrix[row, : len(text)] = np.frombuffer(text, np.uint8)
    return matrix


def quoted(label: str) -> str:
    """A label as a CSV field: in quotes, its quotes doubled, when it holds , " or a break."""
    if any(mark in label for mark in ',"\n\r'):
        return '"' + label.replace('"', '""') + '"'
    return label


def number_cells(scaled: np.ndarray, decimals: int) -> np.ndarray:
    """Whole numbers ``scaled`` (the values x 10^decimals) as decimal text, right-aligned:
    the sign, the digits, a point before the last ``decimals`` digits; the trailing zeros of
    the decimals dropped, and the point with them when all are zero (2.500 -> 2.5, 3.000 -> 3)."""
    negative = scaled < 0
    magnitude = np.abs(scaled).astype(np.uint64)
    powers = 10 ** np.arange(1, 19, dtype=np.uint64)
    digits = np.maximum(np.searchsorted(powers, magnitude, side="right") + 1, decimals + 1)
    point = 1 if decimals else 0
    width = int(digits.max(initial=1)) + point + int(negative.any())
    cells = np.zeros((len(scaled), width), np.uint8)
    zeros = np.ones(len(scaled), bool)  # the decimals so far (from the right) are all zero
    rest = magnitude
    for j in range(width):  # j characters from the right
        column = cells[:, width - 1 - j]
        if decimals and j == decimals:
            column[~zeros] = ord(".")
            continue
        k = j - point if j > decimals else j  # the power of ten of this digit
        rest, digit = np.divmod(rest, np.uint64(10))
        if j < decimals:
            zeros &= digit == 0
            shown = ~zeros
        else:
            shown = k < digits
        column[shown] = digit[shown].astype(np.uint8) + ord("0")
        column[negative & (k == digits)] = ord("-")
    return cells
