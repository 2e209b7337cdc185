"""numpy arrays <-> lead_msgs/TensorBundle (named row-major tensors of one frame).

Writing copies each array once into the message; reading returns views on the message's
buffer (read-only; copy before writing into them)."""
from __future__ import annotations

import array
import sys

import numpy as np

_DTYPES = {"float32", "float16", "float64", "uint8", "int8", "int16", "uint16", "int32", "uint32", "int64",
           "bool"}
_LITTLE = sys.byteorder == "little"


def to_bundle(tensors: dict[str, np.ndarray], stamp_ns: int = 0, frame_id: str = ""):
    """TensorBundle holding `tensors` (little-endian, C order), header stamped `stamp_ns`."""
    from lead_msgs.msg import Tensor, TensorBundle

    from lead.io.stamps import make_header

    out = []
    for name, arr in tensors.items():
        arr = np.asarray(arr)
        if arr.dtype.name not in _DTYPES:
            raise TypeError(f"tensor '{name}': unsupported dtype {arr.dtype} (supported: {', '.join(sorted(_DTYPES))})")
        arr = np.asarray(arr, dtype=arr.dtype.newbyteorder("<"), order="C")  # keeps 0-d (ascontiguousarray does not)
        data = array.array("B")
        data.frombytes(arr.reshape(-1).view(np.uint8).data)  # one copy (reshape of a C array is a view)
        out.append(Tensor(name=name, dtype=arr.dtype.name, shape=[int(s) for s in arr.shape], data=data))
    return TensorBundle(header=make_header(stamp_ns, frame_id), tensors=out)


def from_bundle(msg) -> dict[str, np.ndarray]:
    """name -> array of a TensorBundle; ValueError names a tensor whose bytes do not fit its shape."""
    out = {}
    for t in msg.tensors:
        if t.dtype not in _DTYPES:
            raise ValueError(f"tensor '{t.name}': unsupported dtype {t.dtype!r}")
        dtype = np.dtype(t.dtype).newbyteorder("<")
        shape = tuple(int(s) for s in t.shape)
        n = int(np.prod(shape)) if shape else 1
        if len(t.data) != n * dtype.itemsize:
            raise ValueError(f"tensor '{t.name}': {len(t.data)} bytes for shape {shape} of {t.dtype} "
                             f"(needs {n * dtype.itemsize})")
        a = np.frombuffer(memoryview(t.data), dtype=dtype, count=n).reshape(shape)
        out[t.name] = a if _LITTLE else a.astype(dtype.newbyteorder("="))
    return out
