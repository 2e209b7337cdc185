"""The infraction dashboard: `lead webapp RESULTS_DIR` (FastAPI + one static page)."""
