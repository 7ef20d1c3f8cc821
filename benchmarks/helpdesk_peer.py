"""django-helpdesk served the way `api_load.py` serves sladesk, for a side-by-side ticket-creation load.

`helpdesk_peer(...)` makes everything the peer needs and yields a running server:

1. A venv of its own (by default under ~/.cache, outside the work tree) with django-helpdesk and a
   pinned set of dependencies, gunicorn and psycopg, installed with pip the first time and reused
   while the pins do not change.
2. A small Django project (settings, urls, wsgi and a set-up script) written into a temporary
   directory: DEBUG off, PostgreSQL through Django's psycopg pool (20 connections per process, as
   sladesk), DRF token authentication, mail to Django's in-memory backend (django-helpdesk mails the
   submitter on every new ticket).
3. Its own database on the same PostgreSQL server, dropped and created again each run, migrated;
   a staff user with a DRF token and one queue.
4. gunicorn with the given number of worker processes on a free loopback port: gthread workers of
   25 threads by default (sladesk's uvicorn workers run its routes on thread pools of 40), or
   gunicorn's default sync workers with `threads=1`.

Every failure of these steps is raised as `PeerError` with the step and the end of its output.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2
from rich.console import Console
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

HELPDESK_VERSION = "2.6.1"
# django-helpdesk with every dependency pinned (Django 5.2 LTS: 2.6.1 supports 5.2 and 6.0, and 6.0
# needs Python 3.12), plus the server and the PostgreSQL driver.
REQUIREMENTS: tuple[str, ...] = (
    f"django-helpdesk=={HELPDESK_VERSION}",
    "Django==5.2.19",
    "djangorestframework==3.18.3",
    "gunicorn==27.0.1",
    "psycopg==3.3.9",
    "psycopg-binary==3.3.9",
    "psycopg-pool==3.3.3",
    "asgiref==3.13.0",
    "beautifulsoup4==4.15.0",
    "certifi==2026.10.19.post1",
    "charset-normalizer==3.5.3",
    "django-cleanup==9.0.0",
    "django-model-utils==5.0.0",
    "email-reply-parser==0.5.12",
    "idna==3.20",
    "Markdown==3.11.3",
    "nh3==0.3.8",
    "oauthlib==4.0.1",
    "requests==2.34.2",
    "requests-oauthlib==2.0.0",
    "soupsieve==4.1.3",
    "sqlparse==0.6.1",
    "typing_extensions==4.16.0",
    "urllib3==2.8.0",
)
DEFAULT_DATABASE = "helpdesk_bench"
RESERVED_DATABASES = frozenset({"postgres", "template0", "template1"})
DEFAULT_THREADS = 25  # per gunicorn worker: 2 workers hold the 50 clients' requests at once
POOL_SIZE = 20  # PostgreSQL connections per process, as sladesk (sladesk.store.engine.POSTGRES_POOL_SIZE)
INSTALLED_MARKER = "sladesk-benchmark-requirements.txt"  # written into the venv once the pins are installed
PACKAGE = "helpdesk_bench_site"  # the Django project this module writes
STAFF_USER = "bench-agent"
QUEUE_SLUG = "support"


class PeerError(Exception):
    """A step of the peer's set-up failed; the message says which and why."""


def default_venv() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "sladesk-benchmarks" / f"django-helpdesk-{HELPDESK_VERSION}"


def tail(output: str, lines: int = 25) -> str:
    kept = [line for line in output.strip().splitlines() if line.strip()][-lines:]
    return "\n".join(f"    {line}" for line in kept)


