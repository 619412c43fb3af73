"""A loopback HTTP/1.1 proxy for the benchmarks: forwards every request to the moto server after a fixed delay
(the latency to a real AWS region, DESIGN §7) and counts AWS calls by service and operation.

Delay model: the proxy parses each request on a client connection (head, then Content-Length or chunked body), and
holds the complete request for `delay_ms` before sending it on; responses flow back at once. So every HTTP request
costs at least `delay_ms` more, whatever the connection reuse (keep-alive) and however the request is split into TCP
chunks. Requests on one connection are strictly sequential (botocore/urllib3 never pipeline), so holding one
request holds only its own connection. Not modelled: `Expect: 100-continue` (botocore sends it only for S3 uploads,
which batchctl does not make) and TLS/connect time.

Control requests, answered by the proxy itself (never forwarded, never counted):
  GET  /__bench__/calls   -> {"calls": {"service:Operation": n, ...}}
  POST /__bench__/reset   -> zero the counters
  POST /__bench__/delay?ms=N -> change the delay

Run: python bench/proxy.py --target 127.0.0.1:PORT [--delay-ms 80] [--port 0]; prints `PROXY_PORT=<port>` once
it listens. Only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import urllib.parse
from collections import Counter
from typing import Any

# Signing names (Authorization: ... Credential=KEY/DATE/REGION/<signing name>/aws4_request) → botocore names.
SIGNING_TO_SERVICE = {"states": "stepfunctions", "email": "ses", "execute-api": "apigateway"}
# X-Amz-Target prefixes of the JSON protocols → botocore names (the signing name already tells, this is a check).
READ_PREFIXES = ("Describe", "Get", "List", "BatchGet", "Filter", "Lookup", "Search", "Receive")

_CREDENTIAL = re.compile(rb"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


def is_read(operation: str) -> bool:
    """Describe/Get/List/... never change anything; every other operation is counted as mutating."""
    return operation.startswith(READ_PREFIXES)


class RestMatcher:
    """Finds the operation of a REST request (batch, pipes, scheduler, ...) from botocore's own URI templates."""

    def __init__(self) -> None:
        self._routes: dict[str, list[tuple[str, re.Pattern[str], int, str]]] = {}

    def _load(self, service: str) -> list[tuple[str, re.Pattern[str], int, str]]:
        if service not in self._routes:
            import botocore.session
            from botocore.exceptions import UnknownServiceError

            routes: list[tuple[str, re.Pattern[str], int, str]] = []
            try:
                model = botocore.session.get_session().get_service_model(service)
            except UnknownServiceError:  # counted under its method and path instead
                self._routes[service] = routes
                return routes
            for name in model.operation_names:
                http = model.operation_model(name).http
                path = http.get("requestUri", "/").split("?", 1)[0]
                literal = len(re.sub(r"\{[^}]+\}", "", path))
                pattern = re.escape(path)
                pattern = re.sub(r"\\\{[^}]+\\\+\\\}", "(.+)", pattern)  # {Name+}: greedy, may hold slashes
                pattern = re.sub(r"\\\{[^}]+\\\}", "([^/]+)", pattern)
                routes.append((http.get("method", "POST"), re.compile(f"^{pattern}/?$"), literal, name))
            self._routes[service] = routes
        return self._routes[service]

    def match(self, service: str, method: str, path: str) -> str | None:
        best: tuple[int, str] | None = None
        for verb, pattern, literal, name in self._load(service):
            if verb == method and pattern.match(path) and (best is None or literal > best[0]):
                best = (literal, name)
        return best[1] if best else None


class Stats:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.rest = RestMatcher()

    def record(self, method: str, target: str, headers: dict[bytes, bytes], body: bytes) -> None:
        self.calls[self.identify(method, target, headers, body)] += 1

    def identify(self, method: str, target: str, headers: dict[bytes, bytes], body: bytes) -> str:
        found = _CREDENTIAL.search(headers.get(b"authorization", b""))
        signing = found.group(1).decode() if found else "unknown"
        service = SIGNING_TO_SERVICE.get(signing, signing)
        amz_target = headers.get(b"x-amz-target")
        if amz_target:  # JSON protocols: SQS, Logs, Step Functions, ECR, ...
            return f"{service}:{amz_target.decode().rsplit('.', 1)[-1]}"
        path = target.split("?", 1)[0]  # still percent-encoded: one URI label never holds a raw "/"
        content_type = headers.get(b"content-type", b"")
        if (
            method == "POST" and b"x-www-form-urlencoded" in content_type
        ):  # query protocols: IAM, EC2, SNS, STS
            action = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action")
            if action:
                return f"{service}:{action[0]}"
        query = urllib.parse.parse_qs(target.split("?", 1)[1]) if "?" in target else {}
        if "Action" in query:
            return f"{service}:{query['Action'][0]}"
        operation = self.rest.match(service, method, path)  # REST-JSON: Batch, Pipes, Scheduler
        return f"{service}:{operation or method + ' ' + urllib.parse.unquote(path)}"


