"""MP4 writing. H.264 through PyAV's libx264 (what browsers play: the web app needs it);
OpenCV's 'mp4v' (MPEG-4 part 2) when PyAV or libx264 is missing. OpenCV's own 'avc1' does
not work with the opencv-python-headless wheel here (its FFmpeg has no software H.264
encoder; it tries h264_v4l2m2m and fails), so it is not tried.

A sidecar `<video>.json` says when the first frame is (sim seconds) and the frame rate, so
a viewer can seek to an infraction's game time.
"""
from __future__ import annotations

import json
import logging
import os
from fractions import Fraction
from pathlib import Path

import numpy as np

log = logging.getLogger("lead.viz")


def h264_available() -> bool:
    try:
        import av

        av.codec.Codec("libx264", "w")
        return True
    except Exception:  # noqa: BLE001 - no PyAV, or a build without libx264
        return False


class VideoWriter:
    """Write BGR uint8 frames of one size to an MP4. `codec`: 'h264', 'mp4v' or 'auto'."""

    def __init__(self, path: str | os.PathLike, size: tuple[int, int], fps: float = 20.0, codec: str = "auto",
                 crf: int = 23, start_s: float = 0.0, meta: dict | None = None) -> None:
        self.path = Path(path)
        self.size = (int(size[0]), int(size[1]))
        if self.size[0] % 2 or self.size[1] % 2:
            raise ValueError(f"{self.path}: frame size {self.size} must be even in both dimensions")
        self.fps = float(fps)
        self.frames = 0
        self.start_s = float(start_s)
        self.meta = dict(meta or {})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if codec == "auto":
            codec = "h264" if h264_available() else "mp4v"
        if codec not in ("h264", "mp4v"):
            raise ValueError(f"unknown codec {codec!r}: use h264, mp4v or auto")
        self.codec = codec
        if codec == "h264":
            import av

            self._container = av.open(str(self.path), mode="w")
            rate = Fraction(self.fps).limit_denominator(1000)
            self._stream = self._container.add_stream("libx264", rate=rate)
            self._stream.width, self._stream.height = self.size
            self._stream.pix_fmt = "yuv420p"
            self._stream.options = {"crf": str(crf), "preset": "veryfast"}
            self._cv = None
        else:
            import cv2

            self._cv = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, self.size)
            if not self._cv.isOpened():
                raise RuntimeError(f"{self.path}: OpenCV cannot open an mp4v writer")

    def write(self, bgr: np.ndarray) -> None:
        if bgr.shape[:2] != (self.size[1], self.size[0]) or bgr.dtype != np.uint8:
            raise ValueError(f"{self.path}: frame {bgr.shape} {bgr.dtype} is not {self.size[1]}x{self.size[0]}x3 uint8")
        if self._cv is not None:
            self._cv.write(bgr)
        else:
            import av

            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(bgr), format="bgr24")
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        if self._cv is not None:
            self._cv.release()
            self._cv = None
        elif getattr(self, "_container", None) is not None:
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
            self._container = None
        sidecar = {"video": self.path.name, "fps": self.fps, "frames": self.frames, "start_s": self.start_s,
                   "width": self.size[0], "height": self.size[1], "codec": self.codec, **self.meta}
        sidecar_path(self.path).write_text(json.dumps(sidecar, indent=2))

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def sidecar_path(video: str | os.PathLike) -> Path:
    p = Path(video)
    return p.with_suffix(".json")


def read_frames(path: str | os.PathLike) -> list[np.ndarray]:
    """Every frame of a video as BGR arrays (tests and checks)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    out = []
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            out.append(frame)
    finally:
        cap.release()
    return out
