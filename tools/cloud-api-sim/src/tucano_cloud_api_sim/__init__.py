"""Tucano's local stand-in for Meta's WhatsApp Cloud API (Graph API)."""

from .app import RunningServer, create_server, start_server
from .settings import Settings, SettingsError, load_settings

__all__ = [
    "RunningServer",
    "Settings",
    "SettingsError",
    "create_server",
    "load_settings",
    "start_server",
]
