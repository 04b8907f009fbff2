"""Figure 6 of `cargo bench --bench report`: time a query fetched through ADBC Flight SQL.

Prints one JSON line: {"rows", "seconds"} with the best of --repeat runs, each timed from
cursor.execute to the whole result in a pyarrow Table (connection set-up excluded).

    python3 benches/flight_fetch.py --uri grpc://127.0.0.1:50051 --sql "SELECT * FROM SalesOrder_Details"
"""

import argparse
import json
import sys
import time

try:
    import adbc_driver_flightsql.dbapi as flightsql
except ImportError as e:  # the report prints "skipped" with the pip command
    print(f"missing Python package: {e.name}", file=sys.stderr)
    sys.exit(3)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--uri", required=True)
    p.add_argument("--sql", required=True)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--user")
    p.add_argument("--password")
    args = p.parse_args()
    kwargs = {}
    if args.user:
        kwargs["db_kwargs"] = {"username": args.user, "password": args.password or ""}
    best, rows = float("inf"), 0
    with flightsql.connect(args.uri, **kwargs) as conn:
        for _ in range(args.repeat):
            with conn.cursor() as cur:
                t = time.perf_counter()
                cur.execute(args.sql)
                table = cur.fetch_arrow_table()
                best = min(best, time.perf_counter() - t)
                rows = table.num_rows
    print(json.dumps({"rows": rows, "seconds": best}))


if __name__ == "__main__":
    main()
