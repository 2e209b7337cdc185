"""Do two runs of the driving stack give the same controls? Compares the controllers' per-tick
logs (lead.nodes.controller's timing log: stamp, throttle, steer, brake a line; read them with
lead.inference.timing.read_timing_log).

Two logs of one run in shadow mode (`lead eval --shadow-backend`: controller.jsonl and
shadow_controller.jsonl) hold two backends' controls for the same inputs on every tick. Two
separate runs agree only while their controls do: after the first tick that differs, their
worlds differ too.
"""
from __future__ import annotations

KEYS = ("throttle", "steer", "brake")
TOLERANCE = 1e-3  # absolute, on throttle / steer / brake in [0, 1] or [-1, 1]


def _keyed(rows: list[dict]) -> dict[tuple[int, int], dict]:
    """(route, stamp) -> row: sim time starts again at each route, so a stamp below the last
    one begins the next route."""
    out, route, last = {}, 0, -1
    for r in rows:
        if r["stamp"] < last:
            route += 1
        last = r["stamp"]
        out[(route, r["stamp"])] = r
    return out


def compare_controls(a: list[dict], b: list[dict], ticks: int | None = None, tol: float = TOLERANCE) -> dict:
    """Controls of the first `ticks` ticks that both logs answered (all of them: None), matched by
    route and stamp. `same_controls`: every one within `tol`; `agree_ticks`: how many ticks agree
    before the first that does not; `first_difference`: that tick's controls in both logs;
    `unmatched`: ticks one log has and the other lacks, among those compared."""
    ka, kb = _keyed(a), _keyed(b)
    order = [k for k in ka if k in kb]
    if ticks is not None:
        order = order[:ticks]
    unmatched = sum(1 for k in set(ka) ^ set(kb) if order and k <= order[-1])
    diff = {k: 0.0 for k in KEYS}
    first = None
    for i, key in enumerate(order):
        x, y = ka[key], kb[key]
        d = {k: abs(float(x[k]) - float(y[k])) for k in KEYS}
        for k in KEYS:
            diff[k] = max(diff[k], d[k])
        if first is None and any(v > tol for v in d.values()):
            first = {"tick": i, "t_s": key[1] / 1e9, "route": key[0], "a": {k: x[k] for k in KEYS},
                     "b": {k: y[k] for k in KEYS}}
    return {"ticks": len(order), "tolerance": tol, "max_abs_diff": diff, "same_controls": bool(order) and first is None,
            "agree_ticks": first["tick"] if first else len(order), "first_difference": first,
            "unmatched": unmatched, "moving": any(float(ka[k]["throttle"]) > 0 for k in order)}
