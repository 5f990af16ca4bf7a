"""Shared pytest setup: fixtures for the loopback AWS and DNS servers live in their own modules."""

pytest_plugins = ["tests.fixtures_aws", "tests.fixtures_dns", "tests.fixtures_run"]
