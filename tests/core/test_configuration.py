"""Every variable of the README's Configuration table works from the environment and from a .env file.

Each check runs real processes (``manage.py shell``, ``python -c`` importing an entry point) with an environment
cleaned of every documented variable and RECSITE_ENV_FILE pointing at a file of the test's own, so neither this
test run's variables nor a developer's own .env leak in.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow(reason="a real manage.py / python process per configuration variable")

ROOT = Path(__file__).resolve().parents[2]
README_SECTION = ROOT.joinpath("README.md").read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
# every `NAME` in the first column of the README's Configuration table
DOCUMENTED = [
    name
    for line in README_SECTION.splitlines()
    if line.startswith("| `")
    for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1])
]
EXAMPLE = ROOT.joinpath(".env.example").read_text()
IN_EXAMPLE = set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]+)=", EXAMPLE, flags=re.MULTILINE))

# A value for every variable, unlike its default, and what the running process shows of it ({tmp}: a fresh folder).
# DJANGO_SETTINGS_MODULE is checked on its own (it picks the settings module the others are read by), and
# RECSITE_ENV_FILE names the file itself.
VALUES = {
    "SECRET_KEY": ("Zq8x2-vR7pL0mN4wS9tY6uE3iO1aB5cD-config-test-key-0123456789", "s.SECRET_KEY"),
    "ALLOWED_HOSTS": ("a.example.org,b.example.org", "s.ALLOWED_HOSTS"),
    "CSRF_TRUSTED_ORIGINS": ("https://a.example.org", "s.CSRF_TRUSTED_ORIGINS"),
    "DATABASE_URL": (
        "postgres://u@127.0.0.1:5432/configtest",
        "[s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME']]",
    ),
    "CONN_MAX_AGE": ("60", "s.DATABASES['default']['CONN_MAX_AGE']"),
    "REDIS_URL": ("redis://127.0.0.1:6390/4", "s.CACHES['default']"),
    "CELERY_BROKER_URL": ("redis://127.0.0.1:6390/5", "app.conf.broker_url"),
    "CELERY_RESULT_BACKEND": ("redis://127.0.0.1:6390/6", "app.conf.result_backend"),
    "CELERY_TASK_ALWAYS_EAGER": ("true", "app.conf.task_always_eager"),
    "CELERY_TASK_SOFT_TIME_LIMIT": ("100", "app.conf.task_soft_time_limit"),
    "CELERY_TASK_TIME_LIMIT": ("130", "app.conf.task_time_limit"),
    "CELERY_BROKER_POLLING_INTERVAL": ("0.7", "sqla.Transport.polling_interval"),
    "JOBS_HEARTBEAT_SECONDS": ("7", "s.JOBS_HEARTBEAT_SECONDS"),
    "JOBS_STALE_SECONDS": ("70", "s.JOBS_STALE_SECONDS"),
    "JOBS_QUEUED_TIMEOUT_SECONDS": ("700", "s.JOBS_QUEUED_TIMEOUT_SECONDS"),
    "RETRAIN_SCHEDULE": ("0 3 * * 0", "s.RETRAIN_SCHEDULE"),
    "RETRAIN_CONFIG_FILE": ("{tmp}/retrain.toml", "s.RETRAIN_CONFIG_FILE"),
    "TRAINING_CONFIG_DIR": ("{tmp}/configs-here", "str(s.TRAINING_CONFIG_DIR)"),
    "BATCH_DIR": ("{tmp}/batch-files", "str(s.BATCH_DIR)"),
    "TRAINING_PROCESSES": ("3", "s.TRAINING_PROCESSES"),
    "TRAINING_NODES": ("2", "s.TRAINING_NODES"),
    "TRAINING_MASTER": ("10.9.8.7:8090", "s.TRAINING_MASTER"),
    "TRAINING_NODE_ADDRESS": ("10.9.8.6", "s.TRAINING_NODE_ADDRESS"),
    "TRAINING_JOIN_TIMEOUT_SECONDS": ("45", "s.TRAINING_JOIN_TIMEOUT_SECONDS"),
    "MILVUS_URI": ("{tmp}/vectors/milvus.db", "s.MILVUS_URI"),
    "MILVUS_TOKEN": ("root:Milvus", "s.MILVUS_TOKEN"),
    "MILVUS_ALIAS": ("cfg_live", "s.MILVUS_ALIAS"),
    "MILVUS_COLLECTION_PREFIX": ("cfg_v", "s.MILVUS_COLLECTION_PREFIX"),
    "MILVUS_TIMEOUT": ("3.5", "s.MILVUS_TIMEOUT"),
    "MILVUS_WEB_TIMEOUT": ("0.75", "s.MILVUS_WEB_TIMEOUT"),
    "BROKER_PUBLISH_TIMEOUT": ("1.25", "s.BROKER_PUBLISH_TIMEOUT"),
    "IMPRESSION_RETENTION_DAYS": ("30", "s.IMPRESSION_RETENTION_DAYS"),
    "ATTRIBUTION_WINDOW_DAYS": ("3", "s.ATTRIBUTION_WINDOW_DAYS"),
    "IMPRESSIONS_WRITE": ("inline", "s.IMPRESSIONS_WRITE"),
    "MILVUS_BREAKER_FAILURES": ("7", "s.MILVUS_BREAKER_FAILURES"),
    "MILVUS_BREAKER_SECONDS": ("12.5", "s.MILVUS_BREAKER_SECONDS"),
    "MILVUS_KEEP_COLLECTIONS": ("7", "s.MILVUS_KEEP_COLLECTIONS"),
    "MOVIELENS_PATH": ("{tmp}/ml-100k.zip", "s.MOVIELENS_PATH"),
    "MOVIELENS_URL": ("http://127.0.0.1:9/ml.zip", "s.MOVIELENS_URL"),
    "MOVIELENS_MD5": ("0" * 32, "s.MOVIELENS_MD5"),
    "MODEL_DIR": ("{tmp}/models-here", "str(s.MODEL_DIR)"),
    "RECSITE_VAR_DIR": ("{tmp}/var-here", "[str(s.VAR_DIR), str(s.STATIC_ROOT)]"),
    "API_THROTTLE_ANON": ("7/minute", "s.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['anon']"),
    "API_THROTTLE_USER": ("77/minute", "s.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['user']"),
    "NUM_PROXIES": ("1", "[s.NUM_PROXIES, api_settings.NUM_PROXIES]"),
    "LOGIN_FAILURES_PER_ACCOUNT": ("4", "s.LOGIN_FAILURES_PER_ACCOUNT"),
    "LOGIN_FAILURES_PER_ADDRESS": ("40", "s.LOGIN_FAILURES_PER_ADDRESS"),
    "LOGIN_FAILURES_WINDOW_SECONDS": ("60", "s.LOGIN_FAILURES_WINDOW_SECONDS"),
    "LOG_LEVEL": ("WARNING", "logging.getLogger().level"),
    "MILVUS_SEARCH_EF": ("512", "s.MILVUS_SEARCH_EF"),
    "RECS_CACHE_SECONDS": ("0", "s.RECS_CACHE_SECONDS"),
    "LOG_FORMAT": ("json", "s.LOGGING['handlers']['console']['formatter']"),
    "DEBUG": ("false", "s.DEBUG"),
}
SEEN_CODE = (
    "import json, logging; from django.conf import settings as s; from recsite.celery import app;"
    "from kombu.transport import sqlalchemy as sqla; from rest_framework.settings import api_settings;"
    "print('SEEN', json.dumps({"
    + ", ".join(f"{name!r}: {expression}" for name, (_, expression) in VALUES.items())
    + "}, default=str))"
)
NOT_INHERITED = {*DOCUMENTED, *VALUES, "RECSITE_ENV_FILE", "RECSITE_TEST_VAR_DIR", "PYTHON_DOTENV_DISABLED"}


def run(argv: list[str], env_file: Path, **env: str) -> subprocess.CompletedProcess:
    """A process with only these variables set (plus PATH and the like), reading env_file as its .env."""
    full = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    full.update(env, RECSITE_ENV_FILE=str(env_file))
    result = subprocess.run(argv, cwd=ROOT, env=full, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result


def shell(code: str, env_file: Path, **env: str) -> subprocess.CompletedProcess:
    return run([sys.executable, "manage.py", "shell", "-v", "0", "-c", code], env_file, **env)


def printed(result: subprocess.CompletedProcess, tag: str):
    line = next(line for line in reversed(result.stdout.splitlines()) if line.startswith(f"{tag} "))
    return json.loads(line.split(" ", 1)[1])


def write_env_file(path: Path, values: dict[str, str]) -> Path:
    """A .env in the style of .env.example: inline comments after the values."""
    path.write_text("".join(f"{name}={value}    # set by {Path(__file__).name}\n" for name, value in values.items()))
    return path


def test_readme_table_and_env_example_list_the_same_variables():
    assert DOCUMENTED, "no variables found in the README's Configuration table"
    assert set(DOCUMENTED) - IN_EXAMPLE - {"RECSITE_ENV_FILE"} == set(), "README variables missing from .env.example"
    assert IN_EXAMPLE - set(DOCUMENTED) == set(), ".env.example variables missing from the README table"
    untested = set(DOCUMENTED) - set(VALUES) - {"DJANGO_SETTINGS_MODULE", "RECSITE_ENV_FILE"}
    assert untested == set(), "documented variables this test does not set: add a value and what it changes"


def test_every_variable_works_from_the_environment_and_from_the_env_file(tmp_path):
    values = {name: value.format(tmp=tmp_path) for name, (value, _) in VALUES.items()}
    empty = tmp_path / "empty.env"
    empty.write_text("")
    base = {"DJANGO_SETTINGS_MODULE": "recsite.settings.local"}

    default = printed(shell(SEEN_CODE, empty, **base), "SEEN")
    from_environment = printed(shell(SEEN_CODE, empty, **base, **values), "SEEN")
    from_file = printed(shell(SEEN_CODE, write_env_file(tmp_path / "all.env", values), **base), "SEEN")

    assert from_file == from_environment
    unchanged = [name for name in VALUES if from_environment[name] == default[name]]
    assert unchanged == [], f"set, yet the running process shows the default: {unchanged}"
    assert from_environment["MILVUS_URI"] == values["MILVUS_URI"]
    assert from_environment["RECSITE_VAR_DIR"][1].startswith(values["RECSITE_VAR_DIR"])  # STATIC_ROOT follows


def test_the_environment_wins_over_the_env_file(tmp_path):
    env_file = write_env_file(tmp_path / ".env", {"MILVUS_ALIAS": "from_file", "MILVUS_TIMEOUT": "4"})
    code = "from django.conf import settings as s; print('SEEN', '[\"%s\", %s]' % (s.MILVUS_ALIAS, s.MILVUS_TIMEOUT))"
    result = shell(code, env_file, DJANGO_SETTINGS_MODULE="recsite.settings.local", MILVUS_ALIAS="from_env")
    assert printed(result, "SEEN") == ["from_env", 4.0]


def test_every_default_path_follows_recsite_var_dir_from_the_env_file(tmp_path):
    var_dir = tmp_path / "data"
    env_file = write_env_file(tmp_path / ".env", {"RECSITE_VAR_DIR": str(var_dir)})
    code = (
        "import json; from django.conf import settings as s;"
        "print('SEEN', json.dumps([str(s.VAR_DIR), s.DATABASES['default']['NAME'], s.MILVUS_URI, str(s.MODEL_DIR),"
        "str(s.BATCH_DIR), str(s.STATIC_ROOT), s.CELERY_BROKER_URL]))"
    )
    paths = printed(shell(code, env_file, DJANGO_SETTINGS_MODULE="recsite.settings.local"), "SEEN")
    outside = [path for path in paths if str(var_dir) not in path]
    assert outside == [], f"not under RECSITE_VAR_DIR={var_dir}: {outside}"
    assert var_dir.is_dir()


PRINT_DEBUG = "from django.conf import settings as s; print('SEEN', str(s.DEBUG).lower())"


@pytest.mark.parametrize(
    "entry_point",
    [
        ["manage.py", "shell", "-v", "0", "-c", PRINT_DEBUG],
        ["-c", f"import recsite.wsgi; {PRINT_DEBUG}"],
        ["-c", f"import recsite.asgi; {PRINT_DEBUG}"],
        ["-c", f"from recsite.celery import app; {PRINT_DEBUG}"],
    ],
    ids=["manage.py", "wsgi", "asgi", "celery"],
)
def test_django_settings_module_from_the_env_file_picks_the_settings(tmp_path, entry_point):
    env_file = write_env_file(
        tmp_path / ".env",
        {
            "DJANGO_SETTINGS_MODULE": "recsite.settings.production",
            "SECRET_KEY": VALUES["SECRET_KEY"][0],
            "ALLOWED_HOSTS": "recsite.example.org",
            "RECSITE_VAR_DIR": str(tmp_path / "var"),
        },
    )
    result = run([sys.executable, *entry_point], env_file)  # DEBUG is on in the base settings, off in production
    assert printed(result, "SEEN") is False  # printed as JSON false


def test_a_missing_env_file_named_by_recsite_env_file_is_an_error(tmp_path):
    full = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    full["RECSITE_ENV_FILE"] = str(tmp_path / "nowhere.env")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=full, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0 and "RECSITE_ENV_FILE names" in result.stderr
    full["RECSITE_ENV_FILE"] = os.devnull  # the usual way to say "no file"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=full, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]


STORE_CODE = (
    "import json, os; from recommender.vectorstore import get_vector_store; store = get_vector_store();"
    "print('SEEN', json.dumps({'uri': store.uri, 'versions': store.list_versions(), 'live': store.live_version(),"
    "'environment': os.environ.get('MILVUS_URI')}))"
)


@pytest.mark.parametrize("source", ["environment", "env file"])
def test_a_milvus_lite_path_in_milvus_uri_opens_the_store(tmp_path, source):
    """pymilvus reads MILVUS_URI itself at import and refuses a path ("Illegal uri"); the store must still open."""
    uri = str(tmp_path / "vectors" / "milvus.db")
    variables = {"MILVUS_URI": uri, "RECSITE_VAR_DIR": str(tmp_path / "var")}
    if source == "environment":
        env_file = tmp_path / "empty.env"
        env_file.write_text("")
        result = shell(STORE_CODE, env_file, DJANGO_SETTINGS_MODULE="recsite.settings.local", **variables)
    else:
        env_file = write_env_file(tmp_path / ".env", variables)
        result = shell(STORE_CODE, env_file, DJANGO_SETTINGS_MODULE="recsite.settings.local")
    seen = printed(result, "SEEN")
    assert seen == {"uri": uri, "versions": [], "live": None, "environment": uri}  # children still inherit it
    assert "Illegal uri" not in result.stderr
    assert (tmp_path / "vectors" / "milvus.db").is_dir()  # Milvus Lite's data folder is where MILVUS_URI says
