"""The REST API (FastAPI): translates HTTP to the use cases in `sladesk.services` and back."""

from sladesk.api.app import create_app

__all__ = ["create_app"]
