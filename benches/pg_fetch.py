"""Figure 7 of `cargo bench --bench report`: time a query fetched with psycopg 3 over the
PostgreSQL protocol (`acusql serve --pg`).

Prints one JSON line: {"rows", "seconds", "format"} with the best of --repeat runs, each timed
from cursor.execute to every row in Python tuples (connection set-up excluded). Results are
fetched in binary format (`--text` for text).

    python3 benches/pg_fetch.py --port 5432 --sql "SELECT * FROM SalesOrder_Details"
"""

import argparse
import json
import sys
import time

try:
    import psycopg
except ImportError as e:  # the report prints "skipped" with the pip command
    print(f"missing Python package: {e.name}", file=sys.stderr)
    sys.exit(3)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--sql", required=True)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--text", action="store_true")
    args = p.parse_args()
    best, rows = float("inf"), 0
    with psycopg.connect(host="127.0.0.1", port=args.port, dbname="acumatica", user="bench", autocommit=True) as conn:
        for _ in range(args.repeat):
            with conn.cursor(binary=not args.text) as cur:
                t = time.perf_counter()
                cur.execute(args.sql)
                n = len(cur.fetchall())
                best = min(best, time.perf_counter() - t)
                rows = n
    print(json.dumps({"rows": rows, "seconds": best, "format": "text" if args.text else "binary"}))


if __name__ == "__main__":
    main()
