"""Loopback AWS for tests: moto's server in this process, behind a middleware that counts every request.

The server listens on 127.0.0.1 only; every test that uses the `aws` fixture gets fake credentials and
`AWS_ENDPOINT_URL` pointing at it, so no client built from boto3's own configuration can reach real AWS.
The counter sees requests as AWS would: one entry per HTTP request, retries included.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import threading
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import boto3
import botocore.session
import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from tests import fidelity

REGION = "eu-west-1"
_CREDENTIAL = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request")
# Signing names whose calls are REST (the operation is in method + path), mapped to their botocore model.
_REST_APIS = {"ses": "sesv2", "route53": "route53", "securityhub": "securityhub"}
_ERROR_NAMESPACES = {
    "ses": "http://ses.amazonaws.com/doc/2010-12-01/",
    "sns": "http://sns.amazonaws.com/doc/2010-03-31/",
}

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
Wsgi = Callable[[Environ, StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class Call:
    """One request as the server saw it. `service` is the SigV4 signing name (SES v1 and v2 both sign as `ses`,
    and share one quota); `api` the botocore model that served it (`ses`, `sesv2`, `route53`, ...)."""

    service: str
    api: str
    operation: str
    region: str
    path: str = ""


@dataclass
class Fault:
    """An error the server returns instead of calling moto, for `times` requests (None: every request)."""

    operation: str
    code: str
    message: str
    status: int = 400
    times: int | None = None
    region: str | None = None
    path: str | None = None  # part of the request path, e.g. `/hostedzone/<id>/` for one Route 53 zone

    def matches(self, call: Call) -> bool:
        return (
            call.operation == self.operation
            and self.region in (None, call.region)
            and (self.path is None or self.path in call.path)
            and self.times != 0
        )


@dataclass
class Meanwhile:
    """Something another client does once, when a matching request has arrived and before moto answers it."""

    operation: str
    action: Callable[[], None]
    path: str | None = None

    def matches(self, call: Call) -> bool:
        return call.operation == self.operation and (self.path is None or self.path in call.path)


@dataclass
class CallLog:
    _calls: list[Call] = field(default_factory=list)
    _faults: list[Fault] = field(default_factory=list)
    _meanwhile: list[Meanwhile] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, call: Call) -> Fault | None:
        with self._lock:
            self._calls.append(call)
            for fault in self._faults:
                if fault.matches(call):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def add_meanwhile(self, meanwhile: Meanwhile) -> None:
        with self._lock:
            self._meanwhile.append(meanwhile)

    def take_meanwhile(self, call: Call) -> list[Meanwhile]:
        """The actions due for this request, removed so that each runs once (their own requests pass freely)."""
        with self._lock:
            due = [m for m in self._meanwhile if m.matches(call)]
            self._meanwhile = [m for m in self._meanwhile if m not in due]
        return due

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
            self._faults.clear()
            self._meanwhile.clear()

    def __iter__(self) -> Iterator[Call]:
        with self._lock:
            return iter(list(self._calls))

    def __len__(self) -> int:
        with self._lock:
            return len(self._calls)

    def count(
        self,
        service: str | None = None,
        operation: str | None = None,
        region: str | None = None,
        api: str | None = None,
    ) -> int:
        """How many recorded requests match every given attribute."""
        wanted = {"service": service, "operation": operation, "region": region, "api": api}
        return sum(all(value is None or getattr(call, key) == value for key, value in wanted.items()) for call in self)


@cache
def _rest_routes(api: str) -> list[tuple[str, re.Pattern[str], str]]:
    """(method, path pattern, operation) for every operation of a REST model, most literal paths first."""
    model = botocore.session.get_session().get_service_model(api)
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        path = http["requestUri"].split("?", 1)[0]
        pattern = re.sub(r"\\\{[^}]+\\\+\\\}", ".+", re.escape(path))
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        routes.append((http["method"], re.compile(f"^{pattern}/?$"), name))
    routes.sort(key=lambda route: -len(route[1].pattern.replace("[^/]+", "").replace(".+", "")))
    return routes


def _operation(environ: Environ, body: bytes, service: str) -> tuple[str, str]:
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return service, target.rsplit(".", 1)[-1]
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return service, query["Action"][0]
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        form = parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return service, form["Action"][0]
    api = _REST_APIS.get(service, service)
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
    if service == "s3":
        return api, _s3_object_operation(environ, method, path)
    for route_method, pattern, name in _rest_routes(api) if api in _REST_APIS.values() else []:
        if route_method == method and pattern.match(path):
            return api, name
    return api, f"{method} {path}"


def _s3_object_operation(environ: Environ, method: str, path: str) -> str:
    """S3 serves dozens of operations per path, told apart by subresources and headers: name the plain object
    calls (path-style `/<bucket>/<key>`, no subresource, not a copy), the rest by method and path."""
    plain = {"PUT": "PutObject", "GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}
    is_object = "/" in path.strip("/")
    if is_object and not environ.get("QUERY_STRING") and "HTTP_X_AMZ_COPY_SOURCE" not in environ and method in plain:
        return plain[method]
    return f"{method} {path}"


def _error_response(api: str, fault: Fault, start_response: StartResponse) -> list[bytes]:
    if api in ("sesv2", "securityhub"):  # REST-JSON: the code travels in a header
        body = json.dumps({"message": fault.message}).encode()
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", fault.code)]
    else:
        namespace = _ERROR_NAMESPACES.get(api, "https://route53.amazonaws.com/doc/2013-04-01/")
        body = (
            f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type><Code>{escape(fault.code)}</Code>'
            f"<Message>{escape(fault.message)}</Message></Error><RequestId>fault</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml")]
    start_response(f"{fault.status} Error", [*headers, ("Content-Length", str(len(body)))])
    return [body]


class CountingMiddleware:
    """Records (service, operation, region) of each AWS request, then hands it to moto unless a fault matches."""

    def __init__(self, app: Wsgi, log: CallLog) -> None:
        self.app = app
        self.log = log

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        scope = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
        if scope is None:  # moto's own API (/moto-api/reset) and unsigned requests are not AWS calls
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        api, operation = _operation(environ, body, scope["service"])
        call = Call(scope["service"], api, operation, scope["region"], environ.get("PATH_INFO", ""))
        fault = self.log.record(call)
        if fault is not None:
            return _error_response(api, fault, start_response)
        # Outside the log's lock: the action's own requests come back through this middleware on another thread.
        for meanwhile in self.log.take_meanwhile(call):
            meanwhile.action()
        return self.app(environ, start_response)


@dataclass
class LocalAws:
    """What a test sees of the loopback AWS."""

    endpoint: str
    calls: CallLog
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)

    def client(self, service: str, region: str = REGION) -> Any:
        """A boto3 client for seeding state; explicit endpoint and fake keys, so it can only reach the server."""
        key = (service, region)
        if key not in self._clients:  # building a client costs ~0.1 s; they hold no state worth resetting
            session = boto3.session.Session(
                aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
            )
            self._clients[key] = session.client(service, endpoint_url=self.endpoint)  # type: ignore[call-overload]
        return self._clients[key]

    def session(self, region: str = REGION) -> boto3.session.Session:
        """A session as the code under test builds it: credentials and endpoint from the environment."""
        return boto3.session.Session(region_name=region)

    def fail(
        self,
        operation: str,
        code: str,
        message: str = "Rate exceeded",
        *,
        status: int = 400,
        times: int | None = None,
        region: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer `operation` with an AWS error instead of moto's answer (`times` requests, or all); `path`
        narrows it to requests whose path contains it."""
        self.calls.add_fault(Fault(operation, code, message, status, times, region, path))

    def meanwhile(self, operation: str, action: Callable[[], None], *, path: str | None = None) -> None:
        """Run `action` (another writer's calls, say) once, when the next matching request arrives and before
        moto answers it: a change made by someone else between the code's last read and its write."""
        self.calls.add_meanwhile(Meanwhile(operation, action, path))

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=10) as response:  # loopback only
            response.read()
        self.calls.clear()


