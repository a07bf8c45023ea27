"""The job services never import recommender.tasks at module level (the tasks import them: no cycle)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECK = """
import os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "recsite.settings.test"
import django
django.setup()
from recommender.services import batch_jobs, enqueue, schedules, training_jobs, vector_jobs
assert "recommender.tasks" not in sys.modules, "a job service imported the tasks at import time"
import recommender.tasks  # and the tasks, importing the services, load cleanly
"""


def test_services_load_without_the_tasks_and_the_tasks_load_after_them():
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
