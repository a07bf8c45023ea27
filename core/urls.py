"""The path converter of the site's and the API's URLs (web/urls.py, api/urls.py), registered once, when
this module is first imported: ``<id:name>``, a row id of 1-9 digits. Ids are 32-bit integers, so a longer number
names no row, and the path not matching is a 404 (with <int:> a 20-digit id reached the database: an OverflowError
on SQLite, a 500)."""

from django.urls import register_converter


class IdConverter:
    regex = "[0-9]{1,9}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")
