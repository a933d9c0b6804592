"""Django settings for QU4RTET in the EPCIS capture benchmark.

Only what quartet_epcis needs to store events: its app (and quartet_capture, installed as a
QU4RTET deployment has it), on SQLite, serving nothing. Django reads this module when capture.py
calls django.setup(); the database file is the one capture.py names in QUARTET_BENCH_DB.
"""

import os

SECRET_KEY = "quartet-bench-not-a-secret"  # noqa: S105 - nothing is signed or served
DEBUG = False  # True would keep every SQL statement in memory
USE_TZ = True  # QU4RTET stores aware datetimes; SQLite refuses them otherwise
TIME_ZONE = "UTC"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",  # quartet_capture's Task names the user who ran it
    "quartet_epcis",
    "quartet_capture",
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["QUARTET_BENCH_DB"],
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
