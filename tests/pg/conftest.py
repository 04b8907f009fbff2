"""Starts `acusql serve --demo --pg` on a free loopback port for the Postgres client tests."""

import csv
import io
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
USER, PASSWORD = "analyst", "pg-python-password"


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
def pg():
    env = dict(os.environ, ACUSQL_PG_PASSWORD=PASSWORD)
    proc = subprocess.Popen(
        [acusql_binary(), "serve", "--demo", "--pg", "127.0.0.1:0", "--pg-user", USER],
        stdout=subprocess.PIPE,
        stderr=sys.stderr,
        env=env,
        text=True,
    )
    line = proc.stdout.readline()
    if "listening on postgresql://" not in line:
        proc.kill()
        pytest.fail(f"acusql serve did not start: {line!r}")
    port = int(line.strip().rsplit(":", 1)[-1])
    yield {"host": "127.0.0.1", "port": port, "user": USER, "password": PASSWORD, "dbname": "acumatica"}
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def shell():
    """Runs SQL in process (`acusql --demo --format csv`) and returns the rows as strings."""

    def run(sql: str) -> list[list[str]]:
        out = subprocess.run(
            [acusql_binary(), "--demo", "--quiet", "--format", "csv", "-c", sql],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return list(csv.reader(io.StringIO(out)))[1:]

    return run
