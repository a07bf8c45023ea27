"""deploy/: what can be checked without a Docker engine or a cluster. Every variable the files set is one the
settings read, every command is a real entry point and queue, every probe path answers."""

import re
from pathlib import Path

import yaml
from django.core.management import get_commands
from django.urls import resolve

from recsite.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def settings_variables() -> set[str]:
    """Environment variables the settings read (env.str("X"), env.db_url("X"), ...)."""
    text = "\n".join(p.read_text() for p in (ROOT / "recsite" / "settings").glob("*.py"))
    return set(re.findall(r"env\.\w+\(\s*\"([A-Z][A-Z0-9_]*)\"", text))


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def k8s() -> list[dict]:
    return [doc for doc in yaml.safe_load_all((DEPLOY / "k8s" / "recsite.yaml").read_text()) if doc]


def recsite_containers() -> list[dict]:
    containers = []
    for doc in k8s():
        spec = doc.get("spec", {}).get("template", {}).get("spec", {})
        containers += [c for c in spec.get("containers", []) if c.get("image", "").startswith("recsite")]
    return containers


def test_every_variable_the_files_set_is_read_by_the_settings():
    # POD_NAME: the worker's own name in its Celery node name; DJANGO_SETTINGS_MODULE: read by the entry points
    known = settings_variables() | {"POD_NAME", "DJANGO_SETTINGS_MODULE"}
    assert {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "MILVUS_URI", "LOG_FORMAT"} <= known
    services = compose()["services"]
    for name in ("web", "worker-training", "worker-default", "beat"):
        assert set(services[name]["environment"]) <= known, name
    config_map = next(doc for doc in k8s() if doc["kind"] == "ConfigMap")
    assert set(config_map["data"]) <= known
    for container in recsite_containers():
        assert {e["name"] for e in container.get("env", [])} <= known


def test_every_queue_a_worker_takes_is_a_queue_tasks_go_to():
    routed = {route["queue"] for route in celery_app.conf.task_routes.values()} | {celery_app.conf.task_default_queue}
    commands = [s.get("command") for s in compose()["services"].values() if s.get("command")]
    commands += [c["command"] for c in recsite_containers() if c.get("command")]
    queues = {cmd[cmd.index("-Q") + 1] for cmd in commands if "-Q" in cmd}
    assert queues == routed == {"training", "default", "training_peers"}


def test_management_commands_and_modules_named_in_the_files_exist():
    text = "\n".join(p.read_text() for p in DEPLOY.rglob("*") if p.is_file())
    for command in set(re.findall(r"manage\.py\W+(\w+)", text)):
        assert command in get_commands(), command
    assert (ROOT / "recsite" / "gunicorn_conf.py").exists() and "python:recsite.gunicorn_conf" in text
    assert "requirements.txt" in (DEPLOY / "Dockerfile").read_text()


def test_probes_point_at_the_health_routes():
    for path in ("/healthz", "/readyz"):
        assert resolve(path).url_name == path.strip("/")
    web = next(c for c in recsite_containers() if c["name"] == "web")
    probes = {p: web[p]["httpGet"]["path"] for p in ("readinessProbe", "livenessProbe", "startupProbe")}
    assert probes == {"readinessProbe": "/readyz", "livenessProbe": "/healthz", "startupProbe": "/healthz"}
    assert "/readyz" in " ".join(compose()["services"]["web"]["healthcheck"]["test"])


def test_deployments_choose_settings_without_development_defaults():
    modules = {compose()["services"][name]["environment"]["DJANGO_SETTINGS_MODULE"] for name in ("web", "beat")}
    config_map = next(doc for doc in k8s() if doc["kind"] == "ConfigMap")
    assert modules | {config_map["data"]["DJANGO_SETTINGS_MODULE"]} <= {
        "recsite.settings.base",
        "recsite.settings.production",
    }
