"""Labels files: CelebA's list_attr format, or a CSV/TSV with a header row.

    list_attr_celeba.txt        labels.csv              labels.tsv
    202599                      image,Smiling,Glasses   image<TAB>Smiling<TAB>Glasses
    5_o_Clock_Shadow Arched...  a.jpg,1,0               a.jpg<TAB>1<TAB>-1
    000001.jpg -1  1  1 ...     b.jpg,0,1               b.jpg<TAB>-1<TAB>1

Values are 1 (on) and 0 or -1 (off). Any problem stops the run before training with
the file and line number, since a mislabelled image silently teaches the wrong thing.
"""

from __future__ import annotations

import csv
import dataclasses

import numpy as np

from stargan_keras.errors import UserError

_VALUES = {"1": 1.0, "0": 0.0, "-1": 0.0}


@dataclasses.dataclass(frozen=True)
class LabelRow:
    """One image's line: its file name (relative to the image folder), 1/0 values and
    the 1-based line number it came from (for error messages)."""

    filename: str
    values: tuple[float, ...]
    line: int


@dataclasses.dataclass(frozen=True)
class LabelsFile:
    """A parsed labels file: attribute names and one row per image, in file order."""

    path: str
    names: tuple[str, ...]
    rows: tuple[LabelRow, ...]


def read_labels_file(path: str) -> LabelsFile:
    """Parse ``path`` in whichever of the two formats it is written.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a malformed line, naming the file and line number.
    """
    with open(path, newline="", encoding="utf-8-sig") as f:
        lines = f.read().splitlines()
    numbered = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
    if not numbered:
        raise UserError(f"{path}: the labels file is empty")
    if numbered[0][1].strip().isdigit():
        return _parse_list_attr(path, numbered)
    return _parse_table(path, numbered)


def _parse_list_attr(path: str, numbered: list[tuple[int, str]]) -> LabelsFile:
    if len(numbered) < 2:
        raise UserError(f"{path}: line 2 should name the attributes, but the file ends")
    count_line, count = numbered[0][0], int(numbered[0][1])
    names = tuple(numbered[1][1].split())
    rows = tuple(_row(path, line_no, line.split(), names) for line_no, line in numbered[2:])
    if count != len(rows):
        raise UserError(f"{path}: line {count_line} says {count} images but {len(rows)} are "
                        "listed (a truncated or edited file?)")
    return _checked(LabelsFile(path, names, rows))


def _parse_table(path: str, numbered: list[tuple[int, str]]) -> LabelsFile:
    delimiter = "\t" if "\t" in numbered[0][1] else ","
    cells = list(csv.reader([line for _, line in numbered], delimiter=delimiter))
    header = [c.strip() for c in cells[0]]
    if len(header) < 2 or not all(header):
        raise UserError(f"{path}: line {numbered[0][0]} should be a header "
                        "'image,attr1,attr2,...' with every column named; got "
                        f"{numbered[0][1]!r}")
    names = tuple(header[1:])
    rows = tuple(_row(path, line_no, [c.strip() for c in row], names)
                 for (line_no, _), row in zip(numbered[1:], cells[1:]))
    return _checked(LabelsFile(path, names, rows))


def _row(path: str, line_no: int, fields: list[str], names: tuple[str, ...]) -> LabelRow:
    if len(fields) != len(names) + 1:
        raise UserError(f"{path}: line {line_no} has {len(fields) - 1} values for "
                        f"{len(names)} attributes: {' '.join(fields)!r}")
    values = []
    for name, value in zip(names, fields[1:]):
        if value not in _VALUES:
            raise UserError(f"{path}: line {line_no}: {name} is {value!r}; expected 1, 0 or -1")
        values.append(_VALUES[value])
    return LabelRow(fields[0], tuple(values), line_no)


def _checked(labels: LabelsFile) -> LabelsFile:
    if len(set(labels.names)) != len(labels.names):
        raise UserError(f"{labels.path}: an attribute is named twice: {', '.join(labels.names)}")
    first_line = {}
    for row in labels.rows:
        if row.filename in first_line:
            raise UserError(f"{labels.path}: line {row.line} lists {row.filename} again "
                            f"(first on line {first_line[row.filename]})")
        first_line[row.filename] = row.line
    if not labels.rows:
        raise UserError(f"{labels.path}: no image is listed")
    return labels


def label_matrix(rows: tuple[LabelRow, ...] | list[LabelRow], columns: list[int]) -> np.ndarray:
    """The chosen ``columns`` of ``rows`` as float32 [N, len(columns)] of 1/0."""
    values = np.array([row.values for row in rows], np.float32).reshape(len(rows), -1)
    return values[:, columns]
