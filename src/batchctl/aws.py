"""The AWS boundary: a Session's clients (one per service, shared across threads), retry config, the one
translation of botocore/boto3 exceptions into our errors (used by `client()`, `call()`, `pages()` and
`create_session()`), pagination and bounded waits with an injected sleep.

Imports: errors, naming, boto3/botocore. Nothing else in batchctl catches botocore exceptions.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConfigNotFound,
    ConfigParseError,
    ConnectionClosedError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    HTTPClientError,
    InvalidConfigError,
    InvalidRegionError,
    MetadataRetrievalError,
    NoAuthTokenError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
    ProxyConnectionError,
    ReadTimeoutError,
    RefreshWithMFAUnsupportedError,
    SSLError,
    SSOError,
    TokenRetrievalError,
    UnknownCredentialError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.loaders import create_loader
from botocore.parsers import ResponseParserError

from batchctl.errors import AwsAuthError, AwsError, UnsupportedOperationError, WaitTimeoutError
from batchctl.naming import AwsContext

AwsDict = dict[str, Any]
T = TypeVar("T")

log = logging.getLogger(__name__)

# The caller is known but not allowed (SNS says AuthorizationError).
PERMISSION_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
)
# The credentials themselves were refused: wrong, expired, or for another partition.
CREDENTIAL_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
        "AuthFailure",
        "InvalidAccessKeyId",
        "MissingAuthenticationToken",
        "IncompleteSignature",
    }
)
AUTH_CODES = PERMISSION_CODES | CREDENTIAL_CODES
# The endpoint does not implement the operation: S3's and the sandbox's NotImplemented (HTTP 501), the query
# protocol's InvalidAction, the JSON protocol's UnknownOperationException.
UNSUPPORTED_CODES = frozenset({"NotImplemented", "InvalidAction", "UnknownOperationException"})
NOT_IMPLEMENTED_STATUS = 501

# Raised while botocore looks for credentials or an SSO token: all mean "you are not logged in".
CREDENTIAL_ERRORS: tuple[type[BotoCoreError], ...] = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    UnknownCredentialError,
    RefreshWithMFAUnsupportedError,
    MetadataRetrievalError,
    SSOError,
    TokenRetrievalError,
    NoAuthTokenError,
)
CONFIG_FILE_ERRORS = (ConfigParseError, ConfigNotFound, InvalidConfigError)

# "standard" mode retries throttling (ThrottlingException, TooManyRequestsException, ...), 5xx and connection
# errors with capped exponential backoff. 8 attempts rides out a throttling storm without retrying forever.
RETRY_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 8},
    max_pool_connections=64,
    connect_timeout=10,
    read_timeout=60,
)

REGION_HINT = "set `region:` in jobs.yaml, pass --region, or set AWS_REGION"
SANDBOX_HINT = (
    "is it running? (`batchctl sandbox` starts a local one); check --endpoint-url and AWS_ENDPOINT_URL"
)
DEBUG_HINT = "rerun with -vv to see what botocore did"


# ---- the one translation --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Where:
    """What a failed call was doing, for its message: `sqs ListQueues failed for sqs.queue/demo-dev-etl`."""

    service: str = ""
    operation: str = ""  # the API name (ListQueues) when known
    key: str = ""
    region: str | None = None
    endpoint_url: str | None = None
    iam_prefix: str = ""  # the IAM action prefix (states for stepfunctions)

    def failed(self, detail: str) -> str:
        """One line: what failed, on what, and `detail`."""
        if not self.service:
            return detail
        what = f"{self.service} {self.operation or 'client'}"
        where = f" for {self.key}" if self.key else ""
        return f"{what} failed{where}: {detail}"

    @property
    def custom_endpoint(self) -> bool:
        """True when requests go to an endpoint given by the user (--endpoint-url, AWS_ENDPOINT_URL...)."""
        return self.endpoint_url is not None and not is_aws_host(self.endpoint_url)


def translate(exc: Exception, where: Where) -> AwsError:
    """The most specific AwsError for a botocore/boto3 exception: a one-line message naming service, operation
    and resource, and a hint saying what to do. Anything not listed becomes a plain AwsError, never escapes."""
    name = type(exc).__name__
    if isinstance(exc, ClientError):
        return _client_error(exc, where)
    if isinstance(exc, ProfileNotFound):
        profile = exc.kwargs.get("profile") or "(unnamed)"
        return AwsAuthError(
            where.failed(f"AWS profile {profile} was not found"),
            service=where.service,
            operation=where.operation,
            code=name,
            key=where.key,
            hint="list profiles with `aws configure list-profiles`; fix --profile or AWS_PROFILE",
        )
    if isinstance(exc, CREDENTIAL_ERRORS):
        return AwsAuthError(
            where.failed(_credentials_problem(exc)),
            service=where.service,
            operation=where.operation,
            code=name,
            key=where.key,
            hint=_credentials_hint(exc),
        )
    detail, hint = _problem(exc, where)
    return AwsError(
        where.failed(detail),
        service=where.service,
        operation=where.operation,
        code=name,
        key=where.key,
        hint=hint,
    )


def _client_error(exc: ClientError, where: Where) -> AwsError:
    """AWS answered with an error: auth codes are AwsAuthError (exit 4). An answer without an AWS error code (a
    web page from a wrong endpoint or a proxy, a bare 5xx) says what came back instead of quoting it."""
    error = exc.response.get("Error", {})
    meta = exc.response.get("ResponseMetadata", {})
    code = str(error.get("Code") or "Unknown")
    operation = exc.operation_name or where.operation
    where = dataclasses.replace(where, operation=operation)
    fields = {"service": where.service, "operation": operation, "code": code, "key": where.key}
    message = one_line(str(error.get("Message") or ""))
    status = meta.get("HTTPStatusCode", code)
    if code in UNSUPPORTED_CODES or str(status) == str(NOT_IMPLEMENTED_STATUS):
        endpoint = where.endpoint_url or "the endpoint"
        text = where.failed(f"{endpoint} does not support {operation} ({code}, HTTP {status})")
        return UnsupportedOperationError(text, hint=_unsupported_hint(where), **fields)
    if code == "Unknown" or code.isdigit():  # botocore found no AWS error code in the answer
        content_type = str(meta.get("HTTPHeaders", {}).get("content-type", "")).lower()
        page = "html" in content_type or message == "a web page"
        endpoint = where.endpoint_url or "the endpoint"
        text = where.failed(
            f"{endpoint} answered HTTP {status} with {'a web page' if page else 'no AWS error'}"
        )
        if not page and not where.custom_endpoint and str(status).startswith("5"):
            return AwsError(
                text, hint="AWS had trouble (botocore already retried): run it again later", **fields
            )
        return AwsError(text, hint=_not_aws_hint(where), **fields)
    text = where.failed(code + (f": {message}" if message else ""))
    if code in PERMISSION_CODES:
        action = f"{where.iam_prefix or where.service}:{operation}"
        hint = f"the caller needs {action} on {where.key or 'this resource'}"
        return AwsAuthError(text, hint=hint, **fields)
    if code in CREDENTIAL_CODES:
        hint = "AWS refused the credentials (wrong, expired, or for another partition): renew them "
        hint += "(`aws sso login`, `aws configure`) or pick another --profile"
        return AwsAuthError(text, hint=hint, **fields)
    return AwsError(text, **fields)


def _credentials_problem(exc: BotoCoreError) -> str:
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials were found"
    if isinstance(exc, PartialCredentialsError):
        found_in = exc.kwargs.get("provider", "the environment")
        return f"incomplete AWS credentials in {found_in}: {exc.kwargs.get('cred_var', 'a value')} is missing"
    return f"AWS credentials could not be loaded: {one_line(str(exc))}"


def _credentials_hint(exc: BotoCoreError) -> str:
    if isinstance(exc, SSOError | TokenRetrievalError | NoAuthTokenError):
        return "log in again: `aws sso login` (with --profile, if you use one)"
    if isinstance(exc, PartialCredentialsError):
        return "set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither (to use a profile)"
    return "configure credentials (aws configure, AWS_PROFILE, --profile) or try `batchctl sandbox`"


def _problem(exc: Exception, where: Where) -> tuple[str, str]:
    """Message detail and hint for everything but ClientError and credentials."""
    url = str(getattr(exc, "kwargs", {}).get("endpoint_url") or where.endpoint_url or "the endpoint").rstrip(
        "/"
    )
    if isinstance(exc, NoRegionError):
        return "no AWS region is set", REGION_HINT
    if isinstance(exc, InvalidRegionError):
        return f"{exc.kwargs.get('region_name', where.region)!r} is not a valid AWS region name", REGION_HINT
    if isinstance(exc, CONFIG_FILE_ERRORS):
        return (
            f"the AWS configuration cannot be read: {one_line(str(exc))}",
            "fix ~/.aws/config (AWS_CONFIG_FILE)",
        )
    if isinstance(exc, ValueError) and str(exc).startswith("Invalid endpoint"):
        given = str(exc).partition(":")[2].strip()
        return (
            f"invalid endpoint URL {given!r}",
            f"give the scheme too, e.g. http://{given or '127.0.0.1:4750'}",
        )
    if isinstance(exc, ProxyConnectionError):
        proxy = exc.kwargs.get("proxy_url", "?")
        return f"cannot connect to the proxy {proxy}", "check HTTPS_PROXY, HTTP_PROXY and NO_PROXY"
    if isinstance(exc, SSLError):
        reason = one_line(str(exc.kwargs.get("error", exc)))
        return (
            f"TLS with {url} failed: {reason}",
            "for a plain-HTTP endpoint use http://; else check AWS_CA_BUNDLE",
        )
    if isinstance(exc, ConnectTimeoutError):
        return f"timed out connecting to {url}", _reach_hint(where, url)
    if isinstance(exc, EndpointConnectionError):
        return f"cannot connect to {url}", _reach_hint(where, url)
    if isinstance(exc, ReadTimeoutError):
        hint = "it accepted the connection but sent no answer: run the command again (it continues where it "
        hint += "stopped); if it persists, check the endpoint and any proxy"
        return f"{url} did not answer in time", hint
    if isinstance(exc, ConnectionClosedError):
        return f"{url} closed the connection without answering", _not_aws_hint(where)
    if isinstance(exc, HTTPClientError | BotoConnectionError):
        return f"the connection to {url} failed: {one_line(str(exc))}", _reach_hint(where, url)
    if isinstance(exc, ResponseParserError):
        detail = exc.detail if isinstance(exc, NonAwsResponseError) else "a response botocore cannot parse"
        return f"{url} answered with {detail}, not an AWS response", _not_aws_hint(where)
    if isinstance(exc, ParamValidationError):
        hint = "a value (from jobs.yaml, or an option) breaks the API's rules; if none does, please report it"
        return f"request rejected before sending: {one_line(str(exc))}", hint
    return one_line(str(exc)) or type(exc).__name__, DEBUG_HINT


def _reach_hint(where: Where, url: str) -> str:
    """Why an endpoint cannot be reached: a region AWS does not have, a local endpoint that is down, the network."""
    region = where.region or ""
    if region and region not in known_regions():
        close = difflib.get_close_matches(region, sorted(known_regions()), n=1)
        guess = f" (did you mean {close[0]}?)" if close else ""
        also = f"; and is {url} up?" if where.custom_endpoint else ""
        return f"{region} is not an AWS region{guess}: {REGION_HINT}{also}"
    if where.custom_endpoint:
        return f"nothing answers at {url}: {SANDBOX_HINT}"
    return (
        f"check the network (and HTTPS_PROXY, if you use a proxy) and that {region or 'the region'} is right"
    )


def _unsupported_hint(where: Where) -> str:
    if where.custom_endpoint:
        return (
            f"AWS has {where.operation}; this endpoint (an emulator, such as `batchctl sandbox`) lacks it: "
            "that step works only against AWS"
        )
    return f"AWS does not offer {where.operation} here: check the region ({where.region or 'none set'})"


def _not_aws_hint(where: Where) -> str:
    if where.custom_endpoint:
        return f"{where.endpoint_url} does not speak the AWS API: {SANDBOX_HINT}"
    return "something between you and AWS (a proxy, a captive portal) answered instead: check the network"


def one_line(text: str) -> str:
    """`text` on one line (whitespace runs become one space); a web page is named, not quoted."""
    flat = " ".join(text.split())
    return "a web page" if is_web_page(flat) else flat


def is_web_page(text: str) -> bool:
    return text.lstrip()[:15].lower().startswith(("<!doctype html", "<html"))


@functools.cache
def known_regions() -> frozenset[str]:
    """Every region of every partition botocore knows (its endpoints and partitions data)."""
    loader = create_loader()
    regions: set[str] = set()
    for data_name in ("endpoints", "partitions"):
        for partition in loader.load_data(data_name).get("partitions", []):
            regions.update(partition.get("regions", {}))
    return frozenset(regions)


@functools.cache
def _aws_dns_suffixes() -> tuple[str, ...]:
    suffixes: set[str] = set()
    for partition in create_loader().load_data("partitions").get("partitions", []):
        outputs = partition.get("outputs", {})
        suffixes.update(str(outputs[k]) for k in ("dnsSuffix", "dualStackDnsSuffix") if outputs.get(k))
    return tuple(sorted(suffixes))


def is_aws_host(url: str) -> bool:
    """True when `url` is one of AWS's own endpoints (by the DNS suffixes of botocore's partitions)."""
    host = urlparse(url).hostname or ""
    return any(host == s or host.endswith("." + s) for s in _aws_dns_suffixes())


class NonAwsResponseError(ResponseParserError):  # type: ignore[misc]  # botocore is untyped
    """A 2xx answer that no AWS service sends: a web page, an empty or non-JSON body for a JSON protocol."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


