"""SNS adapter: publishes rendered notifications to the findings topic."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.adapters.aws import translated
from core.report.notify import Notification

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient


class SnsPublisher:
    """Publishes each notification as one SNS Publish; sizes were settled by core.report.notify.render."""

    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def publish(self, notifications: Sequence[Notification]) -> list[str]:
        """Message ids in order. A failed publish raises AwsError; the parts before it were delivered."""
        ids = []
        for notification in notifications:
            request: dict[str, Any] = {
                "TopicArn": self._topic_arn,
                "Message": notification.message,
                "Subject": notification.subject,
            }
            if notification.message_structure:
                request["MessageStructure"] = notification.message_structure
            if notification.attributes:
                request["MessageAttributes"] = notification.attributes
            with translated("sns", "Publish"):
                response = self._client.publish(**request)
            ids.append(response["MessageId"])
        return ids
