"""Path converters of the API's object URLs.

An id is 1 to 18 digits (below PostgreSQL's bigint limit, so a huge number is a 404 at the URL
resolver, never a database error); a region is its plain Kemendagri code. Anything else falls
through to the API's JSON 404. The schema describes both (smartprov.api.schema.ApiAutoSchema).
"""

from django.urls import register_converter


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


class RegionCodeConverter:
    regex = "[0-9]{2,10}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)


ID = "api_id"
REGION_CODE = "region_code"

register_converter(IdConverter, ID)
register_converter(RegionCodeConverter, REGION_CODE)

# The OpenAPI schema of each converter, keyed by the anchored pattern drf-spectacular derives
# from its regex (see smartprov.api.schema.ApiAutoSchema).
SCHEMAS_BY_PATTERN = {
    f"^{IdConverter.regex}$": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
    f"^{RegionCodeConverter.regex}$": {
        "type": "string",
        "pattern": f"^{RegionCodeConverter.regex}$",
        "example": "3374",
    },
}
