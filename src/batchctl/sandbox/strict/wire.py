"""The strict sandbox's view of HTTP: which service and operation a request is (from its SigV4 scope and botocore's
service models), its parameters, and AWS's error and success answers in the service's protocol.

Imports: stdlib and botocore (installed with moto); nothing from batchctl.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

import botocore.session

# SigV4 signing names that differ from botocore's service names.
SERVICE_BY_SIGNING_NAME = {"states": "stepfunctions"}
QUERY_NAMESPACES = {
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
    "sns": "http://sns.amazonaws.com/doc/2010-03-31/",
}

Environ = dict[str, Any]


class RefusedError(Exception):
    """AWS's answer to a request it refuses: error code, message and HTTP status (None: the model's status)."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Call:
    """One parsed request. `params` are the operation's input members (JSON body, URI labels, or query form)."""

    service: str
    operation: str
    protocol: str
    region: str
    params: dict[str, Any]
    environ: Environ = field(repr=False)
    body: bytes = field(repr=False)

    def with_json_body(self, params: dict[str, Any]) -> Call:
        """The same call with a new JSON body (for rewriting a request before moto sees it)."""
        body = json.dumps(params).encode()
        environ = dict(self.environ, CONTENT_LENGTH=str(len(body)))
        return replace(self, params=params, body=body, environ=environ)


@dataclass
class Reply:
    """A complete HTTP answer (moto's or ours)."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"{}")

    def with_json(self, data: Any) -> Reply:
        body = json.dumps(data).encode()
        headers = [(k, v) for k, v in self.headers if k.lower() != "content-length"]
        return Reply(self.status, [*headers, ("Content-Length", str(len(body)))], body)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def edit_json(self, change: Callable[[dict[str, Any]], None], items: str | None = None) -> Reply:
        """This answer with `change` applied to its JSON document, or to each object of its list `items`."""
        if not self.ok:
            return self
        document = self.json()
        for item in document.get(items, []) if items else [document]:
            change(item)
        return self.with_json(document)


class Models:
    """botocore service models, loaded once per server, with a path router for the REST services."""

    def __init__(self) -> None:
        self._session = botocore.session.get_session()
        self._models: dict[str, Any] = {}
        self._routes: dict[str, list[tuple[str, re.Pattern[str], list[str], str]]] = {}

    def model(self, service: str) -> Any:
        if service not in self._models:
            self._models[service] = self._session.get_service_model(service)
        return self._models[service]

    def status_for(self, service: str, code: str) -> int:
        """The HTTP status AWS answers an error with, from the model (400 when it does not say)."""
        model = self.model(service)
        for name in (code, f"{code}Exception"):
            try:
                shape = model.shape_for(name)
            except Exception:  # botocore raises NoShapeFoundError; any miss means "not modelled"
                continue
            return int(shape.metadata.get("error", {}).get("httpStatusCode", 400))
        return 400

    def route(self, service: str, method: str, path: str) -> tuple[str, dict[str, str]] | None:
        """The REST operation a method and raw path name, with its URI labels."""
        if service not in self._routes:
            routes = []
            model = self.model(service)
            for name in model.operation_names:
                http = model.operation_model(name).http
                uri = http.get("requestUri", "/").split("?", 1)[0]
                labels = re.findall(r"{([^}+]+)\+?}", uri)
                pattern = re.escape(uri)
                for label in labels:
                    pattern = pattern.replace(re.escape("{" + label + "+}"), "(.+)")
                    pattern = pattern.replace(re.escape("{" + label + "}"), "([^/]+)")
                routes.append((http.get("method", "POST"), re.compile(f"^{pattern}/?$"), labels, name))
            self._routes[service] = routes
        for route_method, pattern, labels, name in self._routes[service]:
            match = pattern.match(path)
            if route_method == method and match:
                return name, {
                    label: unquote(value) for label, value in zip(labels, match.groups(), strict=True)
                }
        return None


def read_body(environ: Environ) -> bytes:
    """Read the request body and put it back, so the wrapped application reads it too."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def parse_call(environ: Environ, body: bytes, models: Models) -> Call | None:
    """The service and operation of a signed AWS request, or None for anything else (moto-api, unsigned)."""
    match = re.search(
        r"Credential=[^/]+/\d+/([^/]+)/([^/]+)/aws4_request", environ.get("HTTP_AUTHORIZATION", "")
    )
    if not match:
        return None
    region, signing_name = match.groups()
    service = SERVICE_BY_SIGNING_NAME.get(signing_name, signing_name)
    try:
        protocol = models.model(service).protocol
    except Exception:  # a service botocore does not know: not ours to check
        return None
    params: dict[str, Any]
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if protocol == "json" and "." in target:
        operation = target.rsplit(".", 1)[1]
        params = _json_object(body)
    elif protocol == "query":
        form = {k: v[0] for k, v in parse_qs(body.decode(errors="replace"), keep_blank_values=True).items()}
        form |= {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        operation, params = form.pop("Action", ""), dict(form)
    elif protocol in ("rest-json", "rest-xml"):
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        found = models.route(service, environ.get("REQUEST_METHOD", "GET"), urlsplit(raw).path)
        if found is None:
            return None
        operation, labels = found
        params = _json_object(body) | labels
    else:
        return None
    if not operation:
        return None
    return Call(service, operation, protocol, region, params, environ, body)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def error_reply(call: Call, refusal: RefusedError, models: Models) -> Reply:
    """AWS's error answer for `call`'s protocol: a JSON document, or an XML ErrorResponse for query services."""
    status = refusal.status or models.status_for(call.service, refusal.code)
    request_id = str(uuid.uuid4())
    if call.protocol == "query":
        namespace = QUERY_NAMESPACES.get(call.service, "")
        xml = (
            f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type><Code>{escape(refusal.code)}</Code>'
            f"<Message>{escape(refusal.message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return Reply(status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], xml.encode())
    headers = [("x-amzn-RequestId", request_id), ("x-amzn-ErrorType", refusal.code)]
    if call.protocol == "json":
        version = models.model(call.service).metadata.get("jsonVersion", "1.0")
        headers.append(("Content-Type", f"application/x-amz-json-{version}"))
        if "awsQueryCompatible" in models.model(call.service).metadata:
            headers.append(("x-amzn-query-error", f"{refusal.code};Sender"))
    else:
        headers.append(("Content-Type", "application/json"))
    return Reply(status, headers, json.dumps({"__type": refusal.code, "message": refusal.message}).encode())


def json_reply(data: Any) -> Reply:
    """A 200 JSON answer we give in moto's place (e.g. a delete that AWS completes later)."""
    body = json.dumps(data).encode()
    return Reply(200, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))], body)


def collect(chunks: Iterable[bytes]) -> bytes:
    """Join a WSGI body, closing it as PEP 3333 asks."""
    try:
        return b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
