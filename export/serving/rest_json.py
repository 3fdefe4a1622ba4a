"""TF Serving's REST JSON encoding of tensors (the "JSON mapping" of its RESTful API).

Numbers and strings are plain JSON; binary strings are ``{"b64": "..."}``. A response
encodes an output that way when its name ends in ``_bytes``. Shared by the client
(requests out, responses in) and the local stand-in server (requests in, responses out).
"""

from __future__ import annotations

import base64

import numpy as np


def is_binary_name(name: str) -> bool:
    return name.endswith("_bytes")


def encode(array: np.ndarray, binary: bool):
    """A tensor as nested JSON lists; strings as base64 objects if ``binary``, else text."""
    array = np.asarray(array)
    if array.dtype.kind in "OSU":
        def convert(value):
            data = value.encode() if isinstance(value, str) else bytes(value)
            return {"b64": base64.b64encode(data).decode("ascii")} if binary else data.decode()
        if not array.ndim:
            return convert(array.item())
        return np.vectorize(convert, otypes=[object])(array).tolist()
    return array.tolist()


def decode(value, dtype: np.dtype | None) -> np.ndarray:
    """Nested JSON lists (with ``{"b64": ...}`` for binary strings) -> an array of ``dtype``
    (object, holding bytes, for strings; None: as the values come)."""
    def convert(item):
        if isinstance(item, dict):
            if set(item) != {"b64"}:
                raise ValueError(f"expected a {{\"b64\": ...}} object for binary data, got "
                                 f"keys {sorted(item)}")
            return base64.b64decode(item["b64"])
        if isinstance(item, list):
            return [convert(i) for i in item]
        return item.encode() if isinstance(item, str) else item

    converted = convert(value)
    if dtype is None:
        dtype = object if isinstance(_first(converted), bytes) else None
    if dtype is not None and np.dtype(dtype).kind in "OSU":
        return np.array(converted, dtype=object)
    return np.asarray(converted, dtype=dtype)


def _first(value):
    while isinstance(value, list) and value:
        value = value[0]
    return value
