"""WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi …``."""

from analytics_app import create_app

app = create_app()
