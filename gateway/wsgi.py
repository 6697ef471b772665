"""WSGI entry point: ``gunicorn gateway.wsgi:app``."""

from gateway.app import create_app
from services.common.gc_freeze import freeze_startup_objects
from services.common.prompt_close import close_gunicorn_connections_promptly

app = create_app()
# Once per worker process, after everything long-lived exists.
freeze_startup_objects()
# gunicorn 27 waits after each answer until the client closes too (up to 2 s), and a
# gthread worker does so on its main thread: closed at once unless bytes are unread.
close_gunicorn_connections_promptly()
