"""Base settings: everything comes from the environment, and nothing unsafe is a default.

The services default to the embedded mode (no variable set): SQLite and Milvus Lite under ``var/``,
local-memory cache, Celery with a SQLite-backed broker. Production sets DATABASE_URL, REDIS_URL,
CELERY_BROKER_URL, MILVUS_URI (see ``.env.example``). Used alone, these settings run with DEBUG off, no secret
key and no allowed host: ``local`` (the default of manage.py, wsgi.py, asgi.py and the Celery app) adds the
development defaults for one machine, ``production`` insists on real values, ``test`` builds on ``local``.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from recommender import milvus_defaults as milvus
from recsite.envfile import env_file_read

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env_file_read()  # the optional .env file (a real environment variable wins): before any variable is read
env = environ.Env()

VAR_DIR = Path(env.str("RECSITE_VAR_DIR", default=str(BASE_DIR / "var")))  # every default path derives from it
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")  # empty: Django refuses to sign anything (local.py has a dev key)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "movies",
    "recommender",
    "api",
    "web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "recsite.urls"
WSGI_APPLICATION = "recsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database: SQLite under var/ unless DATABASE_URL is set (postgres://... uses psycopg 3) ---
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'recsite.sqlite3'}"),
}
# SQLite allows one writer at a time. With its default (DEFERRED) transactions a transaction that has read
# and then wants to write fails at once with "database is locked" when another writer got there first: the
# busy timeout is not applied to that upgrade. IMMEDIATE takes the write lock at BEGIN, so concurrent writers
# queue on the busy timeout instead (without it, 36-39 of 60 simultaneous rating PUTs answered 500; see
# tests/faults). WAL lets readers run while a writer holds the lock; synchronous=NORMAL is safe in WAL mode
# (a power loss can lose the last commits, never corrupt the file). PostgreSQL (DATABASE_URL=postgres://...)
# gets none of this: it is left as it is.
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,  # seconds a connection waits for the write lock before "database is locked"
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # options given in DATABASE_URL (sqlite:///path?timeout=5) take precedence
    DATABASES["default"]["OPTIONS"] = {**SQLITE_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache: local memory unless REDIS_URL is set; the limits' store ("limits") shared by every web process ---
# Redis down or hung never fails a request: core.cache answers as an empty cache meanwhile (logged once a
# minute), and the socket timeouts keep a hung Redis from holding a request longer than a fraction of a second.
# Sessions stay in the database (Django's default engine), so log-ins survive a Redis outage; the API throttle
# and the log-in limits count nothing while it lasts (they let requests through).
# The limits (log-in failures: movies/logins.py; the API throttles: api/throttling.py) count in the
# LIMITS_CACHE alias, which every gunicorn worker and every web process of the deployment must share (a count
# per process let 20 wrong passwords through a limit of 10). With REDIS_URL: the default alias itself, the same Redis
# (atomic INCR; one connection pool per thread, not two). Without (the embedded default, one machine, as its SQLite
# file and Milvus Lite are): files under var/limits, whose add and incr core.cache.SharedFileCache makes atomic
# across processes with a lock file; no table to create, and no write transaction on the site's SQLite file per API
# request. Local memory would be per process again.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    LIMITS_CACHE = "default"
    CACHES = {
        "default": {
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5, "RETRY_SECONDS": 2.0},
        }
    }
else:
    LIMITS_CACHE = "limits"
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "recsite"},
        LIMITS_CACHE: {
            "BACKEND": "core.cache.SharedFileCache",
            "LOCATION": str(VAR_DIR / "limits"),
            # expired entries are removed first when it is full (core.cache); a live count is never culled early
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        },
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]

LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        # LOG_FORMAT=json (deploy/): one JSON object a line, for a log collector (python-json-logger)
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    # Django logs every 4xx answer as a WARNING (django.request): the client's business, answered by the site;
    # only 5xx answers (a server error) reach the console (core/quiet.py)
    "filters": {"server_errors_only": {"()": "core.quiet.ServerErrorsOnly"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # faiss logs at INFO which CPU build it loads, at each start of a process that opens a vector index
        "faiss.loader": {"level": "WARNING"},
        "django.request": {"filters": ["server_errors_only"]},
    },
}

# --- MovieLens data ---
MOVIELENS_URL = env.str("MOVIELENS_URL", default="https://files.grouplens.org/datasets/movielens/ml-1m.zip")
# MD5 published by GroupLens beside ml-1m.zip (ml-1m.zip.md5).
MOVIELENS_MD5 = env.str("MOVIELENS_MD5", default="c4d9eecfca2ab87c1945afe126590906")
MOVIELENS_PATH = env.str("MOVIELENS_PATH", default="")  # a local ml-1m folder or zip, skips the download

# --- model artifacts and vectors ---
MODEL_DIR = Path(env.str("MODEL_DIR", default=str(VAR_DIR / "models")))
MILVUS_URI = env.str("MILVUS_URI", default=str(VAR_DIR / "milvus.db"))
MILVUS_TOKEN = env.str("MILVUS_TOKEN", default="")
# The defaults of these MILVUS_* settings: recommender/milvus_defaults.py (VectorStore's own too).
MILVUS_ALIAS = env.str("MILVUS_ALIAS", default=milvus.ALIAS)
MILVUS_COLLECTION_PREFIX = env.str("MILVUS_COLLECTION_PREFIX", default=milvus.COLLECTION_PREFIX)
MILVUS_TIMEOUT = env.float("MILVUS_TIMEOUT", default=milvus.TIMEOUT)  # seconds, the deadline of each Milvus call
MILVUS_INDEX_TYPE = milvus.INDEX_TYPE  # HNSW, IVF_FLAT or FLAT: a settings value, not an environment variable
# HNSW search beam floor; 0 = max(64, 2 x results). Raise it for catalogues far beyond MovieLens (see README).
MILVUS_SEARCH_EF = env.int("MILVUS_SEARCH_EF", default=milvus.SEARCH_EF)
# A user's vector and candidate pool are cached until their next rating or "not interested" (the write bumps a
# stamp the cache key holds: recommender/services/user_state.py); this bounds an entry's life. 0: never cached.
RECS_CACHE_SECONDS = env.int("RECS_CACHE_SECONDS", default=600)
# Circuit breaker (recommender/vectorstore/breaker.py), for a Milvus server: after this many consecutive failed
# calls, or one that ran out MILVUS_TIMEOUT, calls fail at once (the popularity fallback) for this many seconds,
# then one probe decides whether it closes again.
MILVUS_BREAKER_FAILURES = env.int("MILVUS_BREAKER_FAILURES", default=milvus.BREAKER_FAILURES)
MILVUS_BREAKER_SECONDS = env.float("MILVUS_BREAKER_SECONDS", default=milvus.BREAKER_SECONDS)
# After each activation, the collections of the newest N versions stay (the live one and the rollback target, the
# version active before it, always among them); older ones are dropped and their versions retired (they cannot be
# activated again). 0 keeps every collection. See recommender/services/vectors.py (collections_retire).
MILVUS_KEEP_COLLECTIONS = env.int("MILVUS_KEEP_COLLECTIONS", default=3)

# --- Celery (see recsite/celery.py and the README for the choice of the embedded broker) ---
# Embedded default: kombu's SQLAlchemy transport on a SQLite file (no service to run; atomic writes).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
# A task whose worker process died is acknowledged (not redelivered) and its row marked failed by the
# task_failure handler in recommender/tasks.py: a training that killed its worker must not run again forever.
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=3 * 3600)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=3 * 3600 + 300)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

# --- background jobs (recommender/services/training_jobs.py) ---
# A running training refreshes ModelVersion.heartbeat_at this often; one silent for JOBS_STALE_SECONDS is
# declared dead (its worker was killed) and marked failed, which frees the one-training-at-a-time lock.
JOBS_HEARTBEAT_SECONDS = env.float("JOBS_HEARTBEAT_SECONDS", default=30.0)
JOBS_STALE_SECONDS = env.float("JOBS_STALE_SECONDS", default=300.0)
# A version still queued after this long was never picked up (no training worker running): marked failed.
JOBS_QUEUED_TIMEOUT_SECONDS = env.float("JOBS_QUEUED_TIMEOUT_SECONDS", default=6 * 3600.0)
BATCH_DIR = Path(env.str("BATCH_DIR", default=str(VAR_DIR / "batch")))
# Scheduled retraining (celery beat): a crontab "minute hour day-of-month month day-of-week", e.g. "0 3 * * 0".
# Empty (default) creates no schedule; once created it is edited in the admin (Periodic tasks), not here.
RETRAIN_SCHEDULE = env.str("RETRAIN_SCHEDULE", default="")
# Optional TOML of TrainConfig overrides used by "Retrain now" and scheduled retrains (default: config.toml): a name
# inside TRAINING_CONFIG_DIR or an absolute path inside it.
RETRAIN_CONFIG_FILE = env.str("RETRAIN_CONFIG_FILE", default="")
# The only folder training config files named by staff (API "config_file", RETRAIN_CONFIG_FILE) are read from:
# resolved paths inside it (no ../ or symlink escape), regular files of at most 64 KB (recommender/services/
# config_files.py). `train_model --config`, run at the server's shell, reads any path.
TRAINING_CONFIG_DIR = Path(env.str("TRAINING_CONFIG_DIR", default=str(VAR_DIR / "configs")))

# --- training on several processes and machines (recommender/services/training.py, deploy/README.md) ---
# The product's trainings (admin, API, schedule, train_model) run as TRAINING_PROCESSES data-parallel processes on
# each of TRAINING_NODES machines (1 x 1: inside the training worker), unless a version's config sets
# trainer_processes itself (then that many on the training worker's machine only). With TRAINING_NODES > 1 the
# training worker's launcher waits at TRAINING_MASTER ("host:port" on the training worker's machine, reachable from
# the others) and TRAINING_NODES - 1 workers on the training_peers queue (one per other machine, sharing MODEL_DIR at
# the same path) join it; a launch fails when fewer joined within TRAINING_JOIN_TIMEOUT_SECONDS.
# TRAINING_NODE_ADDRESS: this machine's address as the others reach it (set on every training machine; empty: the
# launcher's guess from the host name).
try:
    TRAINING_PROCESSES = env.int("TRAINING_PROCESSES", default=1)
    TRAINING_NODES = env.int("TRAINING_NODES", default=1)
    TRAINING_JOIN_TIMEOUT_SECONDS = env.float("TRAINING_JOIN_TIMEOUT_SECONDS", default=300.0)
except ValueError as exc:
    raise ImproperlyConfigured(
        f"TRAINING_PROCESSES and TRAINING_NODES must be whole numbers, TRAINING_JOIN_TIMEOUT_SECONDS a number ({exc})"
    ) from None
TRAINING_MASTER = env.str("TRAINING_MASTER", default="")
TRAINING_NODE_ADDRESS = env.str("TRAINING_NODE_ADDRESS", default="")


def training_settings_check(processes: int, nodes: int, master: str, join_timeout: float) -> None:
    """ImproperlyConfigured with the reason for values the training could not run with."""
    if processes < 1 or nodes < 1:
        raise ImproperlyConfigured(f"TRAINING_PROCESSES ({processes}) and TRAINING_NODES ({nodes}) must be >= 1")
    if join_timeout <= 0:
        raise ImproperlyConfigured(f"TRAINING_JOIN_TIMEOUT_SECONDS must be > 0, not {join_timeout}")
    if nodes == 1:
        return
    host, _, port = master.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ImproperlyConfigured(
            f"TRAINING_NODES={nodes} needs TRAINING_MASTER=host:port (the training worker's machine, a free port the "
            f"other machines reach), not {master!r}"
        )


training_settings_check(TRAINING_PROCESSES, TRAINING_NODES, TRAINING_MASTER, TRAINING_JOIN_TIMEOUT_SECONDS)

# --- client addresses and log-in limits (movies/logins.py) ---
# Reverse proxies in front of the site whose X-Forwarded-For entries are trusted: 0 = none, the client is the
# socket's address and a client-sent X-Forwarded-For is ignored (it would otherwise reset the API throttle);
# N = N proxies, each appending the address it saw: the client is the N-th entry from the right.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
# Failed log-ins (site, admin, API token) allowed per account and per client address in a window that starts at
# the first failure; past either, every attempt is refused until the window ends (API 429, a form error).
LOGIN_FAILURES_PER_ACCOUNT = env.int("LOGIN_FAILURES_PER_ACCOUNT", default=10)
LOGIN_FAILURES_PER_ADDRESS = env.int("LOGIN_FAILURES_PER_ADDRESS", default=30)
LOGIN_FAILURES_WINDOW_SECONDS = env.int("LOGIN_FAILURES_WINDOW_SECONDS", default=300)

# --- REST framework ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [  # the API's own classes put the token first (api/base.py)
        "rest_framework.authentication.SessionAuthentication",
        "api.authentication.TokenOrBearerAuthentication",  # "Token <key>" or "Bearer <key>"
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.api_exception_handler",  # one {"message", "extra"} format
    # DRF's JSON parser with a nesting limit (a 6 KB [[[[... body was a RecursionError, a 500), then DRF's own
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    # anonymous (per client address) and per-user throttles, reading these rates when used, counted in LIMITS_CACHE
    "DEFAULT_THROTTLE_CLASSES": [
        "api.throttling.AnonThrottle",
        "api.throttling.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        # anonymous callers: the public catalogue (/api/movies/...), logging in, the schema
        "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
        "user": env.str("API_THROTTLE_USER", default="1200/minute"),
    },
    "NUM_PROXIES": NUM_PROXIES,  # the throttles' client address (DRF's default, None, trusts X-Forwarded-For)
}
SPECTACULAR_SETTINGS = {
    "TITLE": "recsite API",
    "DESCRIPTION": "Movies, ratings and two-tower recommendations.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # drf-spectacular's enum hook, then the tags' descriptions (api/base.py TAGS)
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "api.base.schema_tags"],
}

# --- deadlines for dependencies (issue #24) ---
# A task message's publish (recommender/services/enqueue.py): with the broker hung, a request waits this long at
# most, then answers 503 with the job failed and the reason.
BROKER_PUBLISH_TIMEOUT = env.float("BROKER_PUBLISH_TIMEOUT", default=2.0)
# The deadline of each Milvus call a web request makes (each gunicorn worker sets it: recsite/gunicorn_conf.py);
# workers and commands keep MILVUS_TIMEOUT. A hung Milvus costs a request this long once, then the breaker opens.
# 1 s: a search answers in milliseconds; at 1.5 s a hung Milvus plus a request's own work on a busy 2-core machine
# went past 2 s (tests/faults/test_serve_all.py, serve_all training beside it).
MILVUS_WEB_TIMEOUT = env.float("MILVUS_WEB_TIMEOUT", default=1.0)

# --- impressions and attribution (issue #25) ---
# Impressions (lists shown) older than this are deleted daily (the "Impression retention" periodic task).
IMPRESSION_RETENTION_DAYS = env.int("IMPRESSION_RETENTION_DAYS", default=90)
# A rating, "not interested" or click counts for the latest impression that showed the movie this long before.
ATTRIBUTION_WINDOW_DAYS = env.int("ATTRIBUTION_WINDOW_DAYS", default=7)
# How lists shown are written (recommender/impressions/services.py): "deferred" (a per-process thread writes them
# every IMPRESSIONS_FLUSH_SECONDS, or at IMPRESSIONS_FLUSH_SIZE waiting, and at exit), "inline" (one transaction per
# request), or "auto": deferred in web server processes (recsite/wsgi.py, asgi.py loaded), inline elsewhere.
IMPRESSIONS_WRITE = env.str("IMPRESSIONS_WRITE", default="auto")
IMPRESSIONS_FLUSH_SECONDS = env.float("IMPRESSIONS_FLUSH_SECONDS", default=1.0)
IMPRESSIONS_FLUSH_SIZE = env.int("IMPRESSIONS_FLUSH_SIZE", default=200)
