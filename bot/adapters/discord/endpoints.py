"""Pointing discord.py at another REST base / gateway (a test double, a proxy).

discord.py keeps both as *class attributes*, so this is process-wide: ``Route.BASE`` (every REST call,
interaction callbacks and follow-ups included) and ``DiscordWebSocket.DEFAULT_GATEWAY`` (a plain
``Client`` connects straight to it). The adapter sets them in ``start()`` only when the settings differ
from Discord's defaults, and puts the previous values back in ``stop()`` if they are still its own.
Consequence: every Discord adapter in one process must use the same URLs.
"""

from __future__ import annotations

from collections.abc import Callable

import discord.gateway
import discord.http
import yarl

DISCORD_API_URL = "https://discord.com/api/v10"


def point_discord_py_at(api_url: str, gateway_url: str) -> Callable[[], None]:
    """Use ``api_url``/``gateway_url`` (a default or empty value leaves discord.py's own); returns
    a function that restores what was there before."""
    route, websocket = discord.http.Route, discord.gateway.DiscordWebSocket
    old_base, old_gateway = route.BASE, websocket.DEFAULT_GATEWAY
    new_base = api_url.rstrip("/")
    new_gateway = yarl.URL(gateway_url) if gateway_url else None
    set_base = bool(new_base) and new_base != DISCORD_API_URL
    if set_base:
        route.BASE = new_base
    if new_gateway is not None:
        websocket.DEFAULT_GATEWAY = new_gateway

    def restore() -> None:
        current_base, current_gateway = route.BASE, websocket.DEFAULT_GATEWAY
        if set_base and current_base == new_base:
            route.BASE = old_base
        if new_gateway is not None and current_gateway == new_gateway:
            websocket.DEFAULT_GATEWAY = old_gateway

    return restore
