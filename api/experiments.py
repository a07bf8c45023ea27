"""A/B experiments between the active model version and a candidate (staff or service; issue #25, item 4): start,
list, detail with each arm's figures and the difference, stop, promote (activates the candidate)."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from recommender.experiments.models import Experiment
from recommender.experiments.selectors import experiment_figures
from recommender.experiments.services import experiment_promote, experiment_start, experiment_stop

from .base import PAGE_PARAMETERS, Api, errors, page_of, paginated_response
from .permissions import IsStaffOrService

TAG = "experiments"  # the Swagger group of the operations here (ApiSchema.get_tags)
FIGURES_NOTE = (
    "Figures come from the impressions recorded during the experiment: the candidate arm's are the candidate "
    "version's lists; the control arm's are the lists of any other version (a retrained version activated during "
    "the experiment included) shown to users the split put on control. Popularity lists (cold-start users, who "
    "stay on control) are in neither."
)


class ExperimentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=Experiment.Status.values, help_text="running, stopped, or promoted (the candidate was activated)."
    )
    control = serializers.IntegerField(source="control.number", help_text="The version live when it started.")
    candidate = serializers.IntegerField(source="candidate.number", help_text="The version under test.")
    share = serializers.FloatField(help_text="Share of users (with ratings) served the candidate.")
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)


class ArmSerializer(serializers.Serializer):
    arm = serializers.ChoiceField(choices=["control", "candidate"])
    version = serializers.IntegerField(help_text="The arm's version (control: the version live at the start).")
    users = serializers.IntegerField(help_text="Distinct users shown at least one of the arm's lists.")
    impressions = serializers.IntegerField(help_text="Lists of the arm shown during the experiment.")
    rated_after_shown = serializers.IntegerField(
        help_text="Ratings, before the end, of a movie whose latest showing to that user (within the attribution "
        "window) was one of the arm's lists."
    )
    converted_users = serializers.IntegerField(help_text="Users who rated at least one movie a list had shown them.")
    conversion = serializers.FloatField(allow_null=True, help_text="converted_users / users; null without users.")
    ci95 = serializers.ListField(
        child=serializers.FloatField(), min_length=2, max_length=2, allow_null=True,
        help_text="[low, high]: the 95% Wilson score interval of conversion; null without users.",
    )  # fmt: skip


class DifferenceSerializer(serializers.Serializer):
    value = serializers.FloatField(allow_null=True, help_text="Candidate conversion - control conversion.")
    ci95 = serializers.ListField(
        child=serializers.FloatField(), min_length=2, max_length=2, allow_null=True,
        help_text="[low, high]: the 95% interval of the difference by Newcombe's hybrid score method (method 10 of "
        "Newcombe 1998, from the two Wilson intervals; not the Wald interval); null while an arm has no users.",
    )  # fmt: skip
    method = serializers.CharField(help_text='"newcombe_hybrid_wilson".')


class ExperimentDetailSerializer(ExperimentSerializer):
    arms = ArmSerializer(many=True, help_text="[control, candidate]. " + FIGURES_NOTE)
    difference = DifferenceSerializer(help_text="Candidate minus control, with its 95% interval.")


def _detail(experiment: Experiment) -> dict:
    fields = {**vars(experiment), "control": experiment.control, "candidate": experiment.candidate}
    return ExperimentDetailSerializer({**fields, **experiment_figures(experiment)}).data


def _experiment(experiment_id: int) -> Experiment:
    experiment = Experiment.objects.select_related("control", "candidate").filter(pk=experiment_id).first()
    if experiment is None:
        raise NotFound(f"experiment {experiment_id} does not exist")
    return experiment


def _answer(call, *, ok: int = status.HTTP_200_OK, **kwargs) -> Response:
    """The experiment ``call`` returns, with its figures; a refusal (ApplicationError 400 naming the field,
    ConflictError 409, ServiceUnavailableError 503) is api_exception_handler's."""
    return Response(_detail(call(**kwargs)), status=ok)


def _invalid(field: str, message: str, fields: dict | None = None) -> Response:
    return Response({"message": f"{field}: {message}", "extra": {"fields": fields or {field: [message]}}},
                    status=status.HTTP_400_BAD_REQUEST)  # fmt: skip


