"""The small error hierarchy; adapters translate outside errors into these at their edge."""


class SesGuardError(Exception):
    """Base of every error ses-guard raises on purpose."""


class ConfigError(SesGuardError):
    """A setting (environment variable or CLI option) has a bad value; the message names it."""


class EventError(SesGuardError):
    """The invocation event is malformed, or asks for more than the deployment allows; nothing was done."""


class AwsError(SesGuardError):
    """An AWS call failed after botocore's retries."""

    def __init__(self, service: str, operation: str, code: str, message: str) -> None:
        super().__init__(f"{service} {operation} failed: {code}: {message}")
        self.service = service
        self.operation = operation
        self.code = code


class ConflictError(SesGuardError):
    """A conditional write lost to another writer: the stored object changed since it was read."""
