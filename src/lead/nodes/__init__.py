"""ROS 2 nodes: thin wrappers that subscribe, call a library function, publish.

Each module has `main(argv=None)`; `lead run` starts them as `python -m lead.nodes.<x>`
and the ament_python package installs them as executables of the same name.
"""
