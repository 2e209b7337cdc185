import array
import sys

import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import Image

from lead.io.image import image_to_numpy, numpy_to_image
from lead.io.stamps import make_header

CASES = [("rgb8", np.uint8, 3), ("bgr8", np.uint8, 3), ("bgra8", np.uint8, 4), ("mono8", np.uint8, 1),
         ("16UC1", np.uint16, 1), ("32FC1", np.float32, 1)]


def _pixels(dtype, channels, h=6, w=5, seed=0):
    rng = np.random.default_rng(seed)
    shape = (h, w) if channels == 1 else (h, w, channels)
    if np.dtype(dtype).kind == "f":
        return rng.normal(size=shape).astype(dtype)
    return rng.integers(0, np.iinfo(dtype).max, size=shape, dtype=dtype)


@pytest.mark.parametrize("encoding,dtype,channels", CASES)
def test_round_trip_through_cdr(encoding, dtype, channels):
    px = _pixels(dtype, channels)
    msg = numpy_to_image(px, encoding, make_header(5, "cam"))
    assert (msg.height, msg.width, msg.encoding) == (6, 5, encoding)
    assert msg.step == 5 * channels * np.dtype(dtype).itemsize
    assert msg.is_bigendian == (sys.byteorder == "big")
    back = image_to_numpy(deserialize_message(serialize_message(msg), Image))
    assert back.dtype == dtype and back.shape == px.shape
    assert np.array_equal(back, px)


def test_reading_is_zero_copy_and_copy_detaches():
    msg = numpy_to_image(_pixels(np.uint8, 4), "bgra8")
    view = image_to_numpy(msg)
    raw = np.frombuffer(msg.data, np.uint8)
    assert np.shares_memory(view, raw)
    own = image_to_numpy(msg, copy=True)
    assert not np.shares_memory(own, raw) and np.array_equal(own, view)


def test_one_channel_accepts_trailing_axis():
    px = _pixels(np.float32, 1)
    assert np.array_equal(image_to_numpy(numpy_to_image(px[..., None], "32FC1")), px)


def _padded(px: np.ndarray, encoding: str, pad: int) -> Image:
    """Image whose rows carry `pad` junk bytes after the pixels."""
    h, w = px.shape[:2]
    rows = px.reshape(h, -1).view(np.uint8)
    data = np.full((h, rows.shape[1] + pad), 0xAB, np.uint8)
    data[:, : rows.shape[1]] = rows
    msg = Image(height=h, width=w, encoding=encoding, step=data.shape[1],
                is_bigendian=int(sys.byteorder == "big"))
    msg.data = array.array("B", data.tobytes())
    return msg


@pytest.mark.parametrize("encoding,dtype,channels,pad", [("rgb8", np.uint8, 3, 7), ("32FC1", np.float32, 1, 8),
                                                          ("32FC1", np.float32, 1, 2), ("16UC1", np.uint16, 1, 3)])
def test_row_padding_is_skipped(encoding, dtype, channels, pad):
    px = _pixels(dtype, channels, h=4, w=7)
    out = image_to_numpy(_padded(px, encoding, pad))
    assert out.shape == px.shape and np.array_equal(out, px)


@pytest.mark.parametrize("encoding,dtype", [("16UC1", np.uint16), ("32FC1", np.float32)])
def test_foreign_byte_order_is_swapped(encoding, dtype):
    px = _pixels(dtype, 1)
    foreign = px.astype(np.dtype(dtype).newbyteorder())
    msg = Image(height=6, width=5, encoding=encoding, step=5 * px.itemsize,
                is_bigendian=int(sys.byteorder == "little"))
    msg.data = array.array("B", foreign.tobytes())
    out = image_to_numpy(msg)
    assert out.dtype.isnative and np.array_equal(out, px)


def test_mono8_ignores_the_endianness_flag():
    px = _pixels(np.uint8, 1)
    msg = numpy_to_image(px, "mono8")
    msg.is_bigendian = int(not msg.is_bigendian)
    assert np.array_equal(image_to_numpy(msg), px)


def test_unsupported_encoding_is_named():
    msg = Image(height=2, width=2, encoding="bayer_rggb8", step=2)
    msg.data = array.array("B", bytes(4))
    with pytest.raises(ValueError, match="unsupported image encoding 'bayer_rggb8'"):
        image_to_numpy(msg)
    with pytest.raises(ValueError, match="unsupported image encoding 'yuv422'"):
        numpy_to_image(np.zeros((2, 2, 2), np.uint8), "yuv422")


def test_bad_arrays_and_messages_are_refused():
    with pytest.raises(ValueError, match="needs uint8 pixels, got float32"):
        numpy_to_image(np.zeros((4, 4, 3), np.float32), "rgb8")
    with pytest.raises(ValueError, match=r"shape \(H, W, 4\)"):
        numpy_to_image(np.zeros((4, 4, 3), np.uint8), "bgra8")
    msg = numpy_to_image(np.zeros((4, 4, 3), np.uint8), "rgb8")
    msg.data = msg.data[:-1]
    with pytest.raises(ValueError, match="data has 47 bytes"):
        image_to_numpy(msg)
    msg = numpy_to_image(np.zeros((4, 4, 3), np.uint8), "rgb8")
    msg.step = 11
    with pytest.raises(ValueError, match="step 11 is less than one row"):
        image_to_numpy(msg)


def test_non_contiguous_input_is_copied_in_order():
    px = _pixels(np.uint8, 3, h=8, w=10)[::2, ::-1]
    assert np.array_equal(image_to_numpy(numpy_to_image(px, "rgb8")), px)
