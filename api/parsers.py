"""The API's JSON parser: DRF's, with a nesting limit, so a hostile body is a 400 and never a RecursionError.

DRF 3.18's JSONParser turns only ValueError into a ParseError; 6 KB of ``[[[[...`` makes Python's json module
raise RecursionError, which DRF leaves to Django: a 500 (with the debug page when DEBUG is on). No API input
nests deeper than a list of lists, so anything past MAX_DEPTH levels is refused as well, before a serializer,
a JSONField or the renderer can recurse into it.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32


def nesting_exceeds(data, limit: int) -> bool:
    """Whether lists and objects in data nest more than limit levels deep (``[]`` is 1); never recurses."""
    stack = [(data, 1)] if isinstance(data, dict | list) else []
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class JSONParser(parsers.JSONParser):
    max_depth = MAX_DEPTH

    def parse(self, stream, media_type=None, parser_context=None):
        too_deep = ParseError(f"JSON parse error - lists and objects nest deeper than {self.max_depth} levels")
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise too_deep from None
        if nesting_exceeds(data, self.max_depth):
            raise too_deep
        return data
