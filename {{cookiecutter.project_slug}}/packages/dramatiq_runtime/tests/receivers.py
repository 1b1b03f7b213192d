"""Real receivers on free ports: an OTLP/HTTP trace collector and a Sentry ingest endpoint.

Each decodes what the exporters really send (OTLP protobuf; Sentry's envelopes, gzip'd
or not) and keeps it for the test to read.
"""

import gzip
import json
import threading
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span as SpanProto
from opentelemetry.proto.trace.v1.trace_pb2 import Status

KINDS = {
    value: name.removeprefix("SPAN_KIND_") for name, value in SpanProto.SpanKind.items()
}


def _value(any_value) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


@dataclass
class Span:
    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_id: str
    start: float
    end: float
    attributes: dict[str, Any]
    status: str
    events: list[str]
    links: list[tuple[str, str]]
    service: str


def decode_spans(body: bytes) -> list[Span]:
    request = ExportTraceServiceRequest.FromString(body)
    found = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                found.append(
                    Span(
                        name=span.name,
                        kind=KINDS[span.kind],
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_id=span.parent_span_id.hex(),
                        start=span.start_time_unix_nano / 1e9,
                        end=span.end_time_unix_nano / 1e9,
                        attributes={a.key: _value(a.value) for a in span.attributes},
                        status=Status.StatusCode.Name(span.status.code).removeprefix(
                            "STATUS_CODE_"
                        ),
                        events=[event.name for event in span.events],
                        links=[
                            (link.trace_id.hex(), link.span_id.hex())
                            for link in span.links
                        ],
                        service=resource.get("service.name", ""),
                    )
                )
    return found


def _body(handler: BaseHTTPRequestHandler) -> bytes:
    body = handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
    encoding = handler.headers.get("Content-Encoding", "")
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 whose handler files each request's payload."""

    received: list[Any] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def start(self, decode, answer: bytes, content_type: str) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                items = decode(self.path, _body(self))
                with receiver.lock:
                    receiver.received.extend(items)
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.server_address[1]

    def items(self) -> list[Any]:
        with self.lock:
            return list(self.received)

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def otlp_receiver() -> Receiver:
    """Collects spans POSTed to /v1/traces (OTLP/HTTP, protobuf)."""

    def decode(path: str, body: bytes) -> list[Span]:
        assert path == "/v1/traces", path
        return decode_spans(body)

    answer = ExportTraceServiceResponse().SerializeToString()
    return Receiver().start(decode, answer, "application/x-protobuf")


def parse_envelope(body: bytes) -> list[dict[str, Any]]:
    """A Sentry envelope's items: ``{"type": ..., "header": {...}, "payload": {...}}``.

    The envelope is a header line, then per item a header line and a payload of
    ``length`` bytes (or up to the next newline when the header gives none).
    """
    header_line, _, rest = body.partition(b"\n")
    envelope_header = json.loads(header_line)
    items = []
    while rest.strip():
        item_line, _, rest = rest.partition(b"\n")
        item = json.loads(item_line)
        if "length" in item:
            payload, rest = rest[: item["length"]], rest[item["length"] + 1 :]
        else:
            payload, _, rest = rest.partition(b"\n")
        try:
            decoded = json.loads(payload)
        except ValueError:
            decoded = payload
        items.append(
            {"type": item.get("type"), "header": envelope_header, "payload": decoded}
        )
    return items


def sentry_receiver() -> Receiver:
    """Collects envelope items POSTed to /api/<project>/envelope/."""

    def decode(path: str, body: bytes) -> list[dict[str, Any]]:
        assert path.startswith("/api/") and path.rstrip("/").endswith("envelope"), path
        return parse_envelope(body)

    return Receiver().start(decode, b"{}", "application/json")
