"""Starts `acusql serve --demo` on a free loopback port for the Flight SQL client tests."""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
USER, PASSWORD = "analyst", "flight-test-password"


def acusql_binary() -> str:
    explicit = os.environ.get("ACUSQL_BIN")
    if explicit:
        return explicit
    for profile in ("debug", "release"):
        candidate = ROOT / "target" / profile / "acusql"
        if candidate.exists():
            return str(candidate)
    pytest.exit("acusql is not built: run `cargo build -p acusql` or set ACUSQL_BIN", returncode=2)


@pytest.fixture(scope="session")
def server():
    env = dict(os.environ, ACUSQL_FLIGHT_PASSWORD=PASSWORD)
    proc = subprocess.Popen(
        [acusql_binary(), "serve", "--demo", "--flight", "127.0.0.1:0", "--flight-user", USER],
        stdout=subprocess.PIPE,
        stderr=sys.stderr,
        env=env,
        text=True,
    )
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        pytest.fail(f"acusql serve did not start: {line!r}")
    uri = line.strip().rsplit(" ", 1)[-1]
    yield {"uri": uri, "user": USER, "password": PASSWORD}
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
