"""The routing app's tables: its configuration, and what the request path reads besides."""

from routing.models.configuration import (
    ConfigVersion,
    GatewayKey,
    ModelMapping,
    Route,
    RouteTarget,
    Source,
    Upstream,
    validate_http_url,
    validate_model_pattern,
    validate_model_patterns,
    validate_network,
    validate_rate,
)
from routing.models.request_path import (
    WORKFLOW_NAME,
    CachedResponse,
    Workflow,
    compress,
    decompress,
    validate_workflow_name,
)
from routing.models.responses import StoredResponse

__all__ = [
    "WORKFLOW_NAME",
    "CachedResponse",
    "ConfigVersion",
    "GatewayKey",
    "ModelMapping",
    "Route",
    "RouteTarget",
    "Source",
    "StoredResponse",
    "Upstream",
    "Workflow",
    "compress",
    "decompress",
    "validate_http_url",
    "validate_model_pattern",
    "validate_model_patterns",
    "validate_network",
    "validate_rate",
    "validate_workflow_name",
]
