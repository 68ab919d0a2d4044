"""One client, elasticsearch-py, for both search engines: the client quirks live here and nowhere else.

elasticsearch-py 9 is Elastic's client for Elasticsearch. Against OpenSearch it fails twice:
it sends ``application/vnd.elasticsearch+json; compatible-with=9`` media types, which OpenSearch
answers with 406, and it refuses any server whose answers lack ``X-Elastic-Product:
Elasticsearch``. For OpenSearch the client gets ``OpenSearchNode``, a transport node that sends
the plain JSON media types and vouches for the product on the way back. Everything above this
module speaks one API: kabar uses only the part of Elasticsearch's REST API that OpenSearch 2
shares (search, bulk, mget, aliases, index templates, ``_rollover``, ``_analyze``, the percolator).
"""

from __future__ import annotations

import re
from typing import Any, Final

from elastic_transport import HttpHeaders, Urllib3HttpNode
from elastic_transport._models import DEFAULT, DefaultType
from elastic_transport._node._base import NodeApiResponse  # not re-exported by the package
from elasticsearch import Elasticsearch, UnsupportedProductError

from kabar.contract.settings import KabarSettings

_VENDOR_MEDIA_TYPE: Final = re.compile(r"application/vnd\.elasticsearch\+([a-z-]+)(?:\s*;\s*compatible-with=\d+)?")
_PRODUCT_HEADER: Final = "x-elastic-product"


class OpenSearchNode(Urllib3HttpNode):
    """elasticsearch-py's HTTP node, speaking plain JSON to OpenSearch."""

    def perform_request(self, method: str, target: str, body: bytes | None = None,
                        headers: HttpHeaders | None = None,
                        request_timeout: DefaultType | float | None = DEFAULT) -> NodeApiResponse:
        plain = HttpHeaders()
        for name, value in (headers or HttpHeaders()).items():
            plain[name] = _VENDOR_MEDIA_TYPE.sub(r"application/\1", value) if name.lower() in (
                "accept", "content-type") else value
        response = super().perform_request(method, target, body=body, headers=plain, request_timeout=request_timeout)
        if _PRODUCT_HEADER not in response.meta.headers:
            response.meta.headers[_PRODUCT_HEADER] = "Elasticsearch"
        return response


def connect(settings: KabarSettings) -> Elasticsearch:
    """A client for the configured engine (``KABAR_SEARCH_BACKEND``: elasticsearch or opensearch)."""
    options: dict[str, Any] = {"request_timeout": 30, "retry_on_timeout": True, "max_retries": 3}
    if settings.search_backend_name == "opensearch":
        options["node_class"] = OpenSearchNode
    elif settings.elasticsearch_api_key:
        options["api_key"] = settings.elasticsearch_api_key
    return Elasticsearch(settings.search_engine_url, **options)


def wrong_engine_hint(exc: Exception, settings: KabarSettings) -> str | None:
    """What to tell an operator whose server is not the engine ``KABAR_SEARCH_BACKEND`` names."""
    status = getattr(exc, "status_code", None)
    if isinstance(exc, UnsupportedProductError) or status == 406:
        return (f"the search server at KABAR_{settings.search_backend_name.upper()}_URL is not "
                f"{settings.search_backend_name}: set KABAR_SEARCH_BACKEND=opensearch for OpenSearch "
                "(KABAR_OPENSEARCH_URL), elasticsearch for Elasticsearch (KABAR_ELASTICSEARCH_URL)")
    return None
