"""Who may call the staff endpoints: IsStaffOrService.

A "service token" is an ordinary DRF token (POST /api/auth/token/) of a user who is either staff
(``is_staff``) or a member of the Django group named ``service`` (SERVICE_GROUP). The group lets a
machine client (a batch pipeline, another service calling /api/recall/) use the staff endpoints without
admin-site access; session logins of staff users pass the same check.
"""

from rest_framework.permissions import BasePermission

SERVICE_GROUP = "service"


def is_staff_or_service(user) -> bool:
    if not (user and user.is_authenticated):
        return False
    return user.is_staff or user.groups.filter(name=SERVICE_GROUP).exists()


class IsStaffOrService(BasePermission):
    message = "Staff or a service account is required."

    def has_permission(self, request, view) -> bool:
        return is_staff_or_service(request.user)
