"""lead's expert autopilot (LEAD's privileged expert, PDM-Lite lineage) as a pure library:
privileged state in, control + plan + training labels out. CARLA frame throughout.

    from lead.expert import Expert
    expert = Expert(map, route)             # the leaderboard's dense route
    out = expert.step(t, ego, actors, lights)
"""
from lead.expert.config import ExpertConfig, ShiftParams, load_expert_config
from lead.expert.labels import BrakeReason, ExpertLabels, target_speed_class
from lead.expert.obstacles import ScenarioHint
from lead.expert.planner import Expert, ExpertOutput, Plan

__all__ = [
    "BrakeReason",
    "Expert",
    "ExpertConfig",
    "ExpertLabels",
    "ExpertOutput",
    "Plan",
    "ScenarioHint",
    "ShiftParams",
    "load_expert_config",
    "target_speed_class",
]
