import numpy as np
import pytest

from stargan_keras.data.label_files import label_matrix, read_labels_file


def test_list_attr_format(tmp_path):
    path = tmp_path / "list_attr_celeba.txt"
    # As CelebA ships it: aligned columns with double spaces, a trailing newline.
    path.write_text("3\n5_o_Clock_Shadow Male Young \n"
                    "000001.jpg -1  1  1\n000002.jpg  1 -1  1\n000003.jpg -1 -1 -1\n")
    labels = read_labels_file(str(path))
    assert labels.names == ("5_o_Clock_Shadow", "Male", "Young")
    assert [r.filename for r in labels.rows] == ["000001.jpg", "000002.jpg", "000003.jpg"]
    assert [r.line for r in labels.rows] == [3, 4, 5]
    np.testing.assert_array_equal(label_matrix(labels.rows, [2, 0]),
                                  [[1, 0], [1, 1], [0, 0]])


@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_csv_and_tsv_with_header(tmp_path, delimiter):
    path = tmp_path / "labels.txt"
    rows = [["image", "Smiling", "Glasses"], ["a.jpg", "1", "0"], ["sub/b c.png", "-1", "1"]]
    path.write_text("\n".join(delimiter.join(r) for r in rows) + "\n")
    labels = read_labels_file(str(path))
    assert labels.names == ("Smiling", "Glasses")
    assert [r.filename for r in labels.rows] == ["a.jpg", "sub/b c.png"]
    np.testing.assert_array_equal(label_matrix(labels.rows, [0, 1]), [[1, 0], [0, 1]])


@pytest.mark.parametrize("text, message", [
    ("", "the labels file is empty"),
    ("3\nA B\nx.jpg 1 1\ny.jpg 1 -1\n", "line 1 says 3 images but 2 are listed"),
    ("1\nA B\nx.jpg 1\n", "line 3 has 1 values for 2 attributes"),
    ("1\nA B\nx.jpg 1 1 1\n", "line 3 has 3 values for 2 attributes"),
    ("1\nA B\nx.jpg 1 0.5\n", "line 3: B is '0.5'; expected 1, 0 or -1"),
    ("image,A\nx.jpg,1\n\ny.jpg,-2\n", "line 4: A is '-2'"),
    ("image,A\nx.jpg,1\nx.jpg,0\n", "line 3 lists x.jpg again \\(first on line 2\\)"),
    ("image,A,A\nx.jpg,1,1\n", "an attribute is named twice"),
    ("image,,B\nx.jpg,1,1\n", "line 1 should be a header"),
    ("image,A\n", "no image is listed"),
])
def test_problems_name_the_file_and_line(tmp_path, text, message):
    path = tmp_path / "labels.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=f"{path}: {message}"):
        read_labels_file(str(path))
