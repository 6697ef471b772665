"""Celery entry point: ``celery -A services.rewards.worker:celery worker``."""

from services.rewards.app import create_app

celery = create_app().extensions["celery"]
