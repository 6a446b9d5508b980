#!/usr/bin/env python3
"""A bounded load generator for ner-serve on the loopback interface.

Usage: serve_load.py URL CONLL_FILE CLIENTS REQUESTS

CLIENTS threads each send REQUESTS single-sentence requests
({"sentences": [[token, ...]]}, the test split's sentences in turn) over one
keep-alive connection, then stop. Prints sentences per second (all clients
together) and the p50 / p99 latency of a request. Standard library only.
"""
import http.client
import json
import sys
import threading
import time
from urllib.parse import urlparse


def sentences(path):
    out, current = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("-DOCSTART-"):
                if current:
                    out.append(current)
                    current = []
                continue
            current.append(line.split()[0])
    if current:
        out.append(current)
    return out


def main():
    url, conll, clients, requests = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    target = urlparse(url)
    corpus = sentences(conll)
    bodies = [json.dumps({"sentences": [s]}).encode() for s in corpus]
    latencies = [[] for _ in range(clients)]
    errors = []

    def client(c):
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        for r in range(requests):
            body = bodies[(c * requests + r) % len(bodies)]
            start = time.perf_counter()
            conn.request("POST", "/v1/tag", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            data = response.read()
            latencies[c].append(time.perf_counter() - start)
            if response.status != 200:
                errors.append(data[:200])
        conn.close()

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    if errors:
        sys.exit(f"{len(errors)} failed requests, e.g. {errors[0]!r}")
    all_ms = sorted(1000 * v for per in latencies for v in per)
    p = lambda q: all_ms[min(len(all_ms) - 1, int(q * len(all_ms)))]
    print(f"{clients:>8} {clients * requests:>9} {clients * requests / wall:>12.0f} {p(0.50):>9.2f} {p(0.99):>9.2f}")


if __name__ == "__main__":
    main()
