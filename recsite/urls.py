"""Root URLs: the site (web), accounts, admin and the REST API; errors Django answers itself are JSON under
/api/ (api.exceptions)."""

from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path

from recsite.favicon import favicon
from recsite.health import healthz, readyz
from web.forms import AdminLoginForm, LoginForm

admin.site.login_form = AdminLoginForm  # log-in failure limits (movies/logins.py) for the admin too

urlpatterns = [
    path("admin/", admin.site.urls),
    path("favicon.ico", favicon, name="favicon"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("accounts/login/", LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("api.urls")),
    path("", include("web.urls")),
]

handler400 = "api.exceptions.bad_request"
handler500 = "api.exceptions.server_error"
