"""tf2_ros's broadcasters and listener for rclpy nodes, over tf2_msgs/TFMessage.

Topics and QoS as tf2_ros: /tf (reliable, volatile, depth 100) and /tf_static
(reliable, transient local; the static broadcaster keeps every transform it was given,
one per child frame, and republishes the whole set, so a late subscriber gets all of
them from the one message DDS keeps).
"""
from __future__ import annotations

from typing import Iterable

from geometry_msgs.msg import TransformStamped
from tf2_msgs.msg import TFMessage

from lead.io import qos
from lead.io.tf import Buffer


def _as_list(transforms: TransformStamped | Iterable[TransformStamped]) -> list[TransformStamped]:
    return [transforms] if isinstance(transforms, TransformStamped) else list(transforms)


class TransformBroadcaster:
    """Publishes dynamic transforms on /tf."""

    def __init__(self, node, topic: str = "/tf", qos_profile=qos.TF) -> None:
        self._pub = node.create_publisher(TFMessage, topic, qos_profile)

    def send_transform(self, transforms: TransformStamped | Iterable[TransformStamped]) -> None:
        self._pub.publish(TFMessage(transforms=_as_list(transforms)))


class StaticTransformBroadcaster:
    """Publishes static transforms on /tf_static (latched)."""

    def __init__(self, node, topic: str = "/tf_static", qos_profile=qos.TF_STATIC_BROADCASTER) -> None:
        self._pub = node.create_publisher(TFMessage, topic, qos_profile)
        self._by_child: dict[str, TransformStamped] = {}

    def send_transform(self, transforms: TransformStamped | Iterable[TransformStamped]) -> None:
        for t in _as_list(transforms):
            self._by_child[t.child_frame_id] = t  # a frame sent again replaces its old transform
        self._pub.publish(TFMessage(transforms=list(self._by_child.values())))


class TransformListener:
    """Fills a Buffer from /tf and /tf_static. It adds two subscriptions to `node`;
    whoever spins the node drives it (no thread of its own)."""

    def __init__(self, buffer: Buffer, node, tf_topic: str = "/tf", static_topic: str = "/tf_static",
                 qos_profile=qos.TF, static_qos_profile=qos.TF_STATIC_LISTENER) -> None:
        self.buffer = buffer
        self._node = node
        self._subs = [
            node.create_subscription(TFMessage, tf_topic, self._on_tf, qos_profile),
            node.create_subscription(TFMessage, static_topic, self._on_static, static_qos_profile),
        ]

    def _on_tf(self, msg: TFMessage) -> None:
        for t in msg.transforms:
            self.buffer.set_transform(t, "default_authority", is_static=False)

    def _on_static(self, msg: TFMessage) -> None:
        for t in msg.transforms:
            self.buffer.set_transform(t, "default_authority", is_static=True)

    def unregister(self) -> None:
        for sub in self._subs:
            self._node.destroy_subscription(sub)
        self._subs = []
