"""Our carla_msgs / derived_object_msgs / tf2_msgs builds against upstream's field lists,
and their RIHS01 type hashes pinned, so bags and tools interoperate with carla-ros-bridge."""
from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED

PREFIX = Path(sys.prefix)
HASH_FIXTURE = Path(__file__).parent / "fixtures" / "type_hashes.json"
PACKAGES = ("carla_msgs", "derived_object_msgs", "tf2_msgs", "lead_msgs")

# .msg primitive -> rosidl Python introspection name
PRIMITIVE = {"bool": "boolean", "byte": "octet", "char": "uint8", "float32": "float", "float64": "double",
             "int8": "int8", "uint8": "uint8", "int16": "int16", "uint16": "uint16", "int32": "int32",
             "uint32": "uint32", "int64": "int64", "uint64": "uint64", "string": "string"}
LINE = re.compile(r"^(?P<type>[A-Za-z0-9_/]+)(?P<array>\[\])?\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                  r"(?:\s*=\s*(?P<const>\S+))?$")


def spec_types() -> dict[str, list[list[str]]]:
    """'pkg/kind/Type' -> list of parts (a msg has one, a srv request and response) of field lines."""
    spec = SHARED / "specs" / "ros_interfaces.md"
    if not spec.exists():
        pytest.skip(f"{spec} is absent: the interface spec lives in ../shared/specs")
    out = {}
    for m in re.finditer(r"^## (\w+/(?:msg|srv)/\w+)\n+```\n(.*?)```", spec.read_text(), re.S | re.M):
        parts = [[ln.strip() for ln in part.splitlines() if ln.strip() and not ln.strip().startswith("#")]
                 for part in m.group(2).split("---")]
        out[m.group(1)] = parts
    return out


def expected_type(t: str, array: bool, pkg: str) -> str:
    if t in PRIMITIVE:
        base = PRIMITIVE[t]
    else:
        base = t if "/" in t else f"{pkg}/{t}"
        base = base.replace("/msg/", "/")
    return f"sequence<{base}>" if array else base


def classes_for(name: str):
    pkg, kind, typ = name.split("/")
    cls = getattr(importlib.import_module(f"{pkg}.{kind}"), typ)
    return [cls] if kind == "msg" else [cls.Request, cls.Response]


def test_we_build_exactly_the_upstream_types():
    names = set(spec_types())
    assert len(names) == 22  # carla_msgs: 17 msgs + 3 srvs; derived_object_msgs: Object, ObjectArray
    built = {k for k in built_hashes() if k.split("/")[0] in ("carla_msgs", "derived_object_msgs")}
    assert built == names, f"extra: {sorted(built - names)}, missing: {sorted(names - built)}"


@pytest.mark.parametrize("name", sorted(spec_types()) if (SHARED / "specs").exists() else [])
def test_built_type_matches_spec(name):
    pkg = name.split("/")[0]
    for part, cls in zip(spec_types()[name], classes_for(name), strict=True):
        fields, consts = [], {}
        for line in part:
            m = LINE.match(line)
            assert m, f"{name}: cannot read spec line {line!r}"
            if m.group("const") is not None:
                consts[m.group("name")] = int(m.group("const"))
            else:
                fields.append((m.group("name"), expected_type(m.group("type"), bool(m.group("array")), pkg)))
        built = list(cls.get_fields_and_field_types().items())
        assert built == fields, f"{name}: fields differ from upstream\n built: {built}\n  spec: {fields}"
        for k, v in consts.items():
            assert getattr(cls, k) == v, f"{name}: constant {k} is {getattr(cls, k)}, upstream {v}"


def built_hashes() -> dict[str, str]:
    out = {}
    for pkg in PACKAGES:
        for f in sorted((PREFIX / "share" / pkg).glob("*/*.json")):
            d = json.loads(f.read_text())
            own = d["type_hashes"][0]
            out[own["type_name"]] = own["hash_string"]
    return out


def test_type_hashes_are_pinned(capsys):
    hashes = built_hashes()
    with capsys.disabled():
        for k, v in sorted(hashes.items()):
            print(f"{v}  {k}")
    pinned = json.loads(HASH_FIXTURE.read_text())
    assert hashes == pinned, (
        "type hashes changed: a field of an interface changed, which breaks bags and interop with "
        f"carla-ros-bridge. If intended (lead_msgs only), update {HASH_FIXTURE}.")


def test_distro_header_hash_is_the_known_one():
    # std_msgs/Header's RIHS01 on Jazzy/Kilted; our types embed it, so a different distro changes ours too
    d = json.loads((PREFIX / "share/carla_msgs/msg/CarlaEgoVehicleControl.json").read_text())
    header = {h["type_name"]: h["hash_string"] for h in d["type_hashes"]}["std_msgs/msg/Header"]
    assert header == "RIHS01_f49fb3ae2cf070f793645ff749683ac6b06203e41c891e17701b1cb597ce6a01"


def test_tf2_msgs_as_upstream():
    from tf2_msgs.msg import TF2Error, TFMessage

    assert TFMessage.get_fields_and_field_types() == {"transforms": "sequence<geometry_msgs/TransformStamped>"}
    assert TF2Error.get_fields_and_field_types() == {"error": "uint8", "error_string": "string"}
    assert (TF2Error.NO_ERRORS, TF2Error.TRANSFORM_ERROR) == (0, 6)
