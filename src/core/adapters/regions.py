"""The account's regions and their opt-in status, from AWS Account Management (account:ListRegions)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.adapters.aws import translated

if TYPE_CHECKING:
    from botocore.client import BaseClient

PAGE_SIZE = 50  # ListRegions MaxResults maximum: one page holds every region of a partition today


class AccountRegions:
    """Reads which regions the account can use. ListRegions is a global, account-level call: its answer does not
    depend on the region the client was built for."""

    def __init__(self, client: BaseClient) -> None:
        self._client = client

    def opt_in_status(self) -> dict[str, str]:
        """Every region of the account's partition with its opt-in status: ENABLED_BY_DEFAULT, ENABLED, ENABLING,
        DISABLING or DISABLED.

        Unfiltered (no RegionOptStatusContains) on purpose: the statuses of the regions that are not usable say why
        (ENABLING will pass, DISABLED needs an opt-in), and a name the partition does not have at all can be told
        from a region the account has not enabled. Raises AwsError when the call fails (AccessDeniedException: the
        role lacks account:ListRegions)."""
        with translated("account", "ListRegions"):
            pages = self._client.get_paginator("list_regions").paginate(PaginationConfig={"PageSize": PAGE_SIZE})
            # The paginator is lazy: its requests, and so its errors, happen while this reads the pages.
            return {
                region["RegionName"]: region.get("RegionOptStatus", "")
                for page in pages
                for region in page.get("Regions", [])
            }
