"""How the route manager tells that the agent died: from the control topic's publishers."""
from types import SimpleNamespace

from lead.nodes.route_manager import agent_lost


def pub(name: str, gid: int, ns: str = "/"):
    return SimpleNamespace(node_name=name, node_namespace=ns, endpoint_gid=[gid] * 16)


def test_same_agent_is_fine_and_a_late_second_agent_joins():
    agents: dict = {}
    assert agent_lost(agents, []) == ""  # not discovered yet
    assert agent_lost(agents, [pub("controller", 1)]) == ""
    assert agent_lost(agents, [pub("controller", 1), pub("safety", 2)]) == ""
    assert set(agents) == {"/controller", "/safety"}


def test_respawn_under_the_old_name_is_caught_while_the_dead_publisher_is_still_listed():
    agents: dict = {}
    agent_lost(agents, [pub("route_follower", 1)])
    # SIGKILLed: its publisher stays in discovery until its DDS lease runs out
    assert agent_lost(agents, [pub("route_follower", 1), pub("route_follower", 2)]) == "/route_follower was restarted"
    assert agent_lost(dict(agents), [pub("route_follower", 2)]) == "/route_follower was restarted"


def test_agent_that_left_is_lost():
    agents: dict = {}
    agent_lost(agents, [pub("expert", 1, "/ego")])
    assert agent_lost(agents, []) == "/ego/expert left the control topic"
