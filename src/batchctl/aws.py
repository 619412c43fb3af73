"""The AWS boundary: a Session's clients (one per service, shared across threads), retry config, `call()` which
translates botocore exceptions into our errors, pagination and bounded waits with an injected sleep.

Imports: errors, naming, boto3/botocore. Nothing else in batchctl catches botocore exceptions.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

from batchctl.errors import AwsAuthError, AwsError, WaitTimeoutError
from batchctl.naming import AwsContext

AwsDict = dict[str, Any]
T = TypeVar("T")

log = logging.getLogger(__name__)

AUTH_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
        "AuthFailure",
        "InvalidAccessKeyId",
    }
)

# "standard" mode retries throttling (ThrottlingException, TooManyRequestsException, ...), 5xx and connection
# errors with capped exponential backoff. 8 attempts rides out a throttling storm without retrying forever.
RETRY_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 8},
    max_pool_connections=64,
    connect_timeout=10,
    read_timeout=60,
)


def create_session(*, profile: str | None = None, region: str | None = None) -> Any:
    """Open a boto3 Session; a missing profile is a clear auth error."""
    try:
        return boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as exc:
        raise AwsAuthError(
            f"AWS profile {profile!r} was not found", hint="list profiles with `aws configure list-profiles`"
        ) from exc


class Aws:
    """Clients of one Session, created once per service and shared; every call goes through `call()`."""

    def __init__(
        self,
        session: Any,
        *,
        endpoint_url: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session
        self.endpoint_url = endpoint_url
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
        with self._lock:
            found = self._clients.get(service)
            if found is None:
                try:
                    found = self.session.client(service, endpoint_url=self.endpoint_url, config=RETRY_CONFIG)
                except NoRegionError as exc:
                    raise AwsError(
                        "no AWS region is set",
                        service=service,
                        hint="set `region:` in jobs.yaml, pass --region, or set AWS_REGION",
                    ) from exc
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
        client = self.client(service)
        try:
            result: AwsDict = getattr(client, operation)(**params)
        except ClientError as exc:
            raise translate_client_error(exc, service=service, operation=operation, key=str(key)) from exc
        except (NoCredentialsError, PartialCredentialsError) as exc:
            raise AwsAuthError(
                "no AWS credentials were found",
                service=service,
                operation=operation,
                hint="configure credentials (aws configure, AWS_PROFILE, --profile) or try `batchctl sandbox`",
            ) from exc
        except (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError) as exc:
            raise AwsError(
                f"{service} {operation} failed: cannot reach the endpoint ({exc})",
                service=service,
                operation=operation,
                code="EndpointConnectionError",
                key=str(key),
                hint="check the network, --region and --endpoint-url (is `batchctl sandbox` running?)",
            ) from exc
        except ParamValidationError as exc:
            raise AwsError(
                f"{service} {operation} request rejected before sending for {key}: {exc}",
                service=service,
                operation=operation,
                code="ParamValidationError",
                key=str(key),
            ) from exc
        except BotoCoreError as exc:
            raise AwsError(
                f"{service} {operation} failed for {key}: {exc}",
                service=service,
                operation=operation,
                key=str(key),
            ) from exc
        return result

    def pages(self, service: str, operation: str, *, key: object = "", **params: Any) -> Iterator[AwsDict]:
        """Yield each page of a paginated operation, with the same error translation as `call()`."""
        log.debug("%s %s (paginated) %s", service, operation, key)
        paginator = self.client(service).get_paginator(operation)
        iterator = iter(paginator.paginate(**params))
        while True:
            try:
                page: AwsDict = next(iterator)
            except StopIteration:
                return
            except ClientError as exc:
                raise translate_client_error(exc, service=service, operation=operation, key=str(key)) from exc
            except (EndpointConnectionError, ConnectionClosedError, NoCredentialsError) as exc:
                raise AwsError(
                    f"{service} {operation} failed for {key}: {exc}",
                    service=service,
                    operation=operation,
                    key=str(key),
                ) from exc
            yield page

    def context(self) -> AwsContext:
        """Account, region and partition of the caller (STS GetCallerIdentity), fetched once."""
        if self._context is None:
            identity = self.call("sts", "get_caller_identity")
            arn = str(identity.get("Arn", "arn:aws:"))
            partition = arn.split(":")[1] if arn.count(":") > 1 else "aws"
            region = self.region
            if not region:
                raise AwsError(
                    "no AWS region is set",
                    hint="set `region:` in jobs.yaml, pass --region, or set AWS_REGION",
                )
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


def translate_client_error(exc: ClientError, *, service: str, operation: str, key: str) -> AwsError:
    """Turn a ClientError into the most specific AwsError, naming service, operation and resource."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    message = str(error.get("Message", "")).strip()
    op_name = exc.operation_name or operation
    where = f" for {key}" if key else ""
    text = f"{service} {op_name} failed{where}: {code}" + (f": {message}" if message else "")
    if code in AUTH_CODES:
        return AwsAuthError(
            text,
            service=service,
            operation=op_name,
            code=code,
            key=key,
            hint=f"the caller needs {service}:{op_name} on {key or 'this resource'}",
        )
    return AwsError(text, service=service, operation=op_name, code=code, key=key)


def is_code(exc: AwsError, *codes: str) -> bool:
    """True when the AWS error code is one of `codes`."""
    return exc.code in codes
