"""Python clients of `acusql serve --pg`: psycopg 3 (text and binary, parameters), pandas
through SQLAlchemy's postgresql dialect, and pyodbc through the PostgreSQL ODBC driver."""

import decimal
import pathlib

import pytest

JOIN = (
    "SELECT c.CustomerID, c.CustomerName, COUNT(*) AS orders, SUM(o.OrderTotal) AS total "
    "FROM SalesOrder o JOIN Customer c ON o.CustomerID = c.CustomerID "
    "GROUP BY c.CustomerID, c.CustomerName ORDER BY c.CustomerID"
)


def as_text(rows):
    return [["" if v is None else str(v) for v in row] for row in rows]


def test_psycopg_rows_equal_the_shell(pg, shell):
    import psycopg

    with psycopg.connect(**pg) as conn:
        rows = conn.execute(JOIN).fetchall()
    assert len(rows) > 1
    assert isinstance(rows[0][3], decimal.Decimal)
    assert as_text(rows) == shell(JOIN)


def test_psycopg_parameters_and_binary_results(pg, shell):
    import psycopg

    first = shell("SELECT CustomerID FROM Customer ORDER BY CustomerID LIMIT 1")[0][0]
    with psycopg.connect(**pg) as conn:
        cur = conn.cursor(binary=True)
        cur.execute(
            "SELECT CustomerID, COUNT(*) FROM SalesOrder WHERE CustomerID = %s AND OrderTotal >= %s GROUP BY CustomerID",
            (first, decimal.Decimal("0")),
        )
        rows = cur.fetchall()
        expected = shell(
            f"SELECT CustomerID, COUNT(*) FROM SalesOrder WHERE CustomerID = '{first}' AND OrderTotal >= 0 GROUP BY CustomerID"
        )
        assert as_text(rows) == expected
        # A prepared statement reused with new values.
        for limit in (1, 3):
            cur.execute("SELECT OrderNbr FROM SalesOrder ORDER BY OrderNbr LIMIT %s", (limit,), prepare=True)
            assert len(cur.fetchall()) == limit


def test_psycopg_refused_statements(pg):
    import psycopg

    with psycopg.connect(**pg, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("COPY (SELECT 1) TO '/tmp/acusql-refused.csv'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE VIEW v AS SELECT 1")
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_pandas_read_sql_through_sqlalchemy(pg, shell):
    import pandas as pd
    import sqlalchemy

    url = sqlalchemy.URL.create(
        "postgresql+psycopg",
        username=pg["user"],
        password=pg["password"],
        host=pg["host"],
        port=pg["port"],
        database=pg["dbname"],
    )
    engine = sqlalchemy.create_engine(url)
    try:
        df = pd.read_sql(sqlalchemy.text(JOIN), engine, coerce_float=False)
        assert list(df.columns) == ["CustomerID", "CustomerName", "orders", "total"]
        assert as_text(df.itertuples(index=False)) == shell(JOIN)
        with engine.connect() as conn:
            n = conn.execute(
                sqlalchemy.text("SELECT COUNT(*) FROM Customer WHERE CustomerID >= :c"), {"c": "C"}
            ).scalar()
        assert n == int(shell("SELECT COUNT(*) FROM Customer WHERE CustomerID >= 'C'")[0][0])
        # stream_results: a server-side cursor (DECLARE, FETCH in pieces, CLOSE), as ETL code
        # reads a large table; the same rows as the shell.
        with engine.connect().execution_options(stream_results=True, max_row_buffer=50) as conn:
            result = conn.execute(sqlalchemy.text(JOIN))
            rows = [tuple(r) for part in result.partitions(40) for r in part]
        assert as_text(rows) == shell(JOIN)
    finally:
        engine.dispose()


def odbc_driver():
    for d in ("/usr/lib/x86_64-linux-gnu/odbc", "/usr/lib/aarch64-linux-gnu/odbc", "/usr/lib64", "/usr/lib"):
        p = pathlib.Path(d) / "psqlodbcw.so"
        if p.exists():
            return str(p)
    return None


def test_pyodbc_tables_columns_and_exact_decimals(pg, shell):
    pyodbc = pytest.importorskip("pyodbc")
    driver = odbc_driver()
    if driver is None:
        pytest.skip("the PostgreSQL ODBC driver (odbc-postgresql) is not installed")
    conn = pyodbc.connect(
        f"DRIVER={{{driver}}};SERVER={pg['host']};PORT={pg['port']};DATABASE={pg['dbname']};"
        f"UID={pg['user']};PWD={pg['password']};SSLMode=disable",
        autocommit=True,
    )
    try:
        cur = conn.cursor()
        tables = {(t.table_schem, t.table_name) for t in cur.tables(tableType="TABLE")}
        assert ("rest", "Customer") in tables
        columns = {c.column_name: c for c in cur.columns(table="SalesOrder", schema="rest")}
        assert "OrderNbr" in columns and columns["OrderTotal"].type_name == "numeric"
        # SQLColumns carries the precision and scale of decimals: numeric(38,8).
        assert (columns["OrderTotal"].column_size, columns["OrderTotal"].decimal_digits) == (38, 8)
        sql = "SELECT OrderNbr, OrderTotal FROM SalesOrder WHERE OrderTotal > ? ORDER BY OrderNbr LIMIT 5"
        rows = cur.execute(sql, decimal.Decimal("0")).fetchall()
        assert all(isinstance(r[1], decimal.Decimal) for r in rows)
        assert as_text(rows) == shell(sql.replace("?", "0"))
    finally:
        conn.close()
    # UseDeclareFetch=1 (BI tools turn it on for large extracts): the driver reads through a
    # cursor, `Fetch` rows at a time (DECLARE … WITH HOLD, FETCH 7 IN …, CLOSE).
    conn = pyodbc.connect(
        f"DRIVER={{{driver}}};SERVER={pg['host']};PORT={pg['port']};DATABASE={pg['dbname']};"
        f"UID={pg['user']};PWD={pg['password']};SSLMode=disable;UseDeclareFetch=1;Fetch=7",
        autocommit=True,
    )
    try:
        rows = conn.cursor().execute(JOIN).fetchall()
        assert len(rows) > 7 and as_text(rows) == shell(JOIN)
    finally:
        conn.close()
