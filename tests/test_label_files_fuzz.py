"""Label files and class folders as users write them, thrown at the parsers by Hypothesis.

Every outcome is either the table the file holds, every non-blank line of it, or a
``UserError`` that names the file and, where one line is at fault, that line (the line an
editor shows: lines end at LF, CRLF or CR). Never a traceback, never a row lost in silence.
The pure-Python parsers are called directly (no TensorFlow in the loop); examples are
drawn from a fixed seed per test (``derandomize``), so CI sees the same inputs every run.
``pytest --hypothesis-show-statistics`` counts the inputs of each kind and their outcome.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from stargan_keras.data.label_files import read_labels_file
from stargan_keras.data.rafd import class_folder_images
from stargan_keras.errors import UserError

BOUNDED = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
VALUES = {"1": 1.0, "0": 0.0, "-1": 0.0}
# Problems of the whole file rather than of one line.
WHOLE_FILE = ("the labels file is empty", "no image is listed", "the file is UTF-16 text")
ENCODINGS = ("utf-8", "utf-8-sig", "latin-1", "utf-16", "utf-16-le")
LINE_ENDS = ("\n", "\r\n", "\r")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> str:
    """One folder for every example of the module (Hypothesis reruns a test body many
    times within one function-scoped fixture)."""
    return str(tmp_path_factory.mktemp("labels-fuzz"))


def write(folder: str, data: bytes) -> str:
    path = os.path.join(folder, "labels.csv")
    with open(path, "wb") as f:
        f.write(data)
    return path


def line_count(data: bytes) -> int:
    """Lines as an editor counts them: LF, CRLF and CR each end one."""
    return len(re.split(rb"\r\n|\r|\n", data))


def parse(path: str, data: bytes, kind: str, line: int | None = None,
          message: str | None = None):
    """read_labels_file's table, or None after checking its UserError: it names the file,
    and ``line`` (if given; else some line of the file, or the whole file) and matches
    ``message``. Any other exception fails the test."""
    try:
        labels = read_labels_file(path)
    except UserError as error:
        event(f"{kind}: UserError")
        text = str(error)
        text.encode("utf-8")  # printable on any terminal that shows UTF-8
        assert text.startswith(f"{path}: "), text
        rest = text[len(path) + 2:]
        named = re.search(r"\bline (\d+)\b", rest)
        if line is not None:
            assert named and int(named.group(1)) == line, (line, text)
        elif named:
            assert 1 <= int(named.group(1)) <= line_count(data), text
        else:
            assert rest.startswith(WHOLE_FILE), text
        if message is not None:
            assert re.search(message, rest), (message, text)
        return None
    event(f"{kind}: parsed")
    check_table(labels, data)
    return labels


def check_table(labels, data: bytes) -> None:
    """What any parsed table must be, whatever the input: every non-blank line after the
    header(s) is a row of well-formed, unique names."""
    text = data.decode("utf-8-sig")
    lines = re.split(r"\r\n|\r|\n", text)
    content = [i + 1 for i, line in enumerate(lines) if line.strip()]
    headers = 2 if lines[content[0] - 1].strip().isascii() and \
        lines[content[0] - 1].strip().isdigit() else 1
    assert [row.line for row in labels.rows] == content[headers:]
    assert labels.names and len(set(labels.names)) == len(labels.names)
    assert all(name and name not in VALUES for name in labels.names)
    assert len({row.filename for row in labels.rows}) == len(labels.rows)
    for row in labels.rows:
        assert row.filename and "\x00" not in row.filename and "\ufeff" not in row.filename
        assert len(row.values) == len(labels.names)
        assert set(row.values) <= {0.0, 1.0}


# Names as users write them: ASCII, accents, CJK; file names with sub-folders, and (in
# CSV, quoted) spaces, commas and quotes.
NAME_CHARS = "abcXYZ019_éß中"
names = st.text(NAME_CHARS, min_size=1, max_size=8).filter(lambda n: n not in VALUES)
list_attr_files = st.text(NAME_CHARS + "./-", min_size=1, max_size=10)
csv_files = st.text(NAME_CHARS + "./- ,\"", min_size=1, max_size=10).map(str.strip).filter(bool)


@st.composite
def tables(draw, formats=("list_attr", "csv", "tsv")):
    """(format, attribute names, [(file name, [value strings])])."""
    fmt = draw(st.sampled_from(formats))
    attrs = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    files = draw(st.lists(list_attr_files if fmt == "list_attr" else csv_files, min_size=1,
                          max_size=5, unique=True))
    rows = [(f, draw(st.lists(st.sampled_from(sorted(VALUES)), min_size=len(attrs),
                              max_size=len(attrs)))) for f in files]
    return fmt, attrs, rows


def csv_line(cells: list[str], delimiter: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="").writerow(cells)
    return buffer.getvalue()


def render(draw, fmt: str, attrs: list[str], rows: list, count: int | None = None
           ) -> tuple[list[str], dict]:
    """The file's lines (blank ones drawn in between) and where each part landed:
    {"count" | "header" | "names": line, ("row", i): line}."""
    parts = []
    if fmt == "list_attr":
        sep = draw(st.sampled_from([" ", "  ", "\t"]))
        parts.append(("count", str(len(rows) if count is None else count)))
        parts.append(("names", " ".join(attrs) + draw(st.sampled_from(["", " "]))))
        parts += [(("row", i), sep.join([f, *v])) for i, (f, v) in enumerate(rows)]
    else:
        delimiter = "," if fmt == "csv" else "\t"
        parts.append(("header", csv_line(["image", *attrs], delimiter)))
        parts += [(("row", i), csv_line([f, *v], delimiter)) for i, (f, v) in enumerate(rows)]
    lines, where = [], {}
    for key, line in parts:
        if draw(st.integers(0, 3)) == 0:  # blank lines before this one
            lines += [draw(st.sampled_from(["", " ", "\t"]))] * draw(st.integers(1, 2))
        where[key] = len(lines) + 1
        lines.append(line)
    return lines, where


def encode(draw, lines: list[str], encoding: str | None = None) -> bytes:
    ending = draw(st.sampled_from(LINE_ENDS))
    event(f"line ends {ending!r}")
    text = ending.join(lines) + draw(st.sampled_from(["", ending]))
    return text.encode(encoding or "utf-8")


@pytest.mark.parametrize("fmt", ["list_attr", "csv", "tsv"])
@pytest.mark.parametrize("encoding", ENCODINGS)
@given(data=st.data())
@settings(BOUNDED, max_examples=8)
def test_a_well_formed_file_parses_exactly_or_its_encoding_is_named(folder, encoding, fmt,
                                                                     data):
    fmt, attrs, rows = data.draw(tables((fmt,)))
    lines, where = render(data.draw, fmt, attrs, rows)
    text_lines = "\n".join(lines)
    if encoding == "latin-1":
        assume(all(ord(c) < 256 for c in text_lines))
    raw = encode(data.draw, lines, encoding)
    path = write(folder, raw)
    ascii_only = text_lines.isascii()
    kind = f"well-formed {fmt}, {encoding}"
    if encoding in ("utf-8", "utf-8-sig") or (encoding == "latin-1" and ascii_only):
        labels = parse(path, raw, kind)
        assert labels is not None
        assert labels.names == tuple(attrs)
        assert [(r.filename, r.values, r.line) for r in labels.rows] == [
            (f, tuple(VALUES[v] for v in values), where[("row", i)])
            for i, (f, values) in enumerate(rows)]
    elif encoding == "latin-1":  # the first line with an accent is not UTF-8
        first = next(i + 1 for i, line in enumerate(lines) if not line.isascii())
        parse(path, raw, kind, first, "not UTF-8")
    elif encoding == "utf-16":
        parse(path, raw, kind, None, "^the file is UTF-16 text; save it as UTF-8")
    else:  # UTF-16 without its byte-order mark: NULs between the ASCII letters
        assert parse(path, raw, kind) is None


# One defect each, and the line that must be named (None: any line, or the whole file).
DEFECTS = ("value missing", "value extra", "name missing", "name extra", "bad value",
           "file listed twice", "file name missing", "attribute named twice",
           "header name empty", "count wrong", "header only", "empty", "BOM inside",
           "NUL byte", "stray quote")
BAD_VALUES = ("2", "0.5", "yes", "true", "+1", "1.0", "−1", "１", "١", "-0", "01", "N/A")


# Each defect in each format it can occur in.
DEFECT_CASES = [(defect, fmt) for defect in DEFECTS for fmt in ("list_attr", "csv", "tsv")
                if not (fmt == "list_attr" and defect in ("stray quote", "header name empty"))
                and not (fmt != "list_attr" and defect == "count wrong")]


@pytest.mark.parametrize("defect, fmt", DEFECT_CASES)
@given(data=st.data())
@settings(BOUNDED, max_examples=6)
def test_each_defect_is_refused_naming_its_line(folder, defect, fmt, data):
    fmt, attrs, rows = data.draw(tables((fmt,)))
    rows = [(f, list(v)) for f, v in rows]
    draw, count, line_of = data.draw, None, None
    message = None
    i = draw(st.integers(0, len(rows) - 1))
    if defect == "value missing":
        rows[i][1].pop()
        line_of, message = ("row", i), f"has {len(attrs) - 1} values for {len(attrs)} "
    elif defect == "value extra":
        rows[i][1].append("1")
        line_of, message = ("row", i), f"has {len(attrs) + 1} values for {len(attrs)} "
    elif defect == "name missing":
        assume(len(attrs) > 1)
        attrs = attrs[:-1]
        line_of = ("row", 0)
    elif defect == "name extra":
        attrs = [*attrs, "Extra_" + "x" * len(attrs[0])]
        line_of = ("row", 0)
    elif defect == "bad value":
        bad = draw(st.sampled_from(BAD_VALUES + (("",) if fmt != "list_attr" else ())))
        column = draw(st.integers(0, len(attrs) - 1))
        rows[i][1][column] = bad
        line_of, message = ("row", i), re.escape(f"{attrs[column]} is {bad!r}")
    elif defect == "file listed twice":
        assume(len(rows) > 1)
        j = draw(st.integers(1, len(rows) - 1))
        rows[j] = (rows[j - 1][0], rows[j][1])
        line_of, message = ("row", j), re.escape(f"lists {rows[j][0]} again")
    elif defect == "file name missing":
        rows[i] = ("", rows[i][1])
        line_of = ("row", i)
    elif defect == "attribute named twice":
        assume(len(attrs) > 1)
        attrs = [*attrs[:-1], attrs[0]]
        line_of = "names" if fmt == "list_attr" else "header"
        message = "attribute"
    elif defect == "header name empty":
        attrs = [*attrs[:-1], ""]
        line_of, message = "header", "should be a header"
    elif defect == "count wrong":
        count = len(rows) + draw(st.sampled_from([-2, -1, 1, 1000]))
        assume(count >= 0)
        line_of, message = "count", f"says {count} images but {len(rows)} are listed"
    elif defect == "header only":
        rows = []
        message = "no image is listed"
    lines, where = render(draw, fmt, attrs, rows, count)
    if defect == "empty":
        lines = [draw(st.sampled_from(["", " ", "\t"])) for _ in range(draw(st.integers(0, 3)))]
        message = "the labels file is empty"
    elif defect in ("BOM inside", "NUL byte", "stray quote"):
        filled = [n for n, line in enumerate(lines) if line.strip()]
        n = draw(st.sampled_from(filled))
        at = draw(st.integers(0, len(lines[n])))
        assume(not (defect == "BOM inside" and n == at == 0))  # the mark a file may start with
        mark = {"BOM inside": "\ufeff", "NUL byte": "\x00", "stray quote": '"'}[defect]
        lines[n] = lines[n][:at] + mark + lines[n][at:]
        line_of = n + 1
    raw = encode(draw, lines)
    path = write(folder, raw)
    line = where[line_of] if isinstance(line_of, (str, tuple)) else line_of
    labels = parse(path, raw, f"{defect} ({fmt})", line, message)
    # A quote may be a legal part of a CSV name; anything else must be refused.
    assert labels is None or defect == "stray quote", defect


@given(data=st.data(), table=tables(), encoding=st.sampled_from(("utf-8", "utf-8-sig")))
@BOUNDED
def test_a_file_cut_short_parses_to_its_first_rows_or_is_refused(folder, data, table,
                                                                  encoding):
    fmt, attrs, rows = table
    lines, where = render(data.draw, fmt, attrs, rows)
    raw = encode(data.draw, lines, encoding)
    end = data.draw(st.integers(0, len(raw)))
    path = write(folder, raw[:end])
    labels = parse(path, raw[:end], f"cut short ({fmt})")
    if labels is not None:  # only whole rows may go, and only from the end
        kept = [(f, tuple(VALUES[v] for v in values)) for f, values in rows]
        got = [(r.filename, r.values) for r in labels.rows]
        assert got == kept[:len(got)]
        assert fmt != "list_attr" or len(got) == len(rows)  # its count line says so


# The characters that matter to the parsers, and some that look alike or end lines in
# other programs.
STRUCTURE = "\n\r\t ,;\"'-0123456789abAB._/\x00\ufeff\x85\u2028\x0c\xa0é²"


@given(data=st.one_of(st.binary(max_size=300),
                      st.text(STRUCTURE, max_size=300).map(lambda t: t.encode("utf-8"))))
@settings(BOUNDED, max_examples=80)
def test_random_bytes_and_text_are_a_table_or_a_user_error(folder, data):
    path = write(folder, data)
    parse(path, data, "random bytes or text")


@given(data=st.data(), table=tables())
@BOUNDED
def test_random_edits_of_a_good_file_are_a_table_or_a_user_error(folder, data, table):
    fmt, attrs, rows = table
    lines, _ = render(data.draw, fmt, attrs, rows)
    text = "\n".join(lines)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        char = data.draw(st.sampled_from(STRUCTURE))
        text = data.draw(st.sampled_from([text[:at] + char + text[at:],  # inserted
                                          text[:at] + text[at + 1:],  # deleted
                                          text[:at] + char + text[at + 1:]]))  # replaced
    raw = text.encode("utf-8")
    path = write(folder, raw)
    parse(path, raw, f"random edits ({fmt})")


@pytest.mark.parametrize("text, line, message", [
    # Found by the properties above; each was a traceback or a silent misreading before.
    ("²\nA\nx.jpg 1\n", 1, None),  # a Unicode digit: int() raised ValueError
    ("image,A\nx.jpg,1\x0c\nz.jpg,2\n", 3, "A is '2'"),  # form feed ended a line: line 4
    ("image,A\n\"a.jpg,1\nb.jpg\",0\nc.jpg,1\n", 2, "not valid CSV"),  # rows merged
    ("image,A\nx.jpg,1," + "x" * 200_000 + "\n", 2, None),  # csv.Error: field limit
    ("a.jpg,1,0\nb.jpg,0,1\n", 1, "a header"),  # no header: the first row became one
    ("image,A\n,1\n", 2, "no image name"),  # an empty name: the image folder itself
    ("image,A\nx\x00.jpg,1\n", 2, "NUL"),  # open() of this name raises ValueError
    ("image,A\n\ufeffx.jpg,1\n", 2, "byte-order mark"),  # a name no file has
])
def test_what_the_properties_found(tmp_path, text, line, message):
    path = str(tmp_path / "labels.csv")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    with pytest.raises(UserError) as raised:
        read_labels_file(path)
    assert re.match(f"{re.escape(path)}: line {line}\\b", str(raised.value)), raised.value
    assert message is None or message in str(raised.value), raised.value


def test_latin1_and_utf16_name_the_encoding(tmp_path):
    path = str(tmp_path / "labels.csv")
    with open(path, "wb") as f:
        f.write("image,A\nphoto.jpg,1\ncafé.jpg,0\n".encode("latin-1"))
    with pytest.raises(UserError, match=re.escape(
            f"{path}: line 3 is not UTF-8 (byte 0xe9 at column 4); save the file as UTF-8")):
        read_labels_file(path)
    with open(path, "wb") as f:
        f.write("image\tA\nphoto.jpg\t1\n".encode("utf-16"))
    with pytest.raises(UserError, match=re.escape(
            f"{path}: the file is UTF-16 text; save it as UTF-8")):
        read_labels_file(path)


# Class folders: trees of sub-folders and files with names as they come, hidden ones,
# other files, empty classes, and names that are not UTF-8.
SEGMENT = st.text("abXY09_- éß中", min_size=1, max_size=6).map(str.strip).filter(bool)
EXTENSIONS = (".jpg", ".JPG", ".jpeg", ".png", ".PNG", ".bmp", ".gif", ".txt", ".webp", "")
NOT_UTF8 = b"\xff\xfe"


def sometimes(draw, text: str, one_in: int) -> str:
    return text if draw(st.integers(1, one_in)) == 1 else ""


@st.composite
def class_trees(draw):
    """[(path parts below the root, is a folder)]: files as (folders..., file name)."""
    entries = []
    few = draw(st.integers(0, 5)) == 0  # mostly two classes or more, with images
    for class_name in draw(st.lists(SEGMENT, min_size=0 if few else 2, max_size=4,
                                    unique=True)):
        top = sometimes(draw, ".", 5) + class_name
        entries.append(((top,), True))
        for _ in range(draw(st.integers(0 if few else 1, 4))):
            depth = [sometimes(draw, ".", 5) + draw(SEGMENT)
                     for _ in range(draw(st.integers(0, 2)))]
            stem = sometimes(draw, ".", 5) + draw(SEGMENT)
            extension = draw(st.sampled_from(EXTENSIONS[:7] if draw(st.booleans())
                                             else EXTENSIONS))
            entries.append(((top, *depth, stem + extension), False))
    if draw(st.booleans()):
        entries.append(((draw(SEGMENT) + ".jpg",), False))  # a photo beside the classes
    if draw(st.integers(0, 5)) == 0:  # a name that is not UTF-8, as some systems write
        where = draw(st.sampled_from([e for e, is_dir in entries if is_dir] or [()]))
        entries.append(((*where, NOT_UTF8.decode("utf-8", "surrogateescape")
                         + draw(st.sampled_from(EXTENSIONS))), draw(st.booleans())))
    return entries


def is_utf8(name: str) -> bool:
    """Whether a name read from the file system was valid UTF-8 there (Python maps the
    bytes of one that was not to lone surrogates, which no UTF-8 text can hold)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def images_below(folder: str) -> list[str]:
    """A folder's images, then its sub-folders' in turn, each level sorted by name."""
    entries = sorted(os.scandir(folder), key=lambda e: e.name)
    found = [e.path for e in entries if e.is_file() and not e.name.startswith(".")
             and e.name.lower().endswith((".jpg", ".jpeg", ".png", ".bmp", ".gif"))]
    for e in entries:
        if e.is_dir() and not e.name.startswith("."):
            found += images_below(e.path)
    return found


