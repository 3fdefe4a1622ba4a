"""Small image datasets in the exact real on-disk formats, written by the tests."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

CELEBA_NAMES = ("5_o_Clock_Shadow", "Black_Hair", "Blond_Hair", "Brown_Hair", "Eyeglasses",
                "Gray_Hair", "Male", "Smiling", "Young")


def solid(value: int, height: int = 24, width: int = 20) -> np.ndarray:
    """An image whose pixels all equal ``value``: which file an example came from shows."""
    return np.full((height, width, 3), value, np.uint8)


def write_image(path: str, pixels: np.ndarray, **save_args) -> str:
    """Write ``pixels`` in the format the extension names (JPEG quality 95 by default)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if path.lower().endswith((".jpg", ".jpeg")):
        save_args.setdefault("quality", 95)
    Image.fromarray(pixels).save(path, **save_args)
    return path


def celeba_values(count: int) -> np.ndarray:
    """A fixed pattern of 1/-1 attribute values [count, len(CELEBA_NAMES)]."""
    rng = np.random.default_rng(0)
    return np.where(rng.random((count, len(CELEBA_NAMES))) < 0.5, 1, -1)


def write_list_attr(path: str, names: list[str], values: np.ndarray) -> str:
    """list_attr_celeba.txt: count, attribute names, then ``000001.jpg -1  1 ...``."""
    lines = [str(len(values)), " ".join(CELEBA_NAMES)]
    lines += [f"{name} " + " ".join(f"{v:2d}" for v in row) for name, row in zip(names, values)]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def write_celeba(root: str, count: int, size: tuple[int, int] = (24, 20),
                 extension: str = ".png") -> tuple[str, str, np.ndarray]:
    """img_align_celeba/ (image i solid with value i) and list_attr_celeba.txt.

    Returns the image folder, the labels path and the 1/-1 values [count, names].
    """
    image_dir = os.path.join(root, "img_align_celeba")
    names = [f"{i + 1:06d}{extension}" for i in range(count)]
    for i, name in enumerate(names):
        write_image(os.path.join(image_dir, name), solid(i % 256, *size))
    values = celeba_values(count)
    attr_path = write_list_attr(os.path.join(root, "list_attr_celeba.txt"), names, values)
    return image_dir, attr_path, values


def write_class_folders(root: str, counts: dict[str, int], size: tuple[int, int] = (24, 20),
                        first_value: int = 0) -> str:
    """One sub-folder per class; image j of class c is solid with a value unique to it."""
    value = first_value
    for name, count in counts.items():
        for j in range(count):
            write_image(os.path.join(root, name, f"{name}_{j:03d}.jpg"), solid(value % 256, *size))
            value += 1
    return root
