"""lead.io benchmark: image hop latency between two processes over DDS, and MCAP bag
write / read speed beside a plain-file copy of the same bytes.

  .venv/bin/python bench/io_bench.py [--messages 300] [--bag-images 60] [--no-comparisons]

Hop latency: a publisher process stamps each image with the wall clock just before
publish(), a subscriber process subtracts the stamp from the wall clock in its
callback (serialize + DDS + deserialize + executor). Cameras at 20 Hz: one 1024x512
bgra8, and three 384x384 rgb8 (per image, and per tick until the third arrives). Run with
lead's transport (lead.io.dds: shared memory, 4 MB messages) and ROS's default discovery
range; for comparison also with Fast DDS's default transports, with LARGE_DATA (lead's
transport until stop 16), and with ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, under which
LARGE_DATA (and lead's transport) measures no faster than the
default. Domain: $LEAD_BENCH_DOMAIN (139).

MCAP: 1024x512 bgra8 camera-like images through BagWriter / BagReader, and the same
serialized payload bytes written to / read from a plain file. MB/s counts payload bytes
(1 MB = 1e6 bytes). No fsync on either side; reads come from the page cache on both.
The last stdout line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
TICK_S = 0.05
WARMUP = 20
CONFIGS = {  # name -> [(height, width, encoding)] published each tick
    "bgra8_1024x512": [(512, 1024, "bgra8")],
    "rgb8_3x384x384": [(384, 384, "rgb8")] * 3,
}


def camera_like(h: int, w: int, channels: int, seed: int) -> np.ndarray:
    """Smooth sky / road gradients, a few flat boxes and sensor noise: compresses about
    as well as a rendered driving image, unlike pure noise or zeros."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0.0, 1.0, h)[:, None, None]
    x = np.linspace(0.0, 1.0, w)[None, :, None]
    img = np.where(y < 0.45, 180 + 60 * y + 10 * x, 70 + 40 * (y - 0.45) + 5 * x) * np.ones((1, 1, channels))
    for _ in range(12):
        y0, x0 = rng.integers(0, h - 40), rng.integers(0, w - 60)
        img[y0:y0 + rng.integers(10, 40), x0:x0 + rng.integers(10, 60)] = rng.integers(0, 255, channels)
    img += rng.normal(0.0, 2.0, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _topics(config: str) -> list[str]:
    return [f"/bench/cam{i}/image" for i in range(len(CONFIGS[config]))]


# --- the two processes -------------------------------------------------------------------
def run_pub(config: str, count: int) -> None:
    import rclpy
    from sensor_msgs.msg import Image

    from lead.io.image import numpy_to_image
    from lead.io.qos import SENSOR

    rclpy.init()
    node = rclpy.create_node("io_bench_pub")
    cams = CONFIGS[config]
    pubs = [node.create_publisher(Image, t, SENSOR) for t in _topics(config)]
    msgs = [numpy_to_image(camera_like(h, w, 4 if enc == "bgra8" else 3, i), enc) for i, (h, w, enc) in enumerate(cams)]
    end = time.monotonic() + 30
    while any(p.get_subscription_count() == 0 for p in pubs):
        if time.monotonic() > end:
            sys.exit("io_bench publisher: no subscriber within 30 s")
        rclpy.spin_once(node, timeout_sec=0.05)
    time.sleep(1.0)  # let the reliable readers finish matching
    next_t = time.monotonic()
    for tick in range(count):
        for pub, msg in zip(pubs, msgs):
            msg.header.frame_id = str(tick)
            ns = time.time_ns()
            msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(ns, 1_000_000_000)
            pub.publish(msg)
        next_t += TICK_S
        time.sleep(max(0.0, next_t - time.monotonic()))
    time.sleep(1.0)
    node.destroy_node()
    rclpy.shutdown()


def run_sub(config: str, count: int) -> None:
    import rclpy
    from sensor_msgs.msg import Image

    from lead.io.qos import SENSOR

    rclpy.init()
    node = rclpy.create_node("io_bench_sub")
    topics = _topics(config)
    arrivals: dict[int, list[tuple[int, int]]] = {}  # tick -> [(stamp, arrival)]

    def on_image(msg: Image) -> None:
        now = time.time_ns()
        arrivals.setdefault(int(msg.header.frame_id), []).append(
            (msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec, now))

    for t in topics:
        node.create_subscription(Image, t, on_image, SENSOR)
    print("ready", flush=True)
    end = time.monotonic() + count * TICK_S + 60
    while time.monotonic() < end and len(arrivals.get(count - 1, [])) < len(topics):
        rclpy.spin_once(node, timeout_sec=0.1)
    hops, ticks, lost = [], [], 0
    for tick in range(WARMUP, count):
        got = arrivals.get(tick, [])
        lost += len(topics) - len(got)
        hops += [(a - s) / 1e6 for s, a in got]
        if len(got) == len(topics):
            ticks.append((max(a for _, a in got) - min(s for s, _ in got)) / 1e6)
    print(json.dumps({"hop_ms": hops, "tick_ms": ticks, "lost": lost}), flush=True)
    node.destroy_node()
    rclpy.shutdown()


def hop_latency(config: str, count: int, transport: str | None, discovery: str) -> dict:
    env = dict(os.environ, PYTHONUNBUFFERED="1", ROS_AUTOMATIC_DISCOVERY_RANGE=discovery,
               ROS_DOMAIN_ID=os.environ.get("LEAD_BENCH_DOMAIN", "139"))
    env.pop("FASTDDS_BUILTIN_TRANSPORTS", None)
    if transport:
        env["FASTDDS_BUILTIN_TRANSPORTS"] = transport
    args = ["--config", config, "--messages", str(count)]
    sub = subprocess.Popen([sys.executable, str(HERE), "--role", "sub", *args], stdout=subprocess.PIPE,
                           text=True, env=env)
    pub = None
    try:
        if sub.stdout.readline().strip() != "ready":
            raise RuntimeError("io_bench subscriber did not start")
        pub = subprocess.Popen([sys.executable, str(HERE), "--role", "pub", *args], env=env)
        if pub.wait(count * TICK_S + 90) != 0:
            raise RuntimeError(f"io_bench publisher failed with exit code {pub.returncode}")
        out = sub.communicate(timeout=90)[0]
    finally:
        for p in (sub, pub):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    data = json.loads(out.strip().splitlines()[-1])
    res = {"transport": transport or "default", "discovery_range": discovery,
           "messages": len(data["hop_ms"]), "lost": data["lost"]}
    for key in ("hop_ms", "tick_ms"):
        if data[key] and (key == "hop_ms" or len(CONFIGS[config]) > 1):
            v = np.array(data[key])
            res[key.replace("_ms", "")] = {"p50_ms": round(float(np.percentile(v, 50)), 3),
                                           "p95_ms": round(float(np.percentile(v, 95)), 3),
                                           "max_ms": round(float(v.max()), 3)}
    return res


# --- MCAP vs plain file ------------------------------------------------------------------
def _best(fn, repeats: int = 2) -> float:
    """Shortest of a few runs, in seconds (page-cache writeback makes single runs noisy)."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _mbps(nbytes: int, seconds: float) -> float:
    return round(nbytes / seconds / 1e6, 1)


def mcap_speed(n_images: int, compression: str, workdir: Path) -> dict:
    from rclpy.serialization import serialize_message

    from lead.io.bag import BagReader, BagWriter
    from lead.io.image import numpy_to_image
    from lead.io.stamps import make_header

    msgs = [numpy_to_image(camera_like(512, 1024, 4, k), "bgra8", make_header(k * 50_000_000, "rgb_front"))
            for k in range(n_images)]
    payloads = [serialize_message(m) for m in msgs]
    nbytes = sum(len(p) for p in payloads)
    bag, plain = workdir / f"bench_{compression}.mcap", workdir / "bench.raw"

    def write_plain():
        with open(plain, "wb") as f:
            for p in payloads:
                f.write(p)

    def write_bag():
        with BagWriter(bag, compression=compression, chunk_size=4 << 20, overwrite=True) as w:
            for k, m in enumerate(msgs):
                w.write("/carla/ego_vehicle/rgb_front/image", m, k * 50_000_000)

    def write_bag_serialized():
        with BagWriter(bag, compression=compression, chunk_size=4 << 20, overwrite=True) as w:
            for k, p in enumerate(payloads):
                w.write_serialized("/carla/ego_vehicle/rgb_front/image", "sensor_msgs/msg/Image", p, k * 50_000_000)

    def read_plain():
        with open(plain, "rb") as f:
            for p in payloads:
                assert len(f.read(len(p))) == len(p)

    def read_bag(raw: bool):
        assert sum(1 for _ in BagReader(bag).messages(raw=raw)) == n_images

    raw_write = _best(write_plain)
    bag_write_serialized = _best(write_bag_serialized)
    bag_write = _best(write_bag)
    raw_read = _best(read_plain)
    bag_read_raw = _best(lambda: read_bag(True))
    bag_read = _best(lambda: read_bag(False))

    res = {
        "compression": compression, "payload_mb": round(nbytes / 1e6, 1),
        "file_mb": round(bag.stat().st_size / 1e6, 1),
        "raw_file_write_mbps": _mbps(nbytes, raw_write), "raw_file_read_mbps": _mbps(nbytes, raw_read),
        "write_mbps": _mbps(nbytes, bag_write), "write_serialized_mbps": _mbps(nbytes, bag_write_serialized),
        "read_mbps": _mbps(nbytes, bag_read), "read_raw_mbps": _mbps(nbytes, bag_read_raw),
    }
    res["write_vs_raw"] = round(raw_write / bag_write, 3)
    res["write_serialized_vs_raw"] = round(raw_write / bag_write_serialized, 3)
    res["read_vs_raw"] = round(raw_read / bag_read, 3)
    res["read_raw_vs_raw"] = round(raw_read / bag_read_raw, 3)
    bag.unlink()
    plain.unlink()
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--role", choices=["pub", "sub"])
    ap.add_argument("--config", choices=list(CONFIGS))
    ap.add_argument("--messages", type=int, default=300, help="ticks per latency run (20 Hz)")
    ap.add_argument("--bag-images", type=int, default=60, help="1024x512 bgra8 images per MCAP run")
    ap.add_argument("--no-comparisons", action="store_true",
                    help="skip the 1024x512 runs with the default transports and with LOCALHOST discovery")
    args = ap.parse_args()
    if args.role == "pub":
        run_pub(args.config, args.messages)
        return 0
    if args.role == "sub":
        run_sub(args.config, args.messages)
        return 0
    if args.messages <= WARMUP:
        ap.error(f"--messages must exceed the {WARMUP} warm-up ticks")

    result: dict = {"latency": {}, "mcap": {}}
    from lead.io.dds import TRANSPORTS

    runs = [(c, TRANSPORTS, "SUBNET") for c in CONFIGS]
    if not args.no_comparisons:
        runs += [("bgra8_1024x512", None, "SUBNET"), ("bgra8_1024x512", "LARGE_DATA", "SUBNET"),
                 ("bgra8_1024x512", "LARGE_DATA", "LOCALHOST"), ("bgra8_1024x512", TRANSPORTS, "LOCALHOST")]
    for config, transport, discovery in runs:
        r = hop_latency(config, args.messages, transport, discovery)
        result["latency"][f"{config}/{r['transport']}/{discovery}"] = r
        line = (f"hop {config:15s} {r['transport']:38s} {discovery:9s} p50 {r['hop']['p50_ms']:6.2f} ms "
                f"p95 {r['hop']['p95_ms']:6.2f} ms")
        if "tick" in r:
            line += f" | all 3 of a tick: p50 {r['tick']['p50_ms']:.2f} ms p95 {r['tick']['p95_ms']:.2f} ms"
        print(line + f" ({r['messages']} images, {r['lost']} lost)", flush=True)
    with tempfile.TemporaryDirectory(prefix="io_bench_") as d:
        for compression in ("zstd", "lz4", "none"):
            r = mcap_speed(args.bag_images, compression, Path(d))
            result["mcap"][compression] = r
            print(f"mcap {compression:4s} {r['payload_mb']} MB -> {r['file_mb']} MB | write {r['write_mbps']} MB/s "
                  f"(serialized {r['write_serialized_mbps']}) vs raw file {r['raw_file_write_mbps']} MB/s: "
                  f"x{r['write_vs_raw']} | read {r['read_mbps']} MB/s (raw {r['read_raw_mbps']}) vs raw file "
                  f"{r['raw_file_read_mbps']} MB/s: x{r['read_vs_raw']}", flush=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
