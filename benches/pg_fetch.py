"""Figure 7 of `cargo bench --bench report`: time a query fetched with psycopg 3 over the
PostgreSQL protocol (`acusql serve --pg`, or any PostgreSQL server for reference).

Prints one JSON line: {"rows", "seconds", "format"} with the best of --repeat runs, each timed
from cursor.execute to every row in Python tuples (connection set-up excluded). Results are
fetched in text format, psycopg's default (`--binary` for binary).

    python3 benches/pg_fetch.py --dsn "host=127.0.0.1 port=5432 dbname=acumatica user=bench" \
        --sql "SELECT * FROM SalesOrder_Details"

With --load-from DSN, first copies the result of --sql from that server into a new table
--table of --dsn (dropped first; `COPY … TO STDOUT` out of one, `COPY … FROM STDIN` into the
other), so that the same rows can be fetched from a PostgreSQL server for reference.
"""

import argparse
import json
import sys
import time

try:
    import psycopg
    from psycopg import sql as pgsql
except ImportError as e:  # the report prints "skipped" with the pip command
    print(f"missing Python package: {e.name}", file=sys.stderr)
    sys.exit(3)

# Postgres type names of the type OIDs acusql sends.
TYPE_NAMES = {16: "boolean", 20: "bigint", 21: "smallint", 23: "integer", 25: "text",
              700: "real", 701: "double precision", 1082: "date", 1114: "timestamp",
              1184: "timestamptz"}


def column_type(column):
    if column.type_code == 1700:
        return f"numeric({column.precision},{column.scale})" if column.precision else "numeric"
    return TYPE_NAMES.get(column.type_code, "text")


def load(source_dsn, target_dsn, query, table):
    with psycopg.connect(source_dsn, autocommit=True) as src, psycopg.connect(target_dsn) as dst:
        with src.cursor() as cur:
            cur.execute(f"SELECT * FROM ({query}) AS q LIMIT 0")
            columns = pgsql.SQL(", ").join(
                pgsql.SQL("{} {}").format(pgsql.Identifier(c.name), pgsql.SQL(column_type(c)))
                for c in cur.description)
        dst.execute(pgsql.SQL("DROP TABLE IF EXISTS {}").format(pgsql.Identifier(table)))
        dst.execute(pgsql.SQL("CREATE TABLE {} ({})").format(pgsql.Identifier(table), columns))
        with src.cursor().copy(f"COPY ({query}) TO STDOUT") as out, dst.cursor().copy(
                pgsql.SQL("COPY {} FROM STDIN").format(pgsql.Identifier(table))) as into:
            for chunk in out:
                into.write(chunk)
        dst.commit()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dsn", required=True)
    p.add_argument("--sql", required=True)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--binary", action="store_true")
    p.add_argument("--load-from")
    p.add_argument("--table")
    args = p.parse_args()
    if args.load_from:
        load(args.load_from, args.dsn, args.sql, args.table)
        args.sql = f'SELECT * FROM "{args.table}"'
    best, rows = float("inf"), 0
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        for _ in range(args.repeat):
            with conn.cursor(binary=args.binary) as cur:
                t = time.perf_counter()
                cur.execute(args.sql)
                n = len(cur.fetchall())
                best = min(best, time.perf_counter() - t)
                rows = n
    print(json.dumps({"rows": rows, "seconds": best, "format": "binary" if args.binary else "text"}))


if __name__ == "__main__":
    main()
