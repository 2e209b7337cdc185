"""QoS profiles of lead's topics, matching what carla-ros-bridge and tf2_ros use so
that nodes from either side connect."""
from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy


def _profile(depth: int, latched: bool = False) -> QoSProfile:
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
    )


# sensors, control, plans: reliable, volatile like the bridge's `qos_profile=10` (depth is not
# part of QoS matching); reliable because the lock-step world waits for every message of a tick.
# Keep last 60 (3 s at 20 Hz), not 10: a reader outside the lock-step (the recorder) can then
# lag under CPU load without the writer overwriting messages it has not delivered.
SENSOR = _profile(60)
# published once and needed by late joiners (/carla/world_info, vehicle_info, /lead/route)
LATCHED = _profile(1, latched=True)
# tf2_ros: DynamicBroadcasterQoS / DynamicListenerQoS are depth 100 reliable volatile,
# StaticBroadcasterQoS depth 1 and StaticListenerQoS depth 100, both transient local
TF = _profile(100)
TF_STATIC_BROADCASTER = _profile(1, latched=True)
TF_STATIC_LISTENER = _profile(100, latched=True)
