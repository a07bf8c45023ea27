"""/favicon.ico: browsers ask for it whatever a page's ``<link rel="icon">`` says; answer with the site's SVG icon."""

from django.conf import settings
from django.http import FileResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

ICON = "favicon.svg"  # in static/, where pages link it as {% static 'favicon.svg' %}


@require_safe
@cache_control(public=True, max_age=24 * 3600)
def favicon(request) -> FileResponse:
    return FileResponse((settings.BASE_DIR / "static" / ICON).open("rb"), content_type="image/svg+xml")