def run_step(step: str, command: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    """Run a set-up command; its combined output, or PeerError naming the step with the end of the output."""
    try:
        done = subprocess.run(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PeerError(f"{step} failed: {error}") from None
    if done.returncode != 0:
        raise PeerError(f"{step} failed (exit status {done.returncode}):\n{tail(done.stdout)}")
    return done.stdout


# 1. the venv


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(venv: Path, console: Console) -> Path:
    """The venv's python, creating the venv and installing the pins the first time (or after they change)."""
    wanted = "\n".join(REQUIREMENTS) + "\n"
    marker = venv / INSTALLED_MARKER
    python = venv_python(venv)
    if marker.is_file() and marker.read_text() == wanted and python.exists():
        return python
    if venv.exists() and any(venv.iterdir()) and not (venv / "pyvenv.cfg").is_file():
        raise PeerError(f"{venv} exists and is not a venv; give another directory with --peer-venv")
    console.print(f"Installing django-helpdesk {HELPDESK_VERSION} and its pinned dependencies into {venv} ...")
    venv.parent.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    run_step("creating the peer venv", [sys.executable, "-m", "venv", "--clear", str(venv)])
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("VIRTUAL_ENV", None)
    run_step(
        "installing django-helpdesk into the peer venv (pip)",
        [str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS],
        env=env,
        timeout=1200,
    )
    marker.write_text(wanted)
    return python


# 2. the Django project, written for each run

SETTINGS = '''\
"""Settings of the django-helpdesk instance the sladesk API benchmark loads (written by benchmarks/helpdesk_peer.py)."""

SECRET_KEY = {secret_key!r}
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.sites",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "helpdesk",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "{package}.urls"
WSGI_APPLICATION = "{package}.wsgi.application"
TEMPLATES = [
    {{
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {{
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        }},
    }},
]

DATABASES = {{
    "default": {{
        "ENGINE": "django.db.backends.postgresql",
        "NAME": {name!r},
        "USER": {user!r},
        "PASSWORD": {password!r},
        "HOST": {host!r},
        "PORT": {port!r},
        # a pool of at most {pool_size} connections per process, as sladesk's engine keeps
        "OPTIONS": {{"pool": {{"min_size": 1, "max_size": {pool_size}, "timeout": 60}}}},
    }},
}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
SITE_ID = 1
STATIC_URL = "static/"
MEDIA_ROOT = {media_root!r}

REST_FRAMEWORK = {{
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
}}

# django-helpdesk: no teams (its optional extra is not installed), knowledge base left on (the default)
HELPDESK_TEAMS_MODE_ENABLED = False
# it mails the submitter of every new ticket: keep the messages in memory
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = "helpdesk@example.com"
'''

URLS = '''\
"""django-helpdesk at the root; its REST API is /api/ (written by benchmarks/helpdesk_peer.py)."""

from django.urls import include, path

urlpatterns = [path("", include("helpdesk.urls"))]
'''

WSGI = '''\
"""The WSGI application gunicorn serves (written by benchmarks/helpdesk_peer.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{package}.settings")
application = get_wsgi_application()
'''

SETUP_DESK = '''\
"""Make the staff user, its API token and the queue; print them as JSON (written by benchmarks/helpdesk_peer.py)."""

import json

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from helpdesk.models import Queue  # noqa: E402

user = get_user_model().objects.create_superuser({user!r}, "agent@example.com", None)
token = Token.objects.create(user=user)
queue = Queue.objects.create(title="Support", slug={slug!r}, allow_public_submission=False)
print(json.dumps({{"token": token.key, "queue": queue.id}}))
'''


def write_project(directory: Path, database: URL) -> None:
    """The Django project, as package `PACKAGE` in `directory`."""
    package = directory / PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(
        SETTINGS.format(
            secret_key=secrets.token_urlsafe(40),
            package=PACKAGE,
            name=database.database,
            user=database.username or "",
            password=database.password or "",
            host=database.host or "",
            port=str(database.port or ""),
            pool_size=POOL_SIZE,
            media_root=str(directory / "media"),
        )
    )
    (package / "urls.py").write_text(URLS)
    (package / "wsgi.py").write_text(WSGI.format(package=PACKAGE))
    (directory / "setup_desk.py").write_text(SETUP_DESK.format(user=STAFF_USER, slug=QUEUE_SLUG))


# 3. the database


def database_url(server_url: str, name: str) -> URL:
    """Database `name` on the server of `server_url`, as a plain psycopg URL."""
    url = make_url(server_url)
    if not url.get_backend_name().startswith("postgresql"):
        raise PeerError(f"the peer needs PostgreSQL, not {url.get_backend_name()}")
    # it is dropped and created again: never the database the URL names, nor one of PostgreSQL's own
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name) or name in {url.database, *RESERVED_DATABASES}:
        raise PeerError(
            f"{name!r} cannot be the peer's database: it is dropped and created again, so it must be a plain "
            f"lower-case name other than {url.database!r} and {', '.join(sorted(RESERVED_DATABASES))}"
        )
    return url.set(drivername="postgresql+psycopg", database=name, query={})


def recreate_database(server_url: str, name: str) -> None:
    """Drop database `name` if it is there and create it empty, through the database of `server_url`."""
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as error:
        raise PeerError(f"could not create database {name!r} for the peer: {error.args[0]}") from None
    finally:
        engine.dispose()


def drop_database(server_url: str, name: str, console: Console) -> None:
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    except SQLAlchemyError as error:
        console.print(f"[yellow]could not drop the peer's database {name!r}: {error.args[0]}[/yellow]")
    finally:
        engine.dispose()


# 4. the server


@dataclass
class Peer:
    base: str
    pid: int  # the gunicorn master: its process tree is the peer's API
    headers: dict[str, str]
    queue_id: int
    database: str
    workers: int
    threads: int


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_ready(process: subprocess.Popen[bytes], url: str, headers: dict[str, str], log: Path) -> None:
    deadline = time.monotonic() + 60
    last = ""
    while True:
        if process.poll() is not None:
            raise PeerError(f"gunicorn exited with status {process.returncode}:\n{tail(log.read_text())}")
        try:
            response = httpx2.get(url, headers=headers, timeout=5)
            if response.status_code == 200:
                return
            last = f"{response.status_code}: {response.text[:300]}"
        except httpx2.TransportError as error:
            last = f"{type(error).__name__}: {error}"
        if time.monotonic() > deadline:
            raise PeerError(f"django-helpdesk did not answer GET {url} within 60 s (last: {last})")
        time.sleep(0.2)


@contextmanager
def helpdesk_peer(
    server_url: str,
    *,
    workers: int,
    threads: int = DEFAULT_THREADS,
    venv: Path,
    database: str = DEFAULT_DATABASE,
    console: Console,
) -> Iterator[Peer]:
    """django-helpdesk under gunicorn with `workers` processes, on a fresh database `database`, until exit.

    With `threads` 1 the workers are gunicorn's default sync workers (one request at a time each, the
    connection closed after it); with more, gthread workers with that many threads and keep-alive."""
    url = database_url(server_url, database)
    python = ensure_venv(venv, console)
    directory = Path(tempfile.mkdtemp(prefix="helpdesk-peer-"))
    env = {
        **os.environ,
        "PYTHONPATH": str(directory),
        "DJANGO_SETTINGS_MODULE": f"{PACKAGE}.settings",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for name in ("VIRTUAL_ENV", "PYTHONHOME"):
        env.pop(name, None)
    created = False
    try:
        write_project(directory, url)
        recreate_database(server_url, database)
        created = True
        run_step("django-helpdesk: system checks", [str(python), "-m", "django", "check"], env=env)
        run_step("django-helpdesk: migrate", [str(python), "-m", "django", "migrate", "--no-input"], env=env)
        made = run_step(
            "django-helpdesk: staff user, token and queue", [str(python), str(directory / "setup_desk.py")], env=env
        )
        try:
            desk = json.loads(made.strip().splitlines()[-1])
            headers, queue_id = {"Authorization": f"Token {desk['token']}"}, int(desk["queue"])
        except (ValueError, KeyError, IndexError):
            raise PeerError(f"django-helpdesk set-up printed something unexpected:\n{tail(made)}") from None
        port = free_port()
        log = directory / "gunicorn.log"
        command = [
            str(venv / "bin" / "gunicorn"),
            f"{PACKAGE}.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            *(["--worker-class", "gthread", "--threads", str(threads)] if threads > 1 else []),
            "--log-level",
            "warning",
            "--no-control-socket",
            "--chdir",
            str(directory),
        ]
        with log.open("wb") as log_file:
            process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_ready(process, f"{base}/api/tickets/?page_size=1", headers, log)
            yield Peer(base, process.pid, headers, queue_id, database, workers, threads)
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            errors = log.read_text(errors="replace").strip()
            if errors:
                console.print("[yellow]gunicorn (django-helpdesk) wrote:[/yellow]")
                console.print(tail(errors, 15), markup=False, highlight=False)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        if created:
            drop_database(server_url, database, console)