class ExperimentListApi(Api):
    permission_classes = [IsStaffOrService]
    query_parameters = PAGE_PARAMETERS

    @extend_schema(
        summary="A/B experiments, newest first",
        description="Every experiment between the active version and a candidate, running or ended (staff or "
        "service). The figures of each are in GET /api/experiments/<id>/.\n\nErrors: 401; 403 unless staff or "
        "service; 404 for a page past the last.",
        parameters=query_parameters,
        responses={200: page_of(ExperimentSerializer, "ExperimentPage"), **errors(401, 403, 404)},
    )
    def get(self, request):
        experiments = Experiment.objects.select_related("control", "candidate")
        return paginated_response(
            queryset=experiments, serializer_class=ExperimentSerializer, request=request, view=self
        )


class ExperimentStartApi(Api):
    permission_classes = [IsStaffOrService]

    class InputSerializer(serializers.Serializer):
        candidate = serializers.IntegerField(
            min_value=1, max_value=2**31 - 1,
            help_text="The number of a complete (inactive) version whose vectors are in Milvus; not the active one.",
        )  # fmt: skip
        share = serializers.FloatField(
            default=0.5, min_value=0.0, max_value=1.0,
            help_text="Share of users served the candidate, strictly between 0 and 1 (default 0.5).",
        )  # fmt: skip

    @extend_schema(
        summary="Start an A/B experiment (active version vs a candidate)",
        description="Users are split by a stable hash of (experiment id, user id) (sha256): a user sees one arm for "
        "the whole experiment; users without ratings and anonymous users stay on the control (the live version). "
        "Answers of the recommendation endpoints carry the arm's version as model_version, and impressions record "
        "it. One experiment at a time (409); the candidate must be complete, not active, and still have its Milvus "
        "collection (409 otherwise), which is then kept until the experiment ends. Retraining during an experiment "
        "is allowed: a version activated meanwhile serves the control arm.\n\nErrors: 400 for a bad candidate or "
        "a share not strictly between 0 and 1; 401; 403 unless staff or service; 409 as above; 503 when the vector "
        "store cannot be reached.",
        examples=[
            OpenApiExample("Version 7 for a fifth of users", value={"candidate": 7, "share": 0.2}, request_only=True)
        ],
        request=InputSerializer,
        responses={201: ExperimentDetailSerializer, **errors(401, 403, 409, 503)},
    )
    def post(self, request):
        serializer = ExperimentStartApi.InputSerializer(data=request.data)
        if not serializer.is_valid():
            name = next(iter(serializer.errors))
            return _invalid(name, str(serializer.errors[name][0]), serializer.errors)
        if not 0 < serializer.validated_data["share"] < 1:
            return _invalid("share", "must be strictly between 0 and 1")
        return _answer(experiment_start, ok=status.HTTP_201_CREATED, user=request.user, **serializer.validated_data)


class ExperimentDetailApi(Api):
    permission_classes = [IsStaffOrService]

    @extend_schema(
        summary="One A/B experiment with its arms' figures",
        description="Each arm: its version, users, impressions, rated_after_shown, conversion (users who rated a "
        "movie shown to them / users shown a list in that arm, during the experiment) with its 95% Wilson interval; "
        "and the difference (candidate - control) with Newcombe's hybrid score 95% interval. "
        + FIGURES_NOTE
        + "\n\nErrors: 401; 403 unless staff or service; 404 when no experiment has this id.",
        responses={200: ExperimentDetailSerializer, **errors(401, 403, 404)},
    )
    def get(self, request, experiment_id: int):
        return Response(_detail(_experiment(experiment_id)))


class ExperimentStopApi(Api):
    permission_classes = [IsStaffOrService]

    @extend_schema(
        summary="Stop an A/B experiment",
        description="Ends the running experiment: every user is served the live version again (within a second in "
        "every process). Its figures stay readable.\n\nErrors: 401; 403 unless staff or service; 404 when no "
        "experiment has this id; 409 when it is not running.",
        request=None,
        responses={200: ExperimentDetailSerializer, **errors(401, 403, 404, 409)},
    )
    def post(self, request, experiment_id: int):
        return _answer(experiment_stop, experiment=_experiment(experiment_id))


class ExperimentPromoteApi(Api):
    permission_classes = [IsStaffOrService]

    @extend_schema(
        summary="Promote the candidate of an A/B experiment",
        description="Activates the candidate version through the usual activation (as POST /api/models/<n>/activate/: "
        "refused with 409 while a training runs; the previous version is kept for rollback), then ends the "
        "experiment as promoted.\n\nErrors: 401; 403 unless staff or service; 404 when no experiment has this id; "
        "409 when it is not running or a training runs.",
        request=None,
        responses={200: ExperimentDetailSerializer, **errors(401, 403, 404, 409)},
    )
    def post(self, request, experiment_id: int):
        return _answer(experiment_promote, experiment=_experiment(experiment_id))
