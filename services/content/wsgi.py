"""WSGI entry point: ``gunicorn services.content.wsgi:app``."""

from services.common.gc_freeze import freeze_startup_objects
from services.common.prompt_close import close_gunicorn_connections_promptly
from services.content.app import create_app

app = create_app()
# Once per worker process, after everything long-lived exists.
freeze_startup_objects()
# gunicorn 27 waits after each answer until the client closes too (up to 2 s), and the
# worker serves no one meanwhile: closed at once unless the client sent unread bytes.
close_gunicorn_connections_promptly()