def expected_images(root: str) -> tuple[tuple[str, ...], list[tuple[str, int]]] | str:
    """What the docs promise for ``root``: class names and images, or "error"."""
    classes = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    if len(classes) < 2 or not all(map(is_utf8, classes)):
        return "error"
    images = []
    for index, name in enumerate(classes):
        found = images_below(os.path.join(root, name))
        if not found or not all(map(is_utf8, found)):
            return "error"
        images += [(p, index) for p in found]
    return tuple(classes), images


@given(tree=class_trees())
@settings(BOUNDED, max_examples=100)
def test_class_folders_give_every_image_or_a_user_error(folder, tree):
    root = os.path.join(folder, "classes")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    for parts, is_dir in tree:
        path = os.path.join(root, *parts)
        try:
            if is_dir:
                os.makedirs(path, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                open(path, "wb").close()
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            pass  # a file and a folder drawn with one name: the first one stays
    expected = expected_images(root)
    kind = "class folders" + (", a name not UTF-8" if any(
        NOT_UTF8.decode("utf-8", "surrogateescape")[0] in "/".join(p) for p, _ in tree) else "")
    try:
        got = class_folder_images(root)
    except UserError as error:
        event(f"{kind}: UserError")
        str(error).encode("utf-8")  # printable
        assert root in str(error)
        assert expected == "error", (error, expected)
        return
    event(f"{kind}: parsed")
    assert (got[0], got[1]) == expected
    assert all(is_utf8(path) for path, _ in got[1])  # TensorFlow strings, run.json text
