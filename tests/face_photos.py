"""Real photographs for the face tests, from scikit-image's samples (shipped in its wheel).

No package here ships a group photo, so ``group`` puts three real faces side by side: the
astronaut (Eileen Collins, frontal), the cameraman (turned away, looking into a camera),
and the astronaut again, smaller and tilted by 20 degrees.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from skimage import data


def astronaut() -> np.ndarray:
    return data.astronaut()  # uint8 [512, 512, 3]


def cameraman() -> np.ndarray:
    return np.repeat(data.camera()[..., None], 3, axis=2)  # [512, 512, 3]


def coffee() -> np.ndarray:
    """A cup of coffee on a table: a photo without a face."""
    return data.coffee()  # [400, 600, 3]


def tilted(angle: float = 20.0, scale: float = 0.6) -> np.ndarray:
    """The astronaut scaled and turned by ``angle`` degrees, on a 512 x 512 grey canvas."""
    side = round(512 * scale)
    image = Image.fromarray(astronaut()).resize((side, side), Image.LANCZOS)
    image = image.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=(128, 128, 128))
    canvas = Image.new("RGB", (512, 512), (128, 128, 128))
    canvas.paste(image, ((512 - image.width) // 2, (512 - image.height) // 2))
    return np.asarray(canvas)


def group() -> np.ndarray:
    """uint8 [512, 1536, 3]: astronaut | cameraman | tilted astronaut."""
    return np.concatenate([astronaut(), cameraman(), tilted()], axis=1)


def inside_square(matrix: np.ndarray, size: int, height: int, width: int) -> np.ndarray:
    """bool [H, W]: the photo pixels whose centres ``matrix`` (photo -> face) maps into
    the face's S x S square, by the square's corners and edge normals (not by the code
    under test)."""
    corners = np.linalg.inv(matrix) @ np.array([[-0.5, size - 0.5, size - 0.5, -0.5],
                                                [-0.5, -0.5, size - 0.5, size - 0.5],
                                                [1.0, 1.0, 1.0, 1.0]])
    rows, columns = np.mgrid[0:height, 0:width]
    inside = np.ones((height, width), bool)
    for i in range(4):
        (x0, y0), (x1, y1) = corners[:2, i], corners[:2, (i + 1) % 4]
        cross = (x1 - x0) * (rows - y0) - (y1 - y0) * (columns - x0)
        inside &= cross >= 0 if np.linalg.det(matrix[:2, :2]) > 0 else cross <= 0
    return inside
