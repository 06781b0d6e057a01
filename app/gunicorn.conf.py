"""gunicorn settings read from the working directory: ``./gunicorn.conf.py`` is gunicorn's default
``--config`` (gunicorn/config.py ``ConfigFile`` and ``get_default_config_file`` in 23.0, the image's
pin, and since 20.1; gunicorn/app/base.py puts the directory on sys.path first), so the platform's
command line stays the same for every project. Copy it, with ``cloud_logging.py``, next to your
``manage.py`` (docs/your-app.md).

Only logging is set here: with ``DJANGO_APP_LOG_FORMAT=json`` (the platform sets it) gunicorn's
error and access logs become one JSON object per line on stdout for Cloud Logging; otherwise
gunicorn keeps its text logs. Command-line flags still win for everything else.
"""
import os

import cloud_logging

logconfig_dict = cloud_logging.gunicorn_logconfig(os.environ)
