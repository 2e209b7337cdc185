"""Embedded simulator speed, as real-time factors (sim seconds per wall second; 1.0 = 20 Hz
real time), measured in one run on a generated town with 30 vehicles and 20 pedestrians:
  (a) dynamics + traffic only,
  (b) + the sensors of LEAD's rig (3 cameras 384x384, 2 LiDARs, 4 radars, state sensors),
  (c) + ROS 2 lock-step: the world node publishing the whole contract and waiting each tick
      for the control of a controller node in another process; timed from the first answered
      tick on (as (b) leaves out the first tick: the agent's discovery and the render's
      start-up, ~0.6 s), median of 3 runs (one run's figure swings by ~10 % on this machine).
(b) and (c) run twice: cameras rendered in their own process (the default) and in the world's
process (render_process=False), side by side.
Last stdout line: one JSON object."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time

from lead.sim.embedded.world import EmbeddedWorld, WorldConfig

TOWN, TICKS = "LeadGrid001", 400


def rtf(world: EmbeddedWorld, sense: bool) -> float:
    from lead.control.vehicle_control import VehicleControl

    world.load(TOWN, seed=1, num_vehicles=30, num_pedestrians=20)
    sp = world.map.get_spawn_points()[0]
    world.spawn_ego((sp.location.x, sp.location.y, sp.location.z, 0, 0, sp.rotation.yaw))
    world.apply_control(VehicleControl(throttle=0.4))
    f = world.tick()
    if sense:
        world.sense(f)  # scene build and renderer start-up are not per-tick costs
    t0 = time.perf_counter()
    for _ in range(TICKS):
        f = world.tick()
        if sense:
            world.sense(f)
    return TICKS * world.config.dt / (time.perf_counter() - t0)


def lockstep_rtf(rig: str, seconds: float = 30.0, render_process: bool = True) -> float:
    out = subprocess.run([sys.executable, "-m", "lead.cli", "run", "sim_drive", "--no-color", "--domain-id", "97",
                          "-p", f"rig={rig}", "-p", f"duration={seconds}", "-p", f"map={TOWN}",
                          "-p", f"render_process={str(render_process).lower()}"],
                         capture_output=True, text=True, timeout=900).stdout
    m = re.search(r"real-time factor ([0-9.]+)", out)
    if not m:
        raise SystemExit("sim_drive did not report its real-time factor:\n" + out[-2000:])
    return float(m.group(1))


def main() -> None:
    a = rtf(EmbeddedWorld(WorldConfig(rig="lead")), sense=False)
    b = rtf(EmbeddedWorld(WorldConfig(rig="lead")), sense=True)
    b_in = rtf(EmbeddedWorld(WorldConfig(rig="lead", render_process=False)), sense=True)
    runs = sorted(lockstep_rtf("lead") for _ in range(3))
    c = runs[1]
    c_in = lockstep_rtf("lead", render_process=False)
    c_min = lockstep_rtf("minimal")
    print(f"(a) dynamics + traffic:                 RTF {a:7.2f}")
    print(f"(b) + LEAD rig sensors:                  RTF {b:7.2f}  (cameras in the world's process: {b_in:.2f}, "
          f"x{b / b_in:.2f})")
    print(f"(c) + lock-step over ROS 2, LEAD rig:    RTF {c:7.2f}  (target >= 2.0; median of "
          f"{' / '.join(f'{r:.2f}' for r in runs)}; cameras in the world's process: {c_in:.2f}, x{c / c_in:.2f})")
    print(f"    + lock-step over ROS 2, minimal rig: RTF {c_min:7.2f}")
    print(json.dumps({"rtf_dynamics_traffic": round(a, 2), "rtf_with_sensors": round(b, 2),
                      "rtf_with_sensors_inprocess_render": round(b_in, 2),
                      "rtf_lockstep_lead_rig": round(c, 2), "rtf_lockstep_lead_rig_runs": [round(r, 2) for r in runs], "rtf_lockstep_lead_rig_inprocess_render": round(c_in, 2),
                      "rtf_lockstep_minimal_rig": round(c_min, 2), "target_lockstep": 2.0}))


if __name__ == "__main__":
    main()
