"""lead.nodes._spin.run_node in a real process: an exception raised after rclpy's context was
shut down under a running callback is a shutdown (exit 0, one line), not a crash; an exception
while rclpy is up still is one (exit 1, traceback). Seen in `make test`: the policy/controller
node test failed once on a node that "crashed" with "publisher's context is invalid" after the
test stopped it with SIGINT (rclpy's handler shuts the context down while a callback runs; the
callback's next publish fails). The callback here shuts the context down itself, so the test does
not depend on where a signal lands."""
from __future__ import annotations

import subprocess
import sys
import textwrap

NODE = textwrap.dedent("""
    import sys
    import rclpy
    from rclpy.node import Node
    from std_msgs.msg import String
    from lead.nodes._spin import run_node

    class Busy(Node):
        def __init__(self):
            super().__init__("busy")
            self.pub = self.create_publisher(String, "/busy", 10)
            self.create_timer(0.05, self.tick)

        def tick(self):
            if sys.argv[1] == "raise":
                raise RuntimeError("a real bug")
            rclpy.try_shutdown()  # what rclpy's SIGINT handler does while a callback runs
            self.pub.publish(String(data="x"))

    sys.exit(run_node(Busy, []))
""")


def _run(tmp_path, mode: str) -> tuple[int, str]:
    script = tmp_path / "busy_node.py"
    script.write_text(NODE)
    r = subprocess.run([sys.executable, str(script), mode], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=60)
    return r.returncode, r.stdout


def test_a_shutdown_under_a_running_callback_is_not_a_crash(tmp_path, ros_domain):
    code, out = _run(tmp_path, "shutdown")
    assert code == 0, out
    assert "Traceback" not in out and "crashed" not in out, out
    assert "stopped while a callback ran (" in out, out  # RCLError or InvalidHandle, by where it lands


def test_an_exception_while_running_is_still_a_crash(tmp_path, ros_domain):
    code, out = _run(tmp_path, "raise")
    assert code == 1, out
    assert "node crashed" in out and "RuntimeError: a real bug" in out, out
