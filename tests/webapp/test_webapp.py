"""`lead webapp` over the results of a real `lead eval` run (embedded world, route follower),
with a video rendered by `lead view` placed in the results folder: the API matches the
result files, videos are served with range requests (the browser seeks), nothing outside
the folder is served, and the server binds 127.0.0.1 unless told otherwise."""
from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lead.io.dds import dds_environment
from tests.viz.bagmaker import make_bag

REPO = Path(__file__).resolve().parents[2]
ROUTES = "routes/LeadGrid001_routes.xml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str, headers: dict | None = None, host: str = "127.0.0.1"):
    c = http.client.HTTPConnection(host, port, timeout=10)
    c.request("GET", path, headers=headers or {})  # sent as written: no client-side normalisation of ".."
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, dict(r.getheaders()), body


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("webapp") / "results"
    env = dds_environment(force=True)
    domain = int(os.environ.get("LEAD_TEST_DOMAIN_BASE", "40")) + 19
    r = subprocess.run([sys.executable, "-m", "lead.cli", "eval", "--routes", ROUTES, "--route-ids", "0", "--rig",
                        "minimal", "--num-vehicles", "4", "--num-pedestrians", "0", "--out", str(out), "--domain-id",
                        str(domain), "-p", "render=false", "--json"],
                       capture_output=True, text=True, timeout=240, cwd=REPO, env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    # a video of the route, as `lead view` makes it from the route's bag
    bag = out.parent / "route.mcap"
    make_bag(bag, ticks=60, infraction_tick=40, route_id="RouteScenario_0_rep0")
    v = subprocess.run([sys.executable, "-m", "lead.cli", "view", str(bag), "-o",
                        str(out / "RouteScenario_0_rep0" / "video.mp4")], capture_output=True, text=True, timeout=120)
    assert v.returncode == 0, v.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def server(results):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "lead.cli", "webapp", str(results), "--port", str(port),
                             "--routes", ROUTES], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line, line  # binds loopback by default
        end = time.monotonic() + 30
        while time.monotonic() < end:
            try:
                _get(port, "/")
                break
            except OSError:
                time.sleep(0.3)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_api_matches_the_result_files(results, server):
    status, _, body = _get(server, "/api/results")
    assert status == 200
    data = json.loads(body)
    ck = json.loads((results / "checkpoint_endpoint.json").read_text())
    rec = ck["_checkpoint"]["records"][0]
    (route,) = data["routes"]
    assert route["route_id"] == rec["route_id"] == "RouteScenario_0_rep0"
    assert (route["DS"], route["RC"], route["IS"]) == (rec["scores"]["score_composed"], rec["scores"]["score_route"],
                                                       rec["scores"]["score_penalty"])
    assert route["town"] == "LeadGrid001" and route["scenario"] == "NonSignalizedJunctionRightTurn"
    entries = json.loads((results / route["route_id"] / "infractions.json").read_text())["infractions"]
    assert len(route["infractions"]) == len(entries) == rec["num_infractions"] >= 1
    metric = json.loads((results / route["route_id"] / "metric_info.json").read_text())
    side = json.loads((results / route["route_id"] / "video.json").read_text())
    assert route["video"]["url"] == "/files/RouteScenario_0_rep0/video.mp4"
    for inf, e in zip(route["infractions"], entries):
        assert inf["type"] in e["event_type"] and inf["frame"] == e["frame"]
        loc = metric[str(e["frame"])]["location"] if str(e["frame"]) in metric else None
        if loc is not None:
            assert inf["position"] == pytest.approx(loc[:2])
        assert inf["video_time"] == pytest.approx(max(0.0, e["step"] / 20.0 - side["start_s"]), abs=1e-3)
    assert len(route["track"]) > 50
    # infractions per km: the leaderboard's own global numbers (same events, same km)
    per_km = data["charts"]["infractions_per_km"]
    glob = ck["_checkpoint"]["global_record"]["infractions"]
    assert sum(per_km.values()) == pytest.approx(sum(glob.values()), abs=0.05)
    assert data["charts"]["ds_per_scenario"] == {"NonSignalizedJunctionRightTurn": pytest.approx(route["DS"], abs=1e-3)}


