"""Embedded mode in one command: Milvus Lite server, Celery workers (training + default), optional beat, and the
web site under gunicorn with DEBUG off.

No external service: the broker is kombu's SQLAlchemy transport on ``var/celery-broker.sqlite3`` (unless
CELERY_BROKER_URL says otherwise) and the vector store is one Milvus Lite *server* that the web process and
the workers share over http (only one process may open a Lite data directory). A child that dies is restarted
with back-off (the site serves popular movies while Milvus is away); one that keeps dying makes serve_all stop
everything and exit 1. Ctrl-C (SIGINT) or SIGTERM stops every process it started, each with its own graceful
stop (core/supervisor.py), then SIGKILL; a clean stop prints no error and exits 0.

Health checks (core/supervisor.py): the Milvus server gets a gRPC CheckHealth (2 s deadline) and gunicorn a GET
/healthz (10 s) every --health-every seconds (10); three failures in a row and the child is SIGKILLed with its
process group and restarted, the reason logged: a hung (SIGSTOPped) Milvus is replaced within ~40 s, its data
kept (Milvus Lite keeps it in its folder). The Celery workers get no ping: a ping is a broker round trip that
fails while the broker is away (not the worker's fault); a hung training is caught by its heartbeat
(training_jobs.versions_stale_fail).
"""

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from core.supervisor import Child, Supervisor, http_ping
from recommender.vectorstore.ping import milvus_ping
from recommender.vectorstore.pymilvus_env import pymilvus_env

log = logging.getLogger(__name__)
STOP_GRACE_SECONDS = 10.0
WEB_WORKERS, WEB_THREADS = 2, 4  # gunicorn processes × threads: 8 requests at once on the 2-core machine


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(host, port):
        if proc.poll() is not None:
            raise CommandError(f"milvus-lite server exited with code {proc.returncode}")
        if time.monotonic() > deadline:
            raise CommandError(f"milvus-lite server did not listen on {host}:{port} within {timeout:.0f} s")
        time.sleep(0.2)


