"""ROS 2 message I/O for lead, written for a pip-installed ROS 2 (DESIGN.md §4): the
wheels here have no cv_bridge, message_filters, tf2_ros or rosbag2, so this package
holds small equivalents.

- image, pointcloud, camera_info: numpy <-> sensor_msgs (cv_bridge / sensor_msgs_py)
- sync: approximate- and exact-time synchronizers (message_filters), no ROS needed
- tf, tf_ros: transform buffer (tf2) and broadcasters / listener (tf2_ros)
- bag, msgdefs, mcap_scan: ROS 2 MCAP bags (rosbag2's mcap storage format)
- qos, stamps: QoS profiles and time helpers shared by the above

Import the submodule you need; this file imports nothing so that `lead.io.sync`
stays usable without rclpy.
"""