def test_page_and_video_range_requests(results, server):
    status, headers, body = _get(server, "/")
    assert status == 200 and b'id="video"' in body and b"currentTime" in body and b"/api/results" in body
    size = (results / "RouteScenario_0_rep0" / "video.mp4").stat().st_size
    status, headers, body = _get(server, "/files/RouteScenario_0_rep0/video.mp4", {"Range": "bytes=100-199"})
    assert status == 206 and len(body) == 100
    assert headers.get("content-range") == f"bytes 100-199/{size}"
    assert headers.get("content-type") == "video/mp4"


def test_nothing_outside_the_results_dir_is_served(results, server, tmp_path):
    secret = results.parent / "secret.json"
    secret.write_text('{"secret": 1}')
    (results / "link.json").symlink_to(secret)  # a link inside pointing outside
    (results / "code.py").write_text("x = 1")
    try:
        assert _get(server, "/files/checkpoint_endpoint.json")[0] == 200
        for path in ("/files/../secret.json", "/files/%2e%2e/secret.json", "/files/..%2fsecret.json",
                     "/files/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/files//etc/passwd", "/files/%2fetc%2fpasswd",
                     "/files/link.json", "/files/code.py", "/files/RouteScenario_0_rep0/../../secret.json",
                     "/../secret.json", "/files/RouteScenario_0_rep0"):
            status, _, body = _get(server, path)
            assert status == 404, (path, status)
            assert b"secret" not in body and b"root:" not in body
    finally:
        (results / "link.json").unlink()
        (results / "code.py").unlink()
        secret.unlink()


def test_binds_loopback_only_by_default(server):
    ips = set()
    try:
        ips = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    except OSError:
        pass
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:  # the address of the default route's interface (a UDP connect sends nothing)
        probe.connect(("10.255.255.255", 1))
        ips.add(probe.getsockname()[0])
    except OSError:
        pass
    finally:
        probe.close()
    ips = {ip for ip in ips if not ip.startswith("127.")}
    if not ips:
        pytest.skip("this machine has no non-loopback IPv4 address to try")
    for ip in ips:
        with pytest.raises(OSError):
            _get(server, "/", host=ip)


def test_bad_results_dir_is_a_clear_error(tmp_path):
    r = subprocess.run([sys.executable, "-m", "lead.cli", "webapp", str(tmp_path)], capture_output=True, text=True,
                       timeout=60, cwd=REPO)
    assert r.returncode == 2 and "checkpoint_endpoint.json" in r.stderr


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if p := shutil.which(name):
            return p
    return None


def test_browser_click_seeks_the_video(results, server, tmp_path):
    chrome = _chromium()
    if chrome is None:
        pytest.skip("no chromium on this machine (Debian's `chromium` package is not installed)")
    pw = pytest.importorskip("playwright.sync_api", reason="playwright is not installed in the venv")
    with pw.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chrome, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.goto(f"http://127.0.0.1:{server}/")
        page.wait_for_selector("body[data-ready='1']")
        first = page.locator(".infraction").first
        first.click()
        target = float(page.locator("#video").get_attribute("data-target"))
        page.wait_for_function("() => { const v = document.querySelector('#video');"
                               " return v.readyState >= 1 && Math.abs(v.currentTime - Number(v.dataset.target))"
                               " < 0.1 || (v.duration && v.currentTime >= v.duration - 0.1); }", timeout=15000)
        current = page.evaluate("document.querySelector('#video').currentTime")
        duration = page.evaluate("document.querySelector('#video').duration")
        assert current == pytest.approx(min(target, duration), abs=0.1)
        assert page.locator(".map-infraction").count() >= 1
        # docs/webapp.png is this screenshot: LEAD_WRITE_DOCS=1 refreshes it (a test run leaves the tree clean)
        shot = REPO / "docs" / "webapp.png" if os.environ.get("LEAD_WRITE_DOCS") == "1" else tmp_path / "webapp.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
        browser.close()