@contextlib.contextmanager
def serve_local_aws() -> Iterator[LocalAws]:
    """moto's server on a free loopback port, behind the counting middleware, until the block ends."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request drowns the output
    fidelity.add_routes()
    log = CallLog()
    app = CountingMiddleware(DomainDispatcherApplication(create_backend_app), log)
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
    thread.start()
    try:
        yield LocalAws(endpoint=f"http://127.0.0.1:{server.server_port}", calls=log)
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def aws_server() -> Iterator[LocalAws]:
    """moto's server for the whole session."""
    with serve_local_aws() as local:
        yield local


@pytest.fixture
def aws(aws_server: LocalAws, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> LocalAws:
    """Fresh moto state, a cleared counter, the fidelity patches, and an environment that only reaches loopback."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL_") or name == "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS":
            monkeypatch.delenv(name)
    # A user's ~/.aws files could name a profile, a role or per-service endpoints; point boto3 away from them.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_server.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    aws_server.reset()
    fidelity.install(monkeypatch)
    return aws_server


def subscribed_queue(aws: Any, topic_arn: str) -> str:
    """An SQS queue subscribed to the topic with raw delivery: it receives the publish's default body."""
    sqs = aws.client("sqs")
    url: str = sqs.create_queue(QueueName="findings")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws.client("sns").subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
    )
    return url


def received(aws: Any, url: str, expected: int) -> list[str]:
    """Up to `expected` message bodies from the queue, polling a bounded number of times."""
    sqs = aws.client("sqs")
    bodies: list[str] = []
    for _ in range(expected + 5):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        bodies += [m["Body"] for m in messages]
        if len(bodies) >= expected:
            break
    return bodies
