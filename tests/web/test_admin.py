"""Admin: every movies model registered; changelists render with search and filters without N+1 queries; the
model-version pages read as tables and charts, with the live status, and Activate lands on its message."""

import json
import re
from html import unescape

import matplotlib.pyplot as plt
import pytest
from django.contrib import admin
from django.urls import reverse

from movies.models import Genre, Movie, Profile, Rating
from recommender.admin_charts import training_curve_figure
from recommender.admin_display import status_label
from recommender.models import ModelVersion
from tests.factories import ModelVersionFactory, RatingFactory, UserFactory, movies_create, training_curve

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_data(movies, alice, bob):
    for movie in movies[:6]:
        RatingFactory(user=alice, movie=movie, score=4)
        RatingFactory(user=bob, movie=movie, score=2)
    return movies


def test_every_movies_model_is_registered():
    for model in (Genre, Movie, Profile, Rating):
        assert admin.site.is_registered(model)


@pytest.mark.parametrize(
    "model, params, expected",
    [
        ("movie", {}, 30),
        ("movie", {"q": "Film 0"}, 12),  # "Film" and "0": 01-09, 10, 20, 30
        ("movie", {"q": "7"}, 3),  # title contains 7, or id 7
        ("movie", {"genres__id__exact": "GENRE"}, 12),
        ("movie", {"decade": "2000"}, 10),
        ("movie", {"year": "1990"}, 1),
        ("genre", {"q": "dra"}, 1),
        ("rating", {}, 12),
        ("rating", {"q": "alice"}, 6),
        ("rating", {"q": "42"}, 6),  # bob's MovieLens id
        ("rating", {"q": "Film 01"}, 2),
        ("rating", {"score": "4"}, 6),
        ("rating", {"user__profile__gender": "M"}, 6),
        ("rating", {"user__profile__age": "25"}, 6),
        ("rating", {"user__profile__occupation": "4"}, 6),
        ("rating", {"movie__id__exact": "1"}, 2),  # "a movie's ratings" link
        ("profile", {"q": "42"}, 1),
        ("profile", {"q": "alice"}, 1),
        ("profile", {"gender": "F", "age": "25", "occupation": "12"}, 1),
    ],
)
def test_changelists_search_and_filter(staff_client, admin_data, model, params, expected):
    if params.get("genres__id__exact") == "GENRE":
        params = {"genres__id__exact": str(Genre.objects.get(name="Drama").pk)}
    response = staff_client.get(reverse(f"admin:movies_{model}_changelist"), params)
    assert response.status_code == 200, response.content[:500]
    assert response.context["cl"].result_count == expected


@pytest.mark.parametrize("params", [{"q": "alice"}, {"q": "42"}, {"profile__gender": "M"}, {"profile__age": "25"}])
def test_user_changelist_searches_and_filters_by_profile(staff_client, alice, bob, params):
    response = staff_client.get(reverse("admin:auth_user_changelist"), params)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


def test_movie_change_page_links_to_its_ratings(staff_client, admin_data):
    body = staff_client.get(reverse("admin:movies_movie_change", args=[1])).content.decode()
    assert "movie__id__exact=1" in body
    assert "alice — 4/5" in body and "bob — 2/5" in body


def test_user_change_page_has_the_profile_inline(staff_client, bob):
    body = staff_client.get(reverse("admin:auth_user_change", args=[bob.pk])).content.decode()
    assert 'name="profile-0-movielens_id"' in body and 'value="42"' in body


def test_rating_add_page_uses_autocomplete(staff_client, admin_data):
    body = staff_client.get(reverse("admin:movies_rating_add")).content.decode()
    assert "admin-autocomplete" in body


@pytest.mark.parametrize("model", ["movie", "rating", "profile", "genre"])
def test_changelist_queries_do_not_grow_with_rows(staff_client, django_assert_max_num_queries, model):
    movies = movies_create(40)
    for i in range(12):
        user = UserFactory(username=f"user{i}", movielens_id=100 + i, gender="F", age=18, occupation=i)
        for movie in movies[:5]:
            RatingFactory(user=user, movie=movie, score=3)
    with django_assert_max_num_queries(14):
        response = staff_client.get(reverse(f"admin:movies_{model}_changelist"))
    assert response.status_code == 200


# --- model versions -------------------------------------------------------------------------------------------

Status = ModelVersion.Status


def text(html: str) -> str:
    """What a reader sees: inline tags vanish, block tags separate, runs of white space (not &nbsp;) are one."""
    inline_gone = re.sub(r"</?(?:span|b|a|small)\b[^>]*>", "", html)
    return re.sub(r"[ \t\r\n]+", " ", unescape(re.sub(r"<[^>]+>", " ", inline_gone))).strip()


