"""AWS Organizations: the organisation's member accounts, from the management account or a delegated admin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.adapters.aws import translated
from core.kernel.org import Account


class OrganizationAccounts:
    """ListAccounts through botocore's paginator (20 accounts a page), with the client's retries."""

    def __init__(self, client: Any) -> None:  # an "organizations" client (no type stubs installed for it)
        self._client = client

    def accounts(self) -> list[Account]:
        with translated("organizations", "ListAccounts"):
            pages = self._client.get_paginator("list_accounts").paginate()
            return [account_of(item) for page in pages for item in page["Accounts"]]


def account_of(item: Mapping[str, Any]) -> Account:
    """`State` (ACTIVE, SUSPENDED, PENDING_CLOSURE, PENDING_ACTIVATION, CLOSED) since 2025; the retiring `Status`
    (ACTIVE, SUSPENDED, PENDING_CLOSURE) only when a response lacks it."""
    state = item.get("State") or item.get("Status") or "UNKNOWN"
    return Account(id=str(item["Id"]), name=str(item.get("Name", "")), state=str(state))