_JSON_PROTOCOLS = frozenset({"json", "rest-json"})


def reject_non_aws_response(operation_model: Any, response_dict: AwsDict, **_: Any) -> None:
    """botocore `before-parse` handler. Without it a web page answering 200 parses as an empty result for JSON
    services (so a read would see "no resources") and as a KeyError for query services (an internal error)."""
    status = int(response_dict.get("status_code") or 0)
    body = response_dict.get("body")
    if not 200 <= status < 300 or not isinstance(body, bytes) or operation_model.has_streaming_output:
        return
    # By its start, not its Content-Type: moto labels some JSON answers text/html.
    if is_web_page(body[:64].decode(errors="replace")):
        raise NonAwsResponseError(f"a web page (HTTP {status}, {len(body)} bytes)")
    protocol = getattr(
        operation_model.service_model, "resolved_protocol", operation_model.metadata["protocol"]
    )
    if protocol not in _JSON_PROTOCOLS or operation_model.output_shape is None:
        return
    output = operation_model.output_shape
    in_body = [m for m in output.members.values() if "location" not in m.serialization]
    if output.serialization.get("payload") or not in_body:
        return  # the body is a raw payload, or nothing is expected in it
    if not body.strip():
        raise NonAwsResponseError(f"an empty body (HTTP {status})")
    try:
        json.loads(body)
    except ValueError as exc:
        raise NonAwsResponseError(f"a body that is not JSON (HTTP {status}, {len(body)} bytes)") from exc