class Command(BaseCommand):
    help = "Run the web server, the Celery workers and the Milvus Lite server together (embedded mode)."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000", help="web server address (host:port)")
        parser.add_argument("--milvus-port", type=int, default=19530)
        parser.add_argument("--no-milvus", action="store_true", help="MILVUS_URI already names a running server")
        parser.add_argument("--beat", action="store_true", help="also run celery beat (on if RETRAIN_SCHEDULE is set)")
        parser.add_argument("--no-web", action="store_true", help="workers (and Milvus) only")
        parser.add_argument(
            "--health-every", type=float, default=10.0, help="seconds between health checks of Milvus and the web"
        )

    def handle(self, *args, **options):
        self.verbosity = options["verbosity"]
        self.health_every = max(0.5, options["health_every"])
        self.supervisor = Supervisor(lambda line: self.stderr.write(f"[serve_all] {line}"))
        env = {**os.environ, "DEBUG": "false"}  # the site as users get it: no debug pages, no URL list on a 404
        if settings.DEBUG and os.environ.get("DEBUG"):
            self.stderr.write("[serve_all] DEBUG is ignored here: the site runs with DEBUG off (runserver debugs)")
        self.stopping, self.stopped_by = False, ""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        try:
            if not options["no_milvus"] and not str(settings.MILVUS_URI).startswith(("http://", "https://")):
                env["MILVUS_URI"] = self._start_milvus(options["milvus_port"])
            self._start_workers(env, beat=options["beat"] or bool(settings.RETRAIN_SCHEDULE))
            if not options["no_web"]:
                self._start_web(options["addr"], env)
            status = self.supervisor.run(lambda: self.stopping)
        finally:
            self.supervisor.stop_all(STOP_GRACE_SECONDS)
            self._running_work_fail()
            self.stdout.write("[serve_all] stopped")
        if status:
            raise CommandError(self.supervisor.gave_up or "a child process kept crashing")

    def _on_signal(self, signum, frame) -> None:
        self.stopping, self.stopped_by = True, signal.Signals(signum).name

    def _running_work_fail(self) -> None:
        """Its workers are stopped now: a version the training worker was running is failed with the reason, not
        left "training" until the next start (the decision: recommender/services/training_jobs.py)."""
        from recommender.services.training_jobs import versions_fail_on_stop

        if not any(child.name == "worker-training" for child in self.supervisor.children):
            return  # it never started one (a failed start): a training running now belongs to someone else
        how = self.stopped_by or "serve_all itself (a child kept crashing)"
        try:
            failed = versions_fail_on_stop(hostname=f"training@{socket.gethostname()}", how=how)
        except Exception as exc:  # noqa: BLE001 - e.g. the database is away: the next worker start fails them
            self.stderr.write(f"[serve_all] could not mark running trainings failed: {exc}")
            return
        if failed:
            self.stderr.write(f"[serve_all] model version(s) {failed} were training: marked failed ({how})")

    def _start(self, name: str, argv: list[str], env: dict, **child) -> subprocess.Popen:
        return self.supervisor.start(Child(name, argv, env, cwd=str(settings.BASE_DIR), **child)).proc

    def _start_milvus(self, port: int) -> str:
        if port_open("127.0.0.1", port):
            raise CommandError(f"port {port} is taken: stop that process or pass --milvus-port")
        # The server opens the very folder that MILVUS_URI names, so what train_model or setup_demo wrote
        # in-process (Milvus Lite) is what the web process and the workers see (same on-disk format).
        data_dir = Path(settings.MILVUS_URI)
        argv = ["milvus-lite", "server", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port)]
        env = pymilvus_env(os.environ)  # it imports pymilvus, which refuses a path in MILVUS_URI (env or .env)
        # SIGINT is its graceful stop (drain requests, flush, close the data folder); stopped after its clients.
        exe = str(Path(sys.executable).with_name("milvus-lite"))
        proc = self._start(
            "milvus",
            [exe, *argv[1:]],
            env,
            stop_signal=signal.SIGINT,
            stops_last=True,
            health=lambda: milvus_ping(f"127.0.0.1:{port}", timeout=2.0),
            health_every=self.health_every,
        )
        wait_for_port("127.0.0.1", port, 60.0, proc)
        return f"http://127.0.0.1:{port}"

    def _start_workers(self, env: dict, *, beat: bool) -> None:
        celery = [sys.executable, "-m", "celery", "-A", "recsite", *(["--quiet"] if self.verbosity < 2 else [])]
        level = "info" if self.verbosity > 1 else "warning"
        # Two workers so a long training never delays a batch job or a vector sync.
        self._start(
            "worker-training", [*celery, "worker", "-Q", "training", "-c", "1", "-n", "training@%h", "-l", level], env
        )
        self._start(
            "worker-default", [*celery, "worker", "-Q", "default", "-c", "1", "-n", "default@%h", "-l", level], env
        )
        if beat:
            schedule = str(Path(settings.VAR_DIR) / "celerybeat-schedule")
            self._start("beat", [*celery, "beat", "-l", level, "-s", schedule], env)

    def _start_web(self, addr: str, env: dict) -> None:
        """gunicorn (a production server, not runserver); whitenoise serves the collected static files."""
        call_command("collectstatic", interactive=False, verbosity=0)
        argv = [str(Path(sys.executable).with_name("gunicorn")), "recsite.wsgi:application", "--bind", addr,
                "--config", "python:recsite.gunicorn_conf",  # loads the model as each worker starts
                "--workers", str(WEB_WORKERS), "--threads", str(WEB_THREADS), "--timeout", "120",
                "--graceful-timeout", str(int(STOP_GRACE_SECONDS) - 2), "--log-level",
                "info" if self.verbosity > 1 else "warning"]  # fmt: skip
        if self.verbosity > 1:
            argv += ["--access-logfile", "-"]
        host, _, port = addr.rpartition(":")
        host = "127.0.0.1" if host in {"", "0.0.0.0", "[::]"} else host.strip("[]")

        def site_up(child: Child) -> None:  # once per start of gunicorn (restarts included)
            log.info("site up at http://%s:%s/", host if ":" not in host else f"[{host}]", port)

        # pinged every 0.5 s until its first answer (the "site up" line comes soon), then every --health-every s
        self._start(
            "web",
            argv,
            env,
            health=lambda: http_ping(host, int(port), "/healthz", timeout=10.0),
            health_every=self.health_every,
            health_grace=300.0,
            starting_every=0.5,
            on_answer=site_up,
        )
