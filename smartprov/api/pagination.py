"""Pagination of every API list: DRF's page numbers with a bounded, client-chosen page size."""

from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    """`?page=N&page_size=M`: `count`, `next`, `previous`, `results`.

    The page size is capped so that no request can ask the database for an unbounded list.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
