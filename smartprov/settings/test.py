"""Test settings: fast hashing, in-memory e-mail, the database and broker from the environment."""

from .base import *  # noqa: F403
from .base import VAR_DIR, env

SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PRIVATE_STORAGE_ROOT = VAR_DIR / "test-private"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # The manifest storage needs collectstatic; tests render templates without it.
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Unit tests run tasks in-process; the integration tests start a real worker on the broker
# given in CELERY_BROKER_URL and switch eager mode off for themselves.
CELERY_TASK_ALWAYS_EAGER = True
INTEGRATION_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# Serve static files from the finders without collectstatic (no STATIC_ROOT scan at start).
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
# Lockout is tested where it matters (tests switch it on); elsewhere tests log in freely.
AXES_ENABLED = False