class Proxy:
    def __init__(self, *, target_host: str, target_port: int, delay_ms: float) -> None:
        self.target = (target_host, target_port)
        self.delay_s = delay_ms / 1000
        self.stats = Stats()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        pump: asyncio.Task[None] | None = None
        try:
            while True:
                request = await read_request(reader)
                if request is None:
                    break
                method, target, headers, raw, body = request
                if target.startswith("/__bench__/"):
                    writer.write(self.control(method, target))
                    await writer.drain()
                    continue
                self.stats.record(method, target, headers, body)
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                if upstream is None or pump is None or pump.done():
                    # First request, or the server closed the previous connection after its answer.
                    if upstream is not None:
                        upstream[1].close()
                    upstream = await asyncio.open_connection(*self.target)
                    pump = asyncio.create_task(copy(upstream[0], writer))
                upstream[1].write(raw)
                await upstream[1].drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            # The client is gone (or broke the protocol): nothing more is owed to it.
            if upstream is not None:
                upstream[1].close()
            if pump is not None:
                pump.cancel()
            writer.close()

    def control(self, method: str, target: str) -> bytes:
        path, _, query = target.partition("?")
        if path == "/__bench__/calls":
            payload: dict[str, Any] = {"calls": dict(self.stats.calls)}
        elif path == "/__bench__/reset" and method == "POST":
            self.stats.calls.clear()
            payload = {"reset": True}
        elif path == "/__bench__/delay" and method == "POST":
            self.delay_s = float(urllib.parse.parse_qs(query)["ms"][0]) / 1000
            payload = {"delay_ms": self.delay_s * 1000}
        else:
            payload = {"error": f"unknown control request {method} {path}"}
        body = json.dumps(payload).encode()
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: keep-alive\r\n\r\n"
        )
        return head.encode() + body


async def read_request(
    reader: asyncio.StreamReader,
) -> tuple[str, str, dict[bytes, bytes], bytes, bytes] | None:
    """One whole HTTP/1.1 request: (method, target, lower-cased headers, raw bytes to forward, body)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise
        return None  # the client closed between requests
    lines = head.split(b"\r\n")
    method, target, _version = lines[0].decode("latin-1").split(" ", 2)
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        if b":" in line:
            name, value = line.split(b":", 1)
            headers[name.strip().lower()] = value.strip()
    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        raw_body, body = await read_chunked(reader)
    else:
        body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
        raw_body = body
    return method, target, headers, head + raw_body, body


async def read_chunked(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    raw, body = bytearray(), bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        raw += size_line
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while True:  # trailers, then the empty line
                trailer = await reader.readuntil(b"\r\n")
                raw += trailer
                if trailer == b"\r\n":
                    return bytes(raw), bytes(body)
        chunk = await reader.readexactly(size + 2)
        raw += chunk
        body += chunk[:-2]


async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    except ConnectionError:
        pass


async def serve(*, target: str, delay_ms: float, port: int) -> None:
    host, _, target_port = target.rpartition(":")
    proxy = Proxy(target_host=host, target_port=int(target_port), delay_ms=delay_ms)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", port, limit=2**24, backlog=512)
    bound = server.sockets[0].getsockname()[1]
    print(f"PROXY_PORT={bound}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="host:port of the moto server (127.0.0.1 only)")
    parser.add_argument("--delay-ms", type=float, default=80.0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if not args.target.startswith("127.0.0.1:"):
        sys.exit("the benchmark proxy only talks to 127.0.0.1")
    asyncio.run(serve(target=args.target, delay_ms=args.delay_ms, port=args.port))


if __name__ == "__main__":
    main()
