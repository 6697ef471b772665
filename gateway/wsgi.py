"""WSGI entry point: ``gunicorn gateway.wsgi:app``."""

from gateway.app import create_app, freeze_startup_objects

app = create_app()
# Once per worker process, after everything long-lived exists.
freeze_startup_objects()
