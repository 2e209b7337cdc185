"""Procedural towns: an OpenDRIVE road network plus a matching Leaderboard 2.0 route file.

    from lead.world.towngen import generate_town
    xodr_text, routes = generate_town(seed=1, kind="grid")

`register_generate(world_subparsers)` adds `lead world generate`. numpy/scipy load only
when a town is generated, so registering the command stays cheap.
"""
from lead.world.towngen.cli import register_generate

__all__ = ["generate_town", "register_generate", "town_name"]


def __getattr__(name: str):
    if name in ("generate_town", "town_name"):
        from lead.world.towngen import generate
        return getattr(generate, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
