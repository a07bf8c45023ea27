"""Account pages that Django's auth views do not provide: sign-up and the MovieLens profile."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from core.exceptions import ApplicationError
from movies.models import Profile
from movies.services import profile_update, user_signup
from web.forms import ProfileForm, SignupForm


def signup(request):
    """Create an account (user_signup), log in, and go to onboarding."""
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_signup(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                email=form.cleaned_data.get("email") or "",
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome, {user.username}! Rate a few movies to get personal suggestions.")
            return redirect("onboarding")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def profile(request):
    """Optional demographics (gender, age bucket, occupation) that the user tower reads."""
    try:
        current = request.user.profile
    except Profile.DoesNotExist:  # e.g. a superuser made with createsuperuser
        current = None
    initial = {"gender": current.gender, "age": current.age, "occupation": current.occupation} if current else {}
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            profile_update(user=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Profile saved. Your suggestions take it into account from now on.")
            return redirect("profile")
    return render(request, "movies/profile.html", {"form": form, "profile": current})