# ---- sessions and clients ---------------------------------------------------------------------------------------


def create_session(*, profile: str | None = None, region: str | None = None) -> Any:
    """Open a boto3 Session; a missing profile (--profile or AWS_PROFILE) or a broken config is our error.

    Region: `region` (--region, else jobs.yaml), else AWS_REGION, else what boto3 finds itself (AWS_DEFAULT_REGION,
    then the profile). boto3 reads only AWS_DEFAULT_REGION, while most other AWS SDKs read AWS_REGION: a user who
    set AWS_REGION means that region."""
    region = region or os.environ.get("AWS_REGION") or None
    try:
        return boto3.Session(profile_name=profile, region_name=region)
    except BotoCoreError as exc:
        raise translate(exc, Where(region=region)) from exc


class Aws:
    """Clients of one Session, created once per service and shared; every call goes through `call()` or
    `pages()`, which translate every botocore exception (also those of creating the client) the same way.

    `config` is merged over RETRY_CONFIG (tests shorten timeouts and attempts with it)."""

    def __init__(
        self,
        session: Any,
        *,
        endpoint_url: str | None = None,
        config: Config | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session
        self.endpoint_url = endpoint_url
        self.config = RETRY_CONFIG.merge(config) if config is not None else RETRY_CONFIG
        self.sleep = sleep
        self.clock = clock
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._context: AwsContext | None = None

    @property
    def region(self) -> str | None:
        region: str | None = self.session.region_name
        return region

    def client(self, service: str) -> Any:
        """The shared client for `service` (boto3 clients are thread-safe; creating them is not)."""
        with self._boundary(service):
            return self._client(service)

    def _client(self, service: str) -> Any:
        with self._lock:
            found = self._clients.get(service)
            if found is None:
                found = self.session.client(service, endpoint_url=self.endpoint_url, config=self.config)
                found.meta.events.register(
                    "before-parse", reject_non_aws_response, unique_id="batchctl-reject-non-aws-response"
                )
                self._clients[service] = found
            return found

    def preload(self, services: Iterable[str]) -> None:
        """Create these clients in a background thread (building a client is mostly CPU: service model, endpoint
        rules), so that it overlaps the first call's network wait instead of delaying the reads that follow."""

        def create() -> None:
            for service in services:
                try:
                    self.client(service)  # one at a time, under the lock: a Session is not thread-safe
                except AwsError:  # e.g. no region: the first real call reports it
                    return

        threading.Thread(target=create, name="batchctl-clients", daemon=True).start()

    def call(self, service: str, operation: str, *, key: object = "", **params: Any) -> AwsDict:
        """Call `client(service).<operation>(**params)`; botocore errors become AwsError/AwsAuthError."""
        log.debug("%s %s %s", service, operation, key)
        with self._boundary(service, operation, key):
            result: AwsDict = getattr(self._client(service), operation)(**params)
        return result

    def pages(self, service: str, operation: str, *, key: object = "", **params: Any) -> Iterator[AwsDict]:
        """Yield each page of a paginated operation, with the same error translation as `call()`."""
        log.debug("%s %s (paginated) %s", service, operation, key)
        with self._boundary(service, operation, key):
            iterator = iter(self._client(service).get_paginator(operation).paginate(**params))
        while True:
            with self._boundary(service, operation, key):
                page: AwsDict | None = next(iterator, None)
            if page is None:
                return
            yield page

    @contextmanager
    def _boundary(self, service: str, operation: str = "", key: object = "") -> Iterator[None]:
        """Where botocore's exceptions become ours. A ValueError is botocore's only way to reject an endpoint
        URL; any other ValueError is not botocore's and passes through."""
        try:
            yield
        except (BotoCoreError, ClientError, ResponseParserError) as exc:
            raise translate(exc, self._where(service, operation, key)) from exc
        except ValueError as exc:
            if not str(exc).startswith("Invalid endpoint"):
                raise
            raise translate(exc, self._where(service, operation, key)) from exc

    def _where(self, service: str, operation: str, key: object) -> Where:
        """The context of a failed call, from its client when that exists."""
        client = self._clients.get(service)
        if client is None:
            # Creating it failed: name the operation as botocore does (list_queues → ListQueues).
            api_name = "".join(part.capitalize() for part in operation.split("_"))
            return Where(service, api_name, str(key), self.region, self.endpoint_url)
        meta = client.meta
        return Where(
            service,
            meta.method_to_api_mapping.get(operation, operation),
            str(key),
            meta.region_name,
            meta.endpoint_url,
            meta.service_model.signing_name,
        )

    def context(self) -> AwsContext:
        """Account, region and partition of the caller (STS GetCallerIdentity), fetched once."""
        if self._context is None:
            identity = self.call("sts", "get_caller_identity")
            arn = str(identity.get("Arn", "arn:aws:"))
            partition = arn.split(":")[1] if arn.count(":") > 1 else "aws"
            region = self.region
            if not region:
                raise AwsError("no AWS region is set", hint=REGION_HINT)
            self._context = AwsContext(
                account_id=str(identity["Account"]), region=region, partition=partition
            )
        return self._context

    def wait_until(
        self,
        probe: Callable[[], T | None],
        *,
        what: str,
        timeout_s: float = 300.0,
        interval_s: float = 5.0,
        key: object = "",
    ) -> T:
        """Poll `probe` until it returns a value other than None; bounded by `timeout_s`."""
        deadline = self.clock() + timeout_s
        delay = min(1.0, interval_s)
        while True:
            value = probe()
            if value is not None:
                return value
            if self.clock() >= deadline:
                raise WaitTimeoutError(
                    f"timed out after {timeout_s:.0f}s waiting for {what}",
                    key=str(key),
                    hint="run the command again: it continues from where it stopped",
                )
            log.debug("waiting for %s", what)
            self.sleep(delay)
            delay = min(delay * 2, interval_s)

    def retry_on(
        self,
        action: Callable[[], T],
        *,
        codes: frozenset[str],
        what: str,
        timeout_s: float = 120.0,
        interval_s: float = 5.0,
        messages: tuple[str, ...] = (),
    ) -> T:
        """Run `action`, retrying AwsErrors whose code is in `codes` (and whose message contains one of
        `messages`, if given) until `timeout_s`: for eventual consistency such as IAM propagation."""
        deadline = self.clock() + timeout_s
        delay = min(1.0, interval_s)
        while True:
            try:
                return action()
            except AwsError as exc:
                retryable = exc.code in codes and (not messages or any(m in exc.message for m in messages))
                if not retryable or self.clock() >= deadline:
                    raise
                log.debug("retrying %s after %s", what, exc.code)
                self.sleep(delay)
                delay = min(delay * 2, interval_s)


def is_code(exc: AwsError, *codes: str) -> bool:
    """True when the AWS error code is one of `codes`."""
    return exc.code in codes
