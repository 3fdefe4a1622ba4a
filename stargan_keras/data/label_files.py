"""Labels files: CelebA's list_attr format, or a CSV/TSV with a header row.

    list_attr_celeba.txt        labels.csv              labels.tsv
    202599                      image,Smiling,Glasses   image<TAB>Smiling<TAB>Glasses
    5_o_Clock_Shadow Arched...  a.jpg,1,0               a.jpg<TAB>1<TAB>-1
    000001.jpg -1  1  1 ...     b.jpg,0,1               b.jpg<TAB>-1<TAB>1

Values are 1 (on) and 0 or -1 (off). The file is UTF-8 text (a byte-order mark at its
start is fine); lines end with LF, CRLF or CR, and blank lines are skipped. Any problem
stops the run before training with the file and line number, since a mislabelled image
silently teaches the wrong thing.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import os
import re

import numpy as np

from stargan_keras.errors import MissingFileError, UserError

_VALUES = {"1": 1.0, "0": 0.0, "-1": 0.0}
# Line ends as editors and Python's universal newlines know them; str.splitlines would
# also end lines at form feeds, U+2028 and others, and number the lines after them wrong.
_LINE_END = re.compile(r"\r\n|\r|\n")
_COUNT = re.compile(r"[0-9]+")  # ASCII digits: str.isdigit also takes "²", which int() refuses


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
        MissingFileError: the file does not exist.
        UserError: the file is not UTF-8 text, or a line is malformed; the message names
            the file and the line.
    """
    if not os.path.isfile(path):
        raise MissingFileError(f"{path}: the labels file does not exist")
    with open(path, "rb") as f:
        lines = _LINE_END.split(_text(path, f.read()))
    for line_no, line in enumerate(lines, 1):
        if "\x00" in line:
            raise UserError(f"{path}: line {line_no} holds a NUL byte (UTF-16 text? save the "
                            "file as UTF-8)")
        if "\ufeff" in line:
            raise UserError(f"{path}: line {line_no} holds a byte-order mark (U+FEFF), which "
                            "belongs only at the start of a file (were two files joined?)")
    numbered = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
    if not numbered:
        raise UserError(f"{path}: the labels file is empty")
    if _COUNT.fullmatch(numbered[0][1].strip()):
        return _parse_list_attr(path, numbered)
    return _parse_table(path, numbered)


def _text(path: str, data: bytes) -> str:
    """The file's UTF-8 text without its byte-order mark; other encodings are refused,
    naming the first line that is not UTF-8 (rather than guessing at Latin-1 or cp1252)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UserError(f"{path}: the file is UTF-16 text; save it as UTF-8")
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        before = _LINE_END.split(data[:error.start].decode("utf-8"))
        raise UserError(f"{path}: line {len(before)} is not UTF-8 (byte "
                        f"0x{data[error.start]:02x} at column {len(before[-1]) + 1}); save the "
                        "file as UTF-8") from None


def _parse_list_attr(path: str, numbered: list[tuple[int, str]]) -> LabelsFile:
    count_line, count = numbered[0][0], int(numbered[0][1])
    if len(numbered) < 2:
        raise UserError(f"{path}: line {count_line} gives the image count, but no line after "
                        "it names the attributes")
    names_line, names = numbered[1][0], tuple(numbered[1][1].split())
    _check_names(path, names_line, names, "should name the attributes")
    rows = tuple(_row(path, line_no, line.split(), names) for line_no, line in numbered[2:])
    if count != len(rows):
        raise UserError(f"{path}: line {count_line} says {count} images but {len(rows)} are "
                        "listed (a truncated or edited file?)")
    return _checked(LabelsFile(path, names, rows))


def _parse_table(path: str, numbered: list[tuple[int, str]]) -> LabelsFile:
    header_line, header_text = numbered[0]
    delimiter = "\t" if "\t" in header_text else ","
    cells = [_cells(path, line_no, line, delimiter) for line_no, line in numbered]
    header = cells[0]
    if len(header) < 2 or not all(header):
        raise UserError(f"{path}: line {header_line} should be a header "
                        "'image,attr1,attr2,...' with every column named; got "
                        f"{header_text!r}")
    names = tuple(header[1:])
    _check_names(path, header_line, names, "should be a header 'image,attr1,attr2,...'")
    rows = tuple(_row(path, line_no, fields, names)
                 for (line_no, _), fields in zip(numbered[1:], cells[1:]))
    return _checked(LabelsFile(path, names, rows))


def _cells(path: str, line_no: int, line: str, delimiter: str) -> list[str]:
    """One line's cells, stripped. Each line is read alone: a quote left open would
    otherwise join the lines after it into one row."""
    try:
        (fields,) = csv.reader([line], delimiter=delimiter, strict=True)
    except csv.Error as error:
        kind, separator = ("TSV", "tab") if delimiter == "\t" else ("CSV", "comma")
        raise UserError(f"{path}: line {line_no} is not valid {kind} ({error}); quote a name "
                        f"that holds a {separator} or a quote, and close the quotes on the "
                        "same line") from None
    return [cell.strip() for cell in fields]


def _check_names(path: str, line_no: int, names: tuple[str, ...], should: str) -> None:
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise UserError(f"{path}: an attribute is named twice on line {line_no}: "
                        f"{', '.join(twice)}")
    values = [name for name in names if name in _VALUES]
    if values:  # the header (or names line) is missing, and an image's row took its place
        raise UserError(f"{path}: line {line_no} {should}, but it holds the label values "
                        f"{', '.join(values)}; is that line missing?")


def _row(path: str, line_no: int, fields: list[str], names: tuple[str, ...]) -> LabelRow:
    if len(fields) != len(names) + 1:
        raise UserError(f"{path}: line {line_no} has {len(fields) - 1} values for "
                        f"{len(names)} attributes: {' '.join(fields)!r}")
    if not fields[0]:
        raise UserError(f"{path}: line {line_no} has no image name")
    values = []
    for name, value in zip(names, fields[1:]):
        if value not in _VALUES:
            raise UserError(f"{path}: line {line_no}: {name} is {value!r}; expected 1, 0 or -1")
        values.append(_VALUES[value])
    return LabelRow(fields[0], tuple(values), line_no)


def _checked(labels: LabelsFile) -> LabelsFile:
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
