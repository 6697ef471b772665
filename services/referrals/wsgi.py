"""WSGI entry point: ``gunicorn services.referrals.wsgi:app``."""

import gc

from services.referrals.app import create_app

app = create_app()
# What exists now (modules, the app, templates, compiled patterns) lives as long as the
# process: frozen out of the collector's sight, a full collection scans only what requests
# left behind, and its pause on the redirect stays short.
gc.freeze()
