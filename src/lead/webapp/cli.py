"""`lead webapp RESULTS_DIR`: the infraction dashboard over a `lead eval` results folder."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "webapp", help="browse a results folder: routes, scores, infractions with video and map",
        description="Serve the infraction dashboard for RESULTS_DIR (the --out folder of `lead eval`): a table "
                    "of routes with DS/RC/IS and their infractions, filters by infraction type, town and "
                    "scenario, each infraction's moment in the route's video (any *.mp4 under RESULTS_DIR "
                    "made by `lead view`, found by its sidecar .json or its RouteScenario_* name) and its "
                    "place on the route map, and charts of DS per scenario and infractions per km. Serves "
                    "only files inside RESULTS_DIR. Stop with Ctrl-C.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("results_dir", metavar="RESULTS_DIR", help="results folder with checkpoint_endpoint.json")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (the default keeps it on this machine; 0.0.0.0 shares it)")
    p.add_argument("--port", type=int, default=8080, help="TCP port")
    p.add_argument("--routes", help="the route XML of the run: gives each route's town and scenario type "
                                    "when the results do not name them")
    p.set_defaults(func=_serve)


def _serve(args) -> int:
    import sys

    from lead.webapp.data import ResultsError

    try:
        from lead.webapp.app import create_app

        app = create_app(args.results_dir, args.routes)
    except (ResultsError, OSError, ValueError) as e:
        print(f"lead webapp: {e}", file=sys.stderr)
        return 2
    import uvicorn

    print(f"lead webapp: serving {args.results_dir} on http://{args.host}:{args.port}/ (Ctrl-C to stop)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
