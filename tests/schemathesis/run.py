"""Runs schemathesis against a real Herald on a fresh SQLite database.

Starts `herald serve` on a free port, registers an account, creates an API
key with every scope, runs every check (`--checks all`, stateful phase
included; the config turns on every check, as `--checks all` does) over every operation of /api/openapi.json, and fails unless the
run is clean and generated at least MIN_REQUESTS requests.

Usage: run.py HERALD_BINARY SCHEMATHESIS_BINARY WORK_DIR
"""

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

MIN_REQUESTS = 2000
HERE = Path(__file__).resolve().parent


def call(base, path, body, headers=None):
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.headers, json.loads(answer.read() or b"null")


def start(herald, work):
    log = open(work / "serve.log", "w")
    env = {
        "PATH": os.environ.get("PATH", ""),
        # The run sends thousands of requests from one client.
        "HERALD_RATE_LIMIT": "0",
        "HERALD_RATE_LIMIT_POSTS": "0",
        "HERALD_RATE_LIMIT_UI": "0",
    }
    server = subprocess.Popen(
        [herald, "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(work / "data")],
        stdout=subprocess.DEVNULL,
        stderr=log,
        env=env,
    )
    for _ in range(300):
        text = (work / "serve.log").read_text()
        found = re.search(r"listening on (http://[0-9.:]+)", text)
        if found:
            return server, found.group(1)
        time.sleep(0.1)
    server.kill()
    sys.exit("herald did not start:\n" + (work / "serve.log").read_text())


def main():
    herald, schemathesis, work = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    work.mkdir(parents=True, exist_ok=True)
    server, base = start(herald, work)
    try:
        headers, _ = call(base, "/api/auth/register", {"email": "fuzz@example.com", "password": "a long enough password"})
        cookie = headers["Set-Cookie"].split(";")[0]
        scopes = ["posts:read", "posts:write", "posts:publish", "analytics:read", "integrations:read"]
        _, key = call(base, "/api/api-keys", {"name": "schemathesis", "scopes": scopes}, {"Cookie": cookie})
        reports = work / "reports"
        command = [
            schemathesis, "--config-file", str(HERE / "schemathesis.toml"),
            "run", f"{base}/api/openapi.json",
            "--url", base,
            "--phases", "examples,coverage,fuzzing,stateful",
            "--header", f"Authorization: Bearer {key['key']}",
            "--max-examples", os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "60"),
            "--workers", "2",
            "--request-timeout", "10",
            "--report", "ndjson", "--report-dir", str(reports),
            "--seed", os.environ.get("SCHEMATHESIS_SEED", "20261204"),
            "--no-color",
        ]
        started = time.time()
        result = subprocess.run(command, cwd=work)
        requests = count_requests(reports)
        print(f"schemathesis: {requests} requests in {time.time() - started:.0f} s, exit code {result.returncode}")
        if result.returncode != 0:
            sys.exit("schemathesis found failures (above); the server log is in " + str(work / "serve.log"))
        if requests < MIN_REQUESTS:
            sys.exit(f"schemathesis sent only {requests} requests; at least {MIN_REQUESTS} are wanted")
    finally:
        server.terminate()
        server.wait(timeout=15)


def count_requests(reports):
    total = 0
    for path in reports.glob("*.ndjson"):
        for line in path.read_text().splitlines():
            event = json.loads(line)
            finished = event.get("ScenarioFinished")
            if finished:
                total += len(finished["recorder"].get("interactions", {}))
    return total


if __name__ == "__main__":
    main()
