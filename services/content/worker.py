"""Celery entry point: ``celery -A services.content.worker:celery worker``."""

from services.content.app import create_app

celery = create_app().extensions["celery"]
