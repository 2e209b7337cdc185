"""Bags cut short: every complete message before the cut comes back, with one warning.

What "complete" means is worked out independently of lead.io: message positions come
from the mcap library's reading of the whole file (and its chunk index), not from our
scanner."""
import logging
import os
import signal

import numpy as np
import pytest
from carla_msgs.msg import CarlaEgoVehicleControl
from mcap.reader import make_reader
from rclpy.serialization import deserialize_message, serialize_message

from lead.io.bag import BagReader, BagWriter
from lead.io.image import image_to_numpy, numpy_to_image
from lead.io.stamps import make_header

from .dds_peer import STEP_NS, expected_control, expected_image

MS = 1_000_000


def wire(msg):
    return deserialize_message(serialize_message(msg), type(msg))


def write_bag(path, compression: str, steps: int = 60, chunk_size: int = 48 * 1024) -> None:
    with BagWriter(path, compression=compression, chunk_size=chunk_size, metadata={"lead": {"seed": "1"}}) as w:
        for k in range(steps):
            w.write("/camera", numpy_to_image(expected_image(k), "rgb8", make_header(k * STEP_NS)), k * STEP_NS)
            w.write("/control", expected_control(k), k * STEP_NS + MS)  # distinct times: chunk ranges are exact


def full_contents(path):
    """[(log_time, data bytes)] and the chunk index, as the mcap library reads the intact file."""
    with open(path, "rb") as f:
        reader = make_reader(f)
        msgs = [(m.log_time, bytes(m.data)) for _, _, m in reader.iter_messages(log_time_order=False)]
        chunks = sorted(reader.get_summary().chunk_indexes, key=lambda c: c.chunk_start_offset)
    return msgs, chunks


def read_cut(src, dst, cut: int):
    dst.write_bytes(src.read_bytes()[:cut])
    return [(t, bytes(m)) for _, m, t in BagReader(dst).messages(raw=True)]


def test_cut_uncompressed_bag_gives_exactly_the_messages_before_the_cut(tmp_path):
    src = tmp_path / "full.mcap"
    write_bag(src, "none")
    msgs, _ = full_contents(src)
    blob = src.read_bytes()
    ends = []  # where each message's payload ends in the file (payloads are unique)
    for _, data in msgs:
        pos = blob.find(data)
        assert pos > 0 and blob.find(data, pos + 1) == -1
        ends.append(pos + len(data))
    cuts = sorted({3, 8, 20, *range(100, len(blob), 4099), *(e - 1 for e in ends[::7]), *ends[::9]})
    for cut in cuts:
        got = read_cut(src, tmp_path / "cut.mcap", cut)
        n = sum(e <= cut for e in ends)
        assert got == msgs[:n], f"cut at byte {cut}"


def test_cut_zstd_bag_gives_complete_chunks_and_what_the_cut_chunk_decodes_to(tmp_path):
    src = tmp_path / "full.mcap"
    write_bag(src, "zstd", steps=100, chunk_size=300 * 1024)  # chunks span several zstd blocks
    msgs, chunks = full_contents(src)
    assert len(chunks) >= 3
    size = src.stat().st_size
    salvaged = 0
    for cut in range(50, size, 9973):
        got = read_cut(src, tmp_path / "cut.mcap", cut)
        done = [c for c in chunks if c.chunk_start_offset + c.chunk_length <= cut]
        begun = [c for c in chunks if c.chunk_start_offset < cut]
        lower = sum(t <= done[-1].message_end_time for t, _ in msgs) if done else 0
        upper = sum(t <= begun[-1].message_end_time for t, _ in msgs) if begun else 0
        assert lower <= len(got) <= upper, f"cut at byte {cut}"
        assert got == msgs[: len(got)], f"cut at byte {cut}"
        salvaged += len(got) - lower
    assert salvaged > 0  # some messages came out of chunks that were cut


def test_one_warning_naming_the_file_and_a_usable_summary(tmp_path, caplog):
    src = tmp_path / "full.mcap"
    write_bag(src, "zstd")
    cut = tmp_path / "run_cut.mcap"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size * 2 // 3])
    reader = BagReader(cut)
    assert reader.truncated
    with caplog.at_level(logging.WARNING, "lead.io.bag"):
        got = list(reader)
        summary = reader.summary()
        list(reader)
    warnings = [r for r in caplog.records if r.name == "lead.io.bag"]
    assert len(warnings) == 1
    assert str(cut) in warnings[0].getMessage() and "truncated" in warnings[0].getMessage()
    assert f"{len(got)} messages before the cut" in warnings[0].getMessage()
    assert summary.truncated and summary.message_count == len(got) > 0
    assert summary.topics["/camera"].count + summary.topics["/control"].count == len(got)
    assert reader.metadata() == {"lead": {"seed": "1"}}
    for topic, msg, t in got:
        k = t // STEP_NS
        if topic == "/camera":
            assert np.array_equal(image_to_numpy(msg), expected_image(k))
        else:
            assert isinstance(msg, CarlaEgoVehicleControl) and msg == wire(expected_control(k))


def test_cut_inside_the_footer_keeps_every_message(tmp_path, caplog):
    src = tmp_path / "full.mcap"
    write_bag(src, "zstd", steps=10)
    cut = tmp_path / "no_footer.mcap"
    cut.write_bytes(src.read_bytes()[:-5])
    with caplog.at_level(logging.WARNING, "lead.io.bag"):
        assert len(list(BagReader(cut))) == 20
    assert "data section is complete: all 20 messages" in caplog.text


def test_writer_killed_with_sigkill(peer, tmp_path, caplog):
    path = tmp_path / "killed.mcap"
    writer = peer("bag", str(path))
    writer.wait_for("ready")
    flushed = 0
    while flushed < 40:
        flushed = int(writer.wait_for("flushed").split()[1])
    os.kill(writer.proc.pid, signal.SIGKILL)
    assert writer.proc.wait(10) == -signal.SIGKILL
    reader = BagReader(path)
    assert reader.truncated
    with caplog.at_level(logging.WARNING, "lead.io.bag"):
        got = list(reader)
    assert str(path) in caplog.text
    steps = len(got) // 2
    assert steps >= flushed  # everything flushed before the kill is there
    for k in range(steps):
        (cam_topic, cam, t_cam), (ctl_topic, ctl, t_ctl) = got[2 * k], got[2 * k + 1]
        assert (cam_topic, ctl_topic) == ("/camera", "/control") and t_cam == t_ctl == k * STEP_NS
        assert np.array_equal(image_to_numpy(cam), expected_image(k))
        assert ctl == wire(expected_control(k))
    assert reader.metadata() == {"lead": {"run": "killed-writer"}}


@pytest.mark.parametrize("cut", [0, 5])
def test_cut_inside_the_magic_is_an_empty_bag(tmp_path, cut):
    src = tmp_path / "full.mcap"
    write_bag(src, "none", steps=2)
    assert read_cut(src, tmp_path / "cut.mcap", cut) == []
