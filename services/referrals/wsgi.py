"""WSGI entry point: ``gunicorn services.referrals.wsgi:app``."""

import sys

from services.common.gc_freeze import freeze_startup_objects
from services.common.prompt_close import close_gunicorn_connections_promptly
from services.referrals.app import create_app
from services.referrals.classify import classify_user_agent

app = create_app()
# crawlerdetect compiles its patterns on first use: 60-75 ms of CPU that the first
# redirect of every new worker paid. Paid here, and frozen with the rest below.
classify_user_agent.__wrapped__("Mozilla/5.0 (warm-up)")
# What exists now (modules, the app, templates, compiled patterns) lives as long as the
# process: frozen out of the collector's sight, a full collection scans only what requests
# left behind, and its pause on the redirect stays short.
freeze_startup_objects()
# A request arriving while the click flusher thread runs Python waits for the GIL up to
# the switch interval (5 ms by default): 0.5 ms bounds that wait well under the redirect's
# latency budget, for a few more thread switches only while both threads want to run.
sys.setswitchinterval(0.0005)
# gunicorn 27 waits after each answer until the client closes too (up to 2 s), and a
# sync worker serves no one meanwhile: a round trip per redirect, queues behind an idle
# worker. Closed at once unless the client sent bytes that were never read.
close_gunicorn_connections_promptly()
