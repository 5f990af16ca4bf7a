"""Security Hub CSPM adapter: imports ASFF findings with BatchImportFindings, at most 100 per call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from core.adapters.aws import translated
from core.kernel.errors import AwsError
from core.kernel.models import Finding, IdentityKey, Resolved
from core.report import asff

if TYPE_CHECKING:
    from mypy_boto3_securityhub import SecurityHubClient
    from mypy_boto3_securityhub.type_defs import AwsSecurityFindingUnionTypeDef

BATCH = 100  # BatchImportFindings: "Maximum of 100 findings per request"
SHOWN = 10  # failed ids named in an error; the count says how many more


class SecurityHubImporter:
    """Sends ASFF findings in batches. A batch that fails as a whole stops the import (the next would meet the same
    refusal: access denied, hub not enabled); findings refused one by one do not, and are all reported at the end."""

    def __init__(self, client: SecurityHubClient) -> None:
        self._client = client

    def import_findings(self, findings: Sequence[Mapping[str, Any]]) -> int:
        """How many were imported. Raises AwsError naming the ids of the findings that were not."""
        failed: list[tuple[str, str, str]] = []
        imported = 0
        for start in range(0, len(findings), BATCH):
            batch = cast("list[AwsSecurityFindingUnionTypeDef]", list(findings[start : start + BATCH]))
            try:
                with translated("securityhub", "BatchImportFindings"):
                    response = self._client.batch_import_findings(Findings=batch)
            except AwsError as err:
                # The same error, saying how far the import got: earlier batches stay imported.
                message = str(err).removeprefix(f"{err.service} {err.operation} failed: {err.code}: ")
                left = len(findings) - imported
                raise AwsError(
                    err.service, err.operation, err.code, f"{message} ({left} of {len(findings)} findings not imported)"
                ) from err
            imported += response["SuccessCount"]
            failed += [(f["Id"], f["ErrorCode"], f["ErrorMessage"]) for f in response["FailedFindings"]]
        if failed:
            named = ", ".join(f"{i} ({code}: {message})" for i, code, message in failed[:SHOWN])
            more = f" and {len(failed) - SHOWN} more" if len(failed) > SHOWN else ""
            message = f"{len(failed)} of {len(findings)} findings not imported: {named}{more}"
            raise AwsError("securityhub", "BatchImportFindings", failed[0][1], message)
        return imported


class SecurityHubExport:
    """The run's findings to one hub: open ones ACTIVE and FAILED, resolved ones re-imported ARCHIVED and PASSED."""

    def __init__(self, importer: SecurityHubImporter, hub: asff.Hub) -> None:
        self._importer = importer
        self._hub = hub

    @property
    def target(self) -> str:
        return self._hub.arn

    def export(
        self,
        findings: Sequence[Finding],
        resolved: Sequence[Resolved],
        affected: Mapping[str, Sequence[IdentityKey]],
        now: str,
    ) -> int:
        documents = [asff.active(f, self._hub, now) for f in findings]
        documents += [asff.resolved(r, affected.get(r.id, ()), self._hub, now) for r in resolved]
        return self._importer.import_findings(documents)
