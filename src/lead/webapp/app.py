"""The infraction dashboard as an ASGI app (FastAPI): one static page (plain HTML/JS, no
build step), a JSON API over the results folder, and the folder's files (videos) served
with HTTP range requests so the browser can seek. Nothing outside the results folder is
ever served: paths are resolved (symlinks included) and must stay inside it."""
from __future__ import annotations

from pathlib import Path

from lead.webapp.data import ResultsError, load_results

STATIC = Path(__file__).parent / "static"
SERVED_SUFFIXES = {".mp4", ".json", ".png", ".jpg", ".webm"}


def safe_path(root: Path, rel: str) -> Path | None:
    """`rel` inside `root` (resolved), or None when it leaves it or is not a servable file."""
    if "\x00" in rel or rel.startswith(("/", "\\")):
        return None
    try:
        p = (root / rel).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not p.is_relative_to(root) or not p.is_file() or p.suffix.lower() not in SERVED_SUFFIXES:
        return None
    return p


def create_app(results_dir: str | Path, routes_file: str | Path | None = None):
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

    root = Path(results_dir).resolve()
    load_results(root, routes_file)  # fail at start-up, with the reason, rather than on the first request
    app = FastAPI(title="lead infractions", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/", response_class=HTMLResponse)
    def index():
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    @app.get("/api/results")
    def results():
        try:  # read on each request: a running eval adds routes
            return JSONResponse(load_results(root, routes_file))
        except ResultsError as e:
            raise HTTPException(500, str(e)) from None

    @app.get("/files/{rel:path}")
    def files(rel: str):
        p = safe_path(root, rel)
        if p is None:
            raise HTTPException(404, "not found")
        return FileResponse(p)

    return app
