"""Recording overhead: the same routes driven twice in one run, sim + agent without the recorder
(`lead eval` with the collect sensors on) and with it (`lead collect`), on the embedded world.

Alternates the two --rounds times and prints the median wall time of each, their ratio (target
<= 1.10), the CPU time all processes of each run used (the recorder's own cost, less sensitive to
a noisy machine than wall time), and the bags' size per saved frame. The last stdout line is one
JSON object.

    python bench/collect_bench.py [--rig lead] [--routes FILE --maps DIR --route-ids 0,1,2] [--agent expert]
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lead.io.data_table import SAVE_EVERY  # lead collect renders the cameras on saved ticks only

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--routes", default=str(REPO / "tests/recording/data/short_routes.xml"))
    p.add_argument("--maps", default=str(REPO / "tests/leaderboard/data"))
    p.add_argument("--route-ids", default="")
    p.add_argument("--rig", default="lead")
    p.add_argument("--agent", default="expert", choices=("route_follower", "expert"),
                   help="the agent that drives (data collection drives the expert)")
    p.add_argument("--num-vehicles", type=int, default=0)
    p.add_argument("--num-pedestrians", type=int, default=0)
    p.add_argument("--domain-id", type=int, default=139)
    p.add_argument("--rounds", type=int, default=5,
                   help="without/with pairs, alternated; the ratio is of the median times (one pair "
                        "swings by +-10%% on a busy 2-core machine: 1.05-1.20 in one run of 5)")
    a = p.parse_args()
    common = ["--routes", a.routes, "--maps", a.maps, "--route-ids", a.route_ids, "--rig", a.rig,
              "--agent", a.agent, "--num-vehicles", str(a.num_vehicles), "--num-pedestrians",
              str(a.num_pedestrians), "--domain-id", str(a.domain_id)]
    with tempfile.TemporaryDirectory(prefix="collect_bench_") as tmp:
        tmp = Path(tmp)
        wall: dict[str, list[float]] = {"without": [], "with": []}
        cpu: dict[str, list[float]] = {"without": [], "with": []}
        for k in range(a.rounds):
            runs = {
                "without": [sys.executable, "-m", "lead.cli", "eval", *common, "--out", str(tmp / f"eval{k}"),
                            "-p", "collect=true", "-p", f"camera_every={SAVE_EVERY}"],  # as lead collect
                "with": [sys.executable, "-m", "lead.cli", "collect", *common, "--out", str(tmp / f"collect{k}"),
                         "--json"],
            }
            for name, cmd in runs.items():
                t0 = time.perf_counter()
                c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
                wall[name].append(time.perf_counter() - t0)
                # every node is a waited-for descendant of the run, so its CPU time is counted here
                c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[name].append((c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime))
                if res.returncode != 0:
                    print(res.stdout[-3000:], res.stderr[-3000:], file=sys.stderr)
                    print(json.dumps({"error": f"{name} recording: exit code {res.returncode}"}))
                    return 1
                print(f"round {k + 1}: {name:8s} recording: {wall[name][-1]:7.1f} s wall, "
                      f"{cpu[name][-1]:7.1f} s CPU (all processes)")
                if name == "with":
                    summary = json.loads(res.stdout.strip().splitlines()[-1])
    t = summary["totals"]
    med = {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in wall}
    ratio = med["with"][0] / med["without"][0]
    cpu_ratio = med["with"][1] / med["without"][1]
    pairs = [round(w / wo, 3) for w, wo in zip(wall["with"], wall["without"])]
    print(f"routes {summary['routes']}, rig {a.rig}, agent {a.agent}: {t['ticks']} ticks, {t['frames']} frames, "
          f"{t['size_mb']:.1f} MB")
    print(f"overhead ratio (median wall with / median wall without recording, {a.rounds} rounds): {ratio:.3f}  "
          f"(target <= 1.10); per round {pairs}")
    print(f"CPU ratio (with / without recording): {cpu_ratio:.3f}")
    print(f"MB per frame: {t['mb_per_frame']:.3f}")
    print(json.dumps({"rig": a.rig, "agent": a.agent, "routes": summary["routes"], "ticks": t["ticks"],
                      "frames": t["frames"], "rounds": a.rounds, "wall_without_s": round(med["without"][0], 2),
                      "wall_with_s": round(med["with"][0], 2), "ratio": round(ratio, 4), "ratio_per_round": pairs,
                      "cpu_without_s": round(med["without"][1], 2), "cpu_with_s": round(med["with"][1], 2),
                      "cpu_ratio": round(cpu_ratio, 4),
                      "size_mb": t["size_mb"], "mb_per_frame": t["mb_per_frame"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
