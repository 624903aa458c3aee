"""A small HTTP/1.1 load generator for loopback benchmarks: N keep-alive
connections, each sending its share of prepared POST bodies and timing
every answer. Run in its own process so the server keeps its cores:

    python -m bench._loadgen HOST PORT PATH BODIES.jsonl CONNECTIONS

prints ``{"sent", "ok", "errors", "seconds", "rps", "p50_ms", "p99_ms"}``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time


async def _worker(
    host: str,
    port: int,
    path: str,
    bodies: list[bytes],
    latencies: list[float],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for body in bodies:
            head = (
                f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            started = time.perf_counter()
            writer.write(head + body)
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not status_line.startswith(b"HTTP/1.1 2"):
                errors.append(int(status_line.split()[1]) if status_line else 0)
    finally:
        writer.close()


async def blast(
    host: str, port: int, path: str, bodies: list[bytes], connections: int
) -> dict[str, float]:
    shares = [bodies[i::connections] for i in range(connections)]
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    await asyncio.gather(
        *(_worker(host, port, path, s, latencies, errors) for s in shares if s)
    )
    seconds = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "sent": len(bodies),
        "ok": len(bodies) - len(errors),
        "errors": len(errors),
        "seconds": round(seconds, 3),
        "rps": round(len(bodies) / seconds, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2),
    }


def main(argv: list[str]) -> None:
    host, port, path, bodies_file, connections = argv
    with open(bodies_file, "rb") as fh:
        bodies = [line.rstrip(b"\n") for line in fh if line.strip()]
    result = asyncio.run(blast(host, int(port), path, bodies, int(connections)))
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
