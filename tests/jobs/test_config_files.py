"""Training config files named by staff come only from TRAINING_CONFIG_DIR (issue #11); `train_model --config`
(an operator at the shell) still reads any path.

Before: the API's config_file and RETRAIN_CONFIG_FILE opened any server path, so staff could learn whether a file
exists and read its TOML keys from the error, or name /dev/zero.
"""

import os
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from core.exceptions import ApplicationError
from recommender import tasks
from recommender.models import ModelVersion
from recommender.services import training_jobs
from recommender.services.config_files import MAX_BYTES
from recommender.services.training import model_version_create
from tests.factories import UserFactory, token_client

pytestmark = pytest.mark.django_db
OUTSIDE = "must name a file inside the training config folder"


@pytest.fixture
def folder(settings, tmp_path):
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "fast.toml").write_text("epochs = 2\nseed = 5\n")
    (tmp_path / "secret.toml").write_text("password = 'hunter2'\n")  # beside the folder, not in it
    settings.TRAINING_CONFIG_DIR = str(configs)
    return configs


@pytest.fixture
def sent():
    """No broker: a version is only sent once its row commits, which these tests never do (the row is the proof)."""
    with mock.patch.object(tasks.model_version_pipeline, "apply_async") as pipeline:
        yield pipeline


def refusal(name) -> str:
    with pytest.raises(ApplicationError) as caught:
        model_version_create(config={"config_file": name})
    assert not ModelVersion.objects.exists()
    return caught.value.message


def test_a_file_in_the_folder_is_read_by_name_or_absolute_path_and_recorded_resolved(folder):
    version = model_version_create(config={"config_file": "fast.toml", "epochs": 3})
    assert version.config == {"config_file": str(folder.resolve() / "fast.toml"), "epochs": 3}
    (folder / "sub").mkdir()
    (folder / "sub" / "x.toml").write_text("seed = 1\n")
    ModelVersion.objects.all().delete()
    version = model_version_create(config={"config_file": str(folder / "sub" / ".." / "sub" / "x.toml")})
    assert version.config["config_file"] == str(folder.resolve() / "sub" / "x.toml")


def test_paths_outside_get_one_answer_whether_or_not_they_exist(folder, tmp_path):
    answers = {
        refusal(name)
        for name in [
            "../secret.toml",  # exists, beside the folder
            str(tmp_path / "secret.toml"),
            "../no-such.toml",  # does not exist
            "/etc/passwd",
            "/nonexistent/x.toml",
            "/dev/zero",
            str(folder),  # the folder itself
            "",
            "  ",
            "a\x00b",
            "../" * 3000 + "etc/passwd",
        ]
    }
    assert len(answers) == 1 and OUTSIDE in answers.pop()
    for not_a_name in (5, ["fast.toml"], {"a": 1}):
        assert OUTSIDE in refusal(not_a_name)


def test_symlinks_are_followed_before_the_check(folder, tmp_path):
    (folder / "escape.toml").symlink_to(tmp_path / "secret.toml")
    (folder / "zero.toml").symlink_to("/dev/zero")
    (folder / "alias.toml").symlink_to(folder / "fast.toml")
    assert OUTSIDE in refusal("escape.toml") and OUTSIDE in refusal("zero.toml")
    assert model_version_create(config={"config_file": "alias.toml"}).config["config_file"].endswith("/fast.toml")


def test_only_small_regular_valid_files(folder):
    (folder / "big.toml").write_text("# " + "x" * MAX_BYTES + "\nepochs = 1\n")
    (folder / "bad.toml").write_text("epochs = = 2\n")
    (folder / "keys.toml").write_text("no_such_knob = 1\n")
    (folder / "types.toml").write_text('history_dim = "16"\n')
    (folder / "dir.toml").mkdir()
    os.mkfifo(folder / "pipe.toml")  # opening a FIFO for reading would block until a writer came

    assert "larger than 64 KB" in refusal("big.toml")
    assert "is not valid TOML" in refusal("bad.toml")
    assert "bad training config" in refusal("types.toml")
    assert "is not a regular file" in refusal("dir.toml") and "is not a regular file" in refusal("pipe.toml")
    assert "no readable file" in refusal("missing.toml")  # inside the folder: saying so leaks nothing
    with pytest.raises(ValueError, match="unknown config keys: no_such_knob"):
        model_version_create(config={"config_file": "keys.toml"})


def test_api_answers_400_and_queues_nothing(folder, sent):
    staff = token_client(UserFactory(username="carol", staff=True))
    url = reverse("api-model-train")
    for config in ({"config_file": "/etc/passwd"}, {"config_file": "../secret.toml"}, {"history_dim": "16"}):
        answer = staff.post(url, {"config": config}, format="json")
        assert answer.status_code == 400, answer.content
        assert "hunter2" not in answer.content.decode() and "root:" not in answer.content.decode()
    assert OUTSIDE in staff.post(url, {"config": {"config_file": "/etc/passwd"}}, format="json").json()["message"]
    assert not ModelVersion.objects.exists()
    answer = staff.post(url, {"config": {"config_file": "fast.toml"}}, format="json")
    assert answer.status_code == 202
    assert ModelVersion.objects.get().config == {"config_file": str(folder.resolve() / "fast.toml")}


def test_retrain_config_file_outside_is_refused_in_the_admin(folder, settings, sent, client):
    settings.RETRAIN_CONFIG_FILE = "/etc/passwd"
    with pytest.raises(ApplicationError, match=OUTSIDE):
        training_jobs.model_version_train_enqueue()
    admin = UserFactory(username="boss", staff=True)
    admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    page = client.post(reverse("admin:recommender_modelversion_retrain"), follow=True).content.decode()
    assert "Retrain refused: config_file must name a file inside" in page
    assert not ModelVersion.objects.exists()

    settings.RETRAIN_CONFIG_FILE = "fast.toml"
    assert training_jobs.model_version_train_enqueue().config["config_file"] == str(folder.resolve() / "fast.toml")


def test_train_model_config_reads_any_path(folder, tmp_path, monkeypatch):
    """The command is an operator's at the server's shell: --config outside TRAINING_CONFIG_DIR is read."""
    outside = tmp_path / "elsewhere.toml"
    outside.write_text("no_such_knob = 1\n")
    with pytest.raises(CommandError, match="unknown config keys: no_such_knob"):  # read, not refused
        call_command("train_model", "--config", str(outside), stdout=StringIO())

    outside.write_text("epochs = 1\n")
    ran = []
    monkeypatch.setattr(
        "recommender.management.commands.train_model.model_version_pipeline_run",
        lambda *, version, on_progress: ran.append(version) or version,
    )
    call_command("train_model", "--config", str(outside), verbosity=0, stdout=StringIO())
    assert ran[0].config == {"config_file": str(outside)}
