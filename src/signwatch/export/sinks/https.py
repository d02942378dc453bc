"""Export sinks (design §2 export/sinks): HTTPS — each batch POSTed as signed NDJSON to a receiver of your own.

URL: `https://receiver.example/signwatch/events` (`http://` for tests). Options: `timeout`; any other query
parameter is kept in the URL the batch is POSTed to.

The body is the batch as NDJSON (`Content-Type: application/x-ndjson`, one record per line, each ending with a
newline), signed like signwatch's outbound alert webhooks: `X-Signwatch-Timestamp: <unix seconds>` and
`X-Signwatch-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>." + body>` keyed by the install's signing key
(receivers check it with `signwatch.notify.verify_signature`). `X-Signwatch-First-Seq` / `X-Signwatch-Last-Seq`
name the batch. Redirects are not followed.

Acknowledged = a 2xx answer to the POST: the receiver must answer only after it has stored the whole batch.
408, 429, 5xx, timeouts and connection errors are retryable; any other answer (other 4xx, 3xx) is not.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from urllib.parse import SplitResult, parse_qsl, urlencode, urlunsplit

import httpx

from signwatch.export.sinks import (
    Options,
    Record,
    SinkError,
    host_port,
    http_retryable,
    ndjson,
    network_error,
    redact,
    seconds,
    tls_context,
    vet,
)
from signwatch.notify.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, timestamp

USER_AGENT = "signwatch-export"
CONTENT_TYPE = "application/x-ndjson"


def from_url(parts: SplitResult, opts: Options) -> HttpsSink:
    if not opts.signing_key:
        raise ValueError("https sink: a signing key is required (the batches are signed)")
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    ours = {key: value for key, value in pairs if key == "timeout"}
    theirs = urlencode([(key, value) for key, value in pairs if key != "timeout"])
    scheme = parts.scheme.lower()
    host, port = host_port(parts, 443 if scheme == "https" else 80)
    return HttpsSink(
        urlunsplit((scheme, parts.netloc, parts.path or "/", theirs, "")),
        signing_key=opts.signing_key,
        host=host,
        port=port,
        name=redact(parts),
        timeout=seconds(ours),
        verify=tls_context(opts.tls_verify) if scheme == "https" else True,
        allow_private=opts.allow_private,
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


class HttpsSink:
    def __init__(
        self,
        url: str,
        *,
        signing_key: str,
        host: str,
        port: int,
        name: str,
        timeout: float = 10.0,
        verify: ssl.SSLContext | bool = True,
        allow_private: bool = True,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.url = url
        self.name = name
        self._key = signing_key
        self._host, self._port = host, port
        self._timeout = timeout
        self._verify = verify
        self._allow_private = allow_private
        self._client = client
        self._owned = client is None
        self._clock = clock

    def __repr__(self) -> str:
        return f"HttpsSink({self.name!r})"

    async def open(self) -> None:
        await vet(self._host, self._port, self._allow_private)
        if self._client is None:
            self._client = httpx.AsyncClient(verify=self._verify, timeout=self._timeout, follow_redirects=False)

    async def send(self, batch: Sequence[Record]) -> None:
        if not batch:
            return
        if self._client is None:
            await self.open()
        assert self._client is not None
        body = ndjson(batch)
        stamp = timestamp(self._clock())
        headers = {
            "Content-Type": CONTENT_TYPE,
            "User-Agent": USER_AGENT,
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(body, stamp, self._key),
            "X-Signwatch-First-Seq": str(batch[0].seq),
            "X-Signwatch-Last-Seq": str(batch[-1].seq),
        }
        try:
            response = await self._client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise network_error(self.name, exc) from exc
        if not response.is_success:
            detail = response.text[:200].strip().replace("\n", " ")
            raise SinkError(
                f"{self.name}: HTTP {response.status_code}{': ' + detail if detail else ''}",
                retryable=http_retryable(response.status_code),
            )

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._owned:
            await client.aclose()
