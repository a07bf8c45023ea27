"""A gunicorn worker (recsite/gunicorn_conf.post_worker_init) loads what serves, then freezes its start-up objects
out of the garbage collector, so no request pays for a full collection over Django, Paddle and the model."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = """
import gc, json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
before = gc.get_freeze_count()
from recsite.gunicorn_conf import post_worker_init
post_worker_init(None)  # nothing is live yet: warm_up says so and the worker still starts
print(json.dumps({"before": before, "after": gc.get_freeze_count(), "oldest": len(gc.get_objects(generation=2))}))
"""


def test_post_worker_init_freezes_the_start_up_objects(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MILVUS_URI", "REDIS_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="recsite.settings.local", RECSITE_VAR_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", CODE], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=180, check=True)  # fmt: skip
    counts = json.loads(out.stdout.strip().splitlines()[-1])
    assert counts["before"] == 0
    assert counts["after"] > 100_000  # Django, Paddle, the app: out of every later collection
    assert counts["oldest"] < 1_000  # what a full collection still walks