def table_rows(body: str, css_class: str) -> list[list[str]]:
    """Cell texts of the first <table class="css_class">, header row included."""
    table = re.search(rf'<table class="{css_class}">(.*?)</table>', body, re.S).group(1)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)
    return [[text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)] for row in rows]


def heading(body: str) -> str:
    return text(re.search(r'<h2 class="version-status">(.*?)</h2>', body, re.S).group(1))


def version_page(client, version: ModelVersion) -> str:
    response = client.get(reverse("admin:recommender_modelversion_change", args=[version.pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    "status, progress, expected",
    [
        (Status.QUEUED, {}, "queued, waiting for a training worker"),
        (Status.TRAINING, {"stage": "training", "epoch": 0}, "training"),  # claimed, no epoch done yet
        (Status.TRAINING, {"stage": "training", "epoch": 2, "epochs": 10}, "training, epoch 2 of 10"),
        (Status.EVALUATING, {"stage": "evaluating"}, "evaluating"),
        (Status.EVALUATING, {"stage": "refitting", "epoch": 1, "epochs": 3}, "refitting, epoch 1 of 3"),
        (Status.INDEXING, {"stage": "indexing", "movies": 3883}, "indexing"),
        (Status.ACTIVE, {"stage": "done"}, "active"),
        (Status.FAILED, {"stage": "failed"}, "failed"),
    ],
)
def test_status_label_says_what_the_worker_does(status, progress, expected):
    assert status_label(ModelVersion(number=3, status=status, progress=progress)) == expected


def test_the_list_says_it_shorter():
    version = ModelVersion(number=3, status=Status.EVALUATING, progress={"stage": "refitting", "epoch": 1, "epochs": 3})
    assert status_label(version, short=True) == "refitting 1/3"
    assert status_label(ModelVersion(number=4, status=Status.QUEUED), short=True) == "queued"


def test_a_training_version_is_headed_training_not_queued(staff_client, live_and_candidate):
    progress = {"stage": "training", "epoch": 2, "epochs": 10, "loss": 4.2, "elapsed_s": 20.0, "eta_s": 80.0}
    running = ModelVersionFactory(
        number=3, status=Status.TRAINING, metrics={}, curve=training_curve(2), progress=progress
    )
    body = version_page(staff_client, running)
    assert heading(body) == "Status: training, epoch 2 of 10"
    assert f'data-version-label="{running.pk}"' in body  # the span admin_progress.js rewrites on each poll
    assert "Model version 3: training, epoch 2 of 10" in text(body)  # the progress box
    assert "queued" not in text(body.split('id="content-main"')[0])  # title, breadcrumbs, heading

    data = staff_client.get(reverse("admin:recommender_modelversion_progress_one", args=[running.pk])).json()
    assert data["version"]["label"] == "training, epoch 2 of 10" and data["training_running"] is True


def test_another_versions_training_fills_the_progress_box_from_the_shared_feed(staff_client, live_and_candidate):
    ModelVersionFactory(
        number=3, status=Status.EVALUATING, metrics={}, progress={"stage": "refitting", "epoch": 1, "epochs": 3}
    )
    body = version_page(staff_client, live_and_candidate[1])
    assert heading(body) == "Status: inactive"
    assert f'data-url="{reverse("admin:recommender_modelversion_progress")}"' in body
    assert "Model version 3: refitting, epoch 1 of 3" in text(body)
    assert re.search(r"<button[^>]*disabled[^>]*>Activate", body)  # no activation while a training runs


def test_version_page_shows_metric_and_config_tables(staff_client, live_and_candidate):
    body = version_page(staff_client, live_and_candidate[1])
    rows = table_rows(body, "metric-table")
    assert rows[0] == ["metric", "this version", "active v1 (same split)", "best baseline"]
    assert rows[1] == ["ndcg@10", "0.1980 ±\u00a00.0040", "0.1710", "0.1782 (EASE)"]
    assert rows[-1] == ["mean_pop@10", "140.0", "155.0", "–"]  # lower is not better: no "best" baseline
    assert [row[0] for row in rows[1:]] == [
        "ndcg@10", "recall@10", "recall@50", "hit@10", "precision@10", "coverage@50", "mean_pop@10"
    ]  # fmt: skip
    assert "Every metric (12 more)" in body  # users, the @20 block, recall/ndcg/hit/precision@50...
    assert table_rows(body, "kv-table") == [
        ["setting", "value"],
        ["batch_size", "32"],
        ["epochs", "30"],
        ["learning_rate", "0.002"],
        ["refit", "true"],
        ["title_encoder", "mean"],
    ]


def test_version_page_says_whether_the_second_stage_is_served(staff_client, live_and_candidate):
    candidate = live_and_candidate[1]
    assert 'id="ranker-summary"' not in version_page(staff_client, candidate)  # not fitted: nothing said
    ranker = {"users": 943, "tower_ndcg10": 0.2423, "ranked_ndcg10": 0.2386, "tower_recall50": 0.4183,
              "ranked_recall50": 0.4167, "gain_se": 0.0054, "keep": False}  # fmt: skip
    candidate.metrics = {**candidate.metrics, "ranker": ranker}
    candidate.save()
    said = text(re.search(r'id="ranker-summary">(.*?)</p>', version_page(staff_client, candidate), re.S).group(1))
    assert said == (
        "LambdaRank over each user's 200 tower candidates, cross-fitted on 943 holdout users: NDCG@10 0.2386 against "
        "the tower's order 0.2423 (gain -0.0037, standard error 0.0054); Recall@50 0.4167 against 0.4183: not served "
        "(the tower's order is kept)."
    )
    candidate.metrics["ranker"].update(ranked_ndcg10=0.26, keep=True)
    candidate.save()
    assert text(version_page(staff_client, candidate)).count("0.4183: served.") == 1


def test_raw_json_is_collapsed_in_details(staff_client, live_and_candidate):
    candidate = live_and_candidate[1]
    body = version_page(staff_client, candidate)
    details = re.search(r'<details class="raw-json">(.*?)</details>', body, re.S).group(1)
    assert "<summary>Raw JSON (metrics, config, curve, progress)</summary>" in details
    shown = [json.loads(unescape(pre)) for pre in re.findall(r"<pre>(.*?)</pre>", details, re.S)]
    assert shown == [candidate.metrics, candidate.config, candidate.curve, candidate.progress]
    outside = body.replace(details, "")
    assert "&quot;baselines&quot;" not in outside and '"baselines"' not in outside  # no JSON wall elsewhere


def test_curve_chart_ticks_whole_epochs(live_and_candidate):
    version = ModelVersionFactory(number=3, curve=training_curve(2))  # two epochs: matplotlib alone would tick 1.25...
    fig = training_curve_figure(version)
    try:
        ticks = [t for t in fig.axes[0].get_xticks() if 1 <= t <= 2]
    finally:
        plt.close(fig)
    assert ticks == [1.0, 2.0]
    no_epoch_yet = ModelVersionFactory(number=4, status=Status.TRAINING, curve=[])
    assert training_curve_figure(no_epoch_yet) is None  # the PNG says "no epoch yet"


def test_version_list_has_narrow_columns(staff_client, live_and_candidate):
    body = staff_client.get(reverse("admin:recommender_modelversion_changelist")).content.decode()
    thead = re.search(r'<table id="result_list">\s*<thead>(.*?)</thead>', body, re.S).group(1)
    headers = [text(th) for th in re.findall(r"<th[^>]*>(.*?)</th>", thead, re.S)]
    assert headers == ["Version", "Status", "NDCG@10", "Recall@50", "Finished", "Live"]
    finished = live_and_candidate[1].finished_at.strftime("%Y-%m-%d %H:%M")
    row = re.search(r'<tr>\s*<th class="field-version">.*?</tr>', body, re.S).group(0)
    assert [text(td) for td in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)][:5] == [
        "v2", "inactive", "0.1980 EASE 0.1782", "0.2200 EASE 0.1980", finished
    ]  # fmt: skip


def test_activate_redirects_to_the_list_with_its_message_on_top(staff_client, live_and_candidate, activation):
    candidate = live_and_candidate[1]
    response = staff_client.post(reverse("admin:recommender_modelversion_activate", args=[candidate.pk]), follow=True)
    assert response.redirect_chain == [(reverse("admin:recommender_modelversion_changelist"), 302)]
    body = response.content.decode()
    message = body.index('<li class="success">Model version 2 is now serving.</li>')
    assert message < body.index('id="result_list"')  # above the list, where a fresh page opens
    assert activation == [2] and ModelVersion.objects.get(number=2).status == Status.ACTIVE


def test_a_refused_activation_also_lands_on_the_list_with_why(staff_client, live_and_candidate):
    live = live_and_candidate[0]
    response = staff_client.post(reverse("admin:recommender_modelversion_activate", args=[live.pk]), follow=True)
    assert response.redirect_chain == [(reverse("admin:recommender_modelversion_changelist"), 302)]
    assert "Activation refused: model version 1 is already active" in response.content.decode()


def test_version_page_has_no_save_form(staff_client, live_and_candidate):
    candidate = live_and_candidate[1]
    url = reverse("admin:recommender_modelversion_change", args=[candidate.pk])
    assert 'name="_save"' not in version_page(staff_client, candidate)
    assert staff_client.post(url, {"status": "active"}).status_code == 403  # the pipeline alone writes a version
    assert ModelVersion.objects.get(pk=candidate.pk).status == Status.INACTIVE
