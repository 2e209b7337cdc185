"""Leaderboard 2.0 scoring as CARLA's leaderboard computes it: route criteria (per-tick state
machines), per-route and global records, the checkpoint JSON, shard merge, and Bench2Drive's
metrics. Plain Python: no ROS, no simulator, no map library (criteria use a small protocol).
"""
