"""Figure 7 of `cargo bench --bench report`: time a query fetched with psycopg 3 over the
PostgreSQL protocol (`acusql serve --pg`, or any PostgreSQL server for reference).

Prints one JSON line: {"rows", "seconds", "format", "client_cpu", "parent_cpu"} with the best
of --repeat runs, each timed from cursor.execute to every row in Python tuples (connection
set-up excluded); the CPU seconds of this client and of its parent process during that run
(the bench's parent hosts acusql's server and the simulator; Linux only, else null). Results are
fetched in text format, psycopg's default (`--binary` for binary).

    python3 benches/pg_fetch.py --dsn "host=127.0.0.1 port=5432 dbname=acumatica user=bench" \
        --sql "SELECT * FROM SalesOrder_Details"

With --load-from DSN, first copies the result of --sql from that server into a new table
--table of --dsn (dropped first; `COPY … TO STDOUT` out of one, `COPY … FROM STDIN` into the
other), so that the same rows can be fetched from a PostgreSQL server for reference.
"""

import argparse
import json
import os
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


def parent_cpu():
    """CPU seconds (user + system) the parent process has used so far, or None."""
    try:
        with open(f"/proc/{os.getppid()}/stat") as f:
            fields = f.read().rsplit(") ", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


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
    p.add_argument("--stream", type=int, metavar="N",
                   help="fetch with cursor.stream(size=N) (rows in chunks of N as they arrive, "
                        "libpq 17's chunked mode) instead of execute + fetchall (libpq first "
                        "receives the whole result, then psycopg builds the rows)")
    p.add_argument("--copy", action="store_true",
                   help="read COPY (query) TO STDOUT as raw bytes instead (no Python values: "
                        "what the server sends to a client that costs nothing)")
    p.add_argument("--load-from")
    p.add_argument("--table")
    args = p.parse_args()
    if args.load_from:
        load(args.load_from, args.dsn, args.sql, args.table)
        args.sql = f'SELECT * FROM "{args.table}"'
    best, rows, cpu = float("inf"), 0, (None, None)
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        for _ in range(args.repeat):
            with conn.cursor(binary=args.binary) as cur:
                parent, client = parent_cpu(), time.process_time()
                t = time.perf_counter()
                if args.copy:
                    with cur.copy(f"COPY ({args.sql}) TO STDOUT") as copy:
                        for _ in copy:
                            pass
                    n = cur.rowcount
                elif args.stream:
                    n = len(list(cur.stream(args.sql, size=args.stream)))
                else:
                    cur.execute(args.sql)
                    n = len(cur.fetchall())
                wall = time.perf_counter() - t
                if wall < best:
                    after = parent_cpu()
                    best, cpu = wall, (time.process_time() - client,
                                       None if parent is None or after is None else after - parent)
                rows = n
    form = "COPY text, raw" if args.copy else "binary" if args.binary else "text"
    if args.stream:
        form += f", stream(size={args.stream})"
    elif not args.copy:
        form += ", fetchall"
    print(json.dumps({"rows": rows, "seconds": best, "format": form,
                      "client_cpu": cpu[0], "parent_cpu": cpu[1]}))


if __name__ == "__main__":
    main()
