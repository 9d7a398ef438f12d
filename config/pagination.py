from rest_framework.pagination import CursorPagination


class KeysetPagination(CursorPagination):
    """Cursor (keyset) pagination: a page deep in a long list costs the same as the first one.
    Views with their own order set `ordering`; the default is newest first by primary key."""

    ordering = "-pk"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
