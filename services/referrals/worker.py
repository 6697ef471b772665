"""Celery entry point: ``celery -A services.referrals.worker:celery worker``."""

from services.referrals.app import create_app

celery = create_app().extensions["celery"]
