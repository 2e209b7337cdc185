"""ROS 2 message type names, classes and full definitions.

`definition()` builds the text rosbag2's MCAP storage stores as a channel's ros2msg
schema: the type's own .msg file, then every nested type once, depth first, each
dependency list sorted by name, each after a line of 80 '=' and "MSG: pkg/Type".
The .msg files are read from share/<pkg>/msg/ of the install prefixes, so this works
for any installed type, ours included.
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from functools import lru_cache
from pathlib import Path

PRIMITIVES = frozenset({
    "bool", "byte", "char", "float32", "float64", "int8", "uint8", "int16", "uint16",
    "int32", "uint32", "int64", "uint64", "string", "wstring",
})
SEPARATOR = "=" * 80


def normalize(type_name: str) -> tuple[str, str]:
    """'pkg/msg/Type' or 'pkg/Type' -> ('pkg', 'Type')."""
    parts = type_name.split("/")
    if len(parts) == 3 and parts[1] == "msg":
        parts = [parts[0], parts[2]]
    if len(parts) != 2 or not all(p.isidentifier() for p in parts):
        raise ValueError(f"not a ROS 2 message type name: {type_name!r} (expected 'pkg/msg/Type')")
    return parts[0], parts[1]


def full_name(type_name: str) -> str:
    pkg, name = normalize(type_name)
    return f"{pkg}/msg/{name}"


def type_name_of(msg_or_class) -> str:
    """'pkg/msg/Type' of a generated ROS 2 message class or instance."""
    cls = msg_or_class if isinstance(msg_or_class, type) else type(msg_or_class)
    parts = cls.__module__.split(".")
    if len(parts) < 2 or parts[1] != "msg" or not hasattr(cls, "get_fields_and_field_types"):
        raise TypeError(f"{cls.__module__}.{cls.__name__} is not a generated ROS 2 message class")
    return f"{parts[0]}/msg/{cls.__name__}"


@lru_cache(maxsize=None)
def message_class(type_name: str) -> type:
    """The Python class of an installed message type."""
    pkg, name = normalize(type_name)
    try:
        module = importlib.import_module(f"{pkg}.msg")
    except ModuleNotFoundError:
        raise LookupError(f"message type {pkg}/msg/{name} is not installed (no Python package {pkg}.msg)") from None
    try:
        return getattr(module, name)
    except AttributeError:
        raise LookupError(f"message type {pkg}/msg/{name} is not installed ({pkg}.msg has no {name})") from None


def _prefixes(pkg: str) -> list[Path]:
    """Install prefixes to search: AMENT_PREFIX_PATH, the prefix the package's Python
    module lives under (<prefix>/lib/pythonX.Y/site-packages/<pkg>), this interpreter's."""
    out = [Path(p) for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    spec = importlib.util.find_spec(pkg)
    if spec is not None and spec.origin:
        out.append(Path(spec.origin).resolve().parents[4])
    out.append(Path(sys.prefix))
    return list(dict.fromkeys(out))


def _share_file(pkg: str, name: str, suffix: str) -> Path | None:
    for prefix in _prefixes(pkg):
        p = prefix / "share" / pkg / "msg" / f"{name}{suffix}"
        if p.is_file():
            return p
    return None


@lru_cache(maxsize=None)
def msg_file_text(type_name: str) -> str:
    """Text of the type's own .msg file, byte for byte."""
    pkg, name = normalize(type_name)
    path = _share_file(pkg, name, ".msg")
    if path is None:
        searched = ", ".join(str(p / "share" / pkg / "msg") for p in _prefixes(pkg))
        raise LookupError(f"no {name}.msg for {pkg}/msg/{name}; searched {searched}")
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def dependencies(text: str, pkg: str) -> list[str]:
    """Non-primitive field types of a .msg text as 'pkg/Type', sorted, without repeats.
    A type without a package belongs to `pkg`."""
    deps = set()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        token = line.split()[0].split("[", 1)[0].split("<=", 1)[0]
        if token in PRIMITIVES:
            continue
        deps.add(token if "/" in token else f"{pkg}/{token}")
    return sorted(deps)


@lru_cache(maxsize=None)
def definition(type_name: str) -> str:
    """Full ros2msg definition of a type with all nested types (rosbag2's format)."""
    seen: set[str] = set()

    def expand(name: str, depth: int) -> str:
        if depth > 50:
            raise RecursionError(f"message definition of {type_name} nests deeper than 50 levels")
        pkg, _ = normalize(name)
        text = msg_file_text(name)
        for dep in dependencies(text, pkg):
            if dep not in seen:
                seen.add(dep)
                text += f"\n{SEPARATOR}\nMSG: {dep}\n" + expand(dep, depth + 1)
        return text

    return expand(type_name, 0)


@lru_cache(maxsize=None)
def type_hash(type_name: str) -> str | None:
    """RIHS01 type hash from the generated share/<pkg>/msg/<Type>.json, None if absent."""
    pkg, name = normalize(type_name)
    path = _share_file(pkg, name, ".json")
    if path is None:
        return None
    want = f"{pkg}/msg/{name}"
    for entry in json.loads(path.read_text(encoding="utf-8")).get("type_hashes", []):
        if entry.get("type_name") == want:
            return entry.get("hash_string")
    return None
