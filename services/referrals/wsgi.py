"""WSGI entry point: ``gunicorn services.referrals.wsgi:app``."""

from services.referrals.app import create_app

app = create_app()
