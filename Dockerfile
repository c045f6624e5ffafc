# Production image: one image for web (gunicorn), Celery worker and Celery beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=smartprov.settings.production

WORKDIR /app
RUN useradd --system --create-home --home-dir /home/smartprov smartprov
COPY requirements/base.txt requirements/base.txt
RUN pip install --no-cache-dir -r requirements/base.txt
COPY . .
# Static files and message catalogues are built into the image; collectstatic needs a secret
# and a database URL only to import settings, not to reach a database.
RUN pybabel compile -d locale -D django \
 && DJANGO_SECRET_KEY=build-only-not-a-real-secret-0123456789-0123456789-abc \
    DJANGO_ALLOWED_HOSTS=localhost DATABASE_URL=postgres://build@localhost/build \
    python manage.py collectstatic --noinput \
 && mkdir -p /app/var/private && chown -R smartprov /app/var
USER smartprov
EXPOSE 8000
CMD ["gunicorn", "smartprov.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
