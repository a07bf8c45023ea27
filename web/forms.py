"""Forms of the site: browse filters, a rating, log-in, sign-up and the MovieLens profile."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm

from core.exceptions import TooManyRequestsError
from movies.logins import login_authenticate
from movies.models import Profile
from movies.movielens import SCORE_MAX, SCORE_MIN, SCORES

SORT_CHOICES = [
    ("popularity", "Most rated"),
    ("rating", "Average rating"),
    ("year", "Newest first"),
    ("-year", "Oldest first"),
    ("title", "Title A-Z"),
]


class MovieFilterForm(forms.Form):
    """GET filters of the browse page; invalid values are reported and ignored, never a 500."""

    q = forms.CharField(label="Title", required=False, max_length=100, widget=forms.SearchInput)
    genre = forms.ChoiceField(label="Genre", required=False)
    year_min = forms.IntegerField(label="From year", required=False, min_value=1800, max_value=2100)
    year_max = forms.IntegerField(label="To year", required=False, min_value=1800, max_value=2100)
    sort = forms.ChoiceField(label="Sort by", required=False, choices=SORT_CHOICES)
    hide_rated = forms.BooleanField(
        label="Hide movies I rated", required=False, widget=forms.CheckboxInput(attrs={"data-autosubmit": ""})
    )

    def __init__(self, *args, genres: list[str], user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["genre"].choices = [("", "All genres")] + [(g, g) for g in genres]
        self.user = user if getattr(user, "is_authenticated", False) else None
        if self.user is None:  # only a logged-in user has ratings to hide
            del self.fields["hide_rated"]

    def clean(self):
        cleaned = super().clean()
        year_min, year_max = cleaned.get("year_min"), cleaned.get("year_max")
        if year_min is not None and year_max is not None and year_min > year_max:
            self.add_error(
                "year_min",
                f"“From year” ({year_min}) is after “To year” ({year_max}): swap them to see movies from {year_max} "
                f"to {year_min}. Showing all years for now.",
            )
            cleaned.pop("year_max", None)  # the range as a whole is ignored, not just one end of it
        return cleaned

    def filters(self) -> dict:
        """Keyword arguments for the movie_list selector from the valid fields only."""
        self.is_valid()  # fills cleaned_data with the valid fields; invalid ones are left out
        data = getattr(self, "cleaned_data", {})
        return {
            "search": (data.get("q") or "").strip(),
            "genre": data.get("genre") or "",
            "year_min": data.get("year_min"),
            "year_max": data.get("year_max"),
            "sort": data.get("sort") or "popularity",
            "exclude_rated_by": self.user if data.get("hide_rated") else None,
        }


class MovieSearchForm(forms.Form):
    """The onboarding page's title search (GET)."""

    q = forms.CharField(
        label="Find a movie you have seen",
        required=False,
        max_length=100,
        widget=forms.SearchInput(attrs={"placeholder": "e.g. Star Wars"}),
    )

    def query(self) -> str:
        """The valid, stripped query, or "" (too long or empty)."""
        return (self.cleaned_data.get("q") or "").strip() if self.is_valid() else ""


class RatingForm(forms.Form):
    """A score from the star radio buttons (whole or half stars), or the remove button."""

    CHOOSE = f"Choose a rating from {SCORE_MIN:g} to {SCORE_MAX:g} stars (whole or half stars)."
    score = forms.FloatField(required=False, error_messages={"invalid": CHOOSE})
    remove = forms.BooleanField(required=False)

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("remove") and cleaned.get("score") in (None, "") and "score" not in self.errors:
            raise forms.ValidationError(self.CHOOSE)
        return cleaned

    def clean_score(self):
        score = self.cleaned_data.get("score")
        if score is not None and score not in SCORES:
            raise forms.ValidationError(self.CHOOSE)
        return score

    def first_error(self) -> str:
        for errors in self.errors.values():
            return str(errors[0])
        return "Invalid rating."


class LimitedLoginMixin:
    """Authenticate through login_authenticate: too many failures (account or address) is a form error."""

    def clean(self):
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if username is not None and password:
            try:
                self.user_cache = login_authenticate(request=self.request, username=username, password=password)
            except TooManyRequestsError as exc:
                raise forms.ValidationError(exc.message, code="too_many_attempts") from exc
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class LoginForm(LimitedLoginMixin, AuthenticationForm):
    """The site's log-in form (accounts/login/)."""


class AdminLoginForm(LimitedLoginMixin, AdminAuthenticationForm):
    """The admin's log-in form: the same limits (it also refuses non-staff users)."""


class SignupForm(UserCreationForm):
    """Username + password (Django's validators); the account is created by the user_signup service."""

    email = forms.EmailField(label="Email (optional)", required=False)

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


class ProfileForm(forms.Form):
    """The MovieLens demographics the user tower reads (all optional)."""

    gender = forms.ChoiceField(
        label="Gender", required=False, choices=[("", "Prefer not to say")] + Profile.Gender.choices
    )
    age = forms.TypedChoiceField(
        label="Age",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Prefer not to say")] + Profile.AGE_CHOICES,
    )
    occupation = forms.TypedChoiceField(
        label="Occupation",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Prefer not to say")] + Profile.Occupation.choices,
    )
