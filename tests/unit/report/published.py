"""What one rendered notification carries, per subscriber protocol, for tests to read."""

from __future__ import annotations

import json
from typing import Any

from core.report.notify import Notification


def bodies(notification: Notification) -> dict[str, str]:
    assert notification.message_structure == "json"
    parsed: dict[str, str] = json.loads(notification.message)
    return parsed


def chatbot(notification: Notification) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(bodies(notification)["https"])
    return payload


def machine(notification: Notification) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(bodies(notification)["default"])
    return payload
