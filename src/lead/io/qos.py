"""QoS profiles of lead's topics, matching what carla-ros-bridge and tf2_ros use so
that nodes from either side connect."""
from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy


def _profile(depth: int, latched: bool = False) -> QoSProfile:
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
    )


# sensors, control, plans: the bridge's `qos_profile=10` (reliable, volatile, keep last 10);
# reliable because the lock-step world waits for every message of a tick
SENSOR = _profile(10)
# published once and needed by late joiners (/carla/world_info, vehicle_info, /lead/route)
LATCHED = _profile(1, latched=True)
# tf2_ros: DynamicBroadcasterQoS / DynamicListenerQoS are depth 100 reliable volatile,
# StaticBroadcasterQoS depth 1 and StaticListenerQoS depth 100, both transient local
TF = _profile(100)
TF_STATIC_BROADCASTER = _profile(1, latched=True)
TF_STATIC_LISTENER = _profile(100, latched=True)
