"""Python clients of `acusql serve`: ADBC Flight SQL (DB-API) and pyarrow.flight."""

import adbc_driver_flightsql.dbapi as flightsql
import polars as pl
import pyarrow as pa
import pyarrow.flight as flight
import pytest


@pytest.fixture
def conn(server):
    with flightsql.connect(
        server["uri"],
        db_kwargs={"username": server["user"], "password": server["password"]},
    ) as c:
        yield c


def test_list_tables(conn):
    objects = conn.adbc_get_objects(depth="tables").read_all().to_pylist()
    tables = {
        t["table_name"]
        for catalog in objects
        for schema in catalog["catalog_db_schemas"] or []
        for t in schema["db_schema_tables"] or []
    }
    assert "Customer" in tables
    assert "SalesOrder_Details" in tables


def test_filtered_query_to_arrow_and_pandas(conn):
    with conn.cursor() as cur:
        cur.execute(
            "SELECT CustomerID, CustomerName FROM Customer WHERE CustomerID >= 'C' ORDER BY CustomerID LIMIT 5"
        )
        table = cur.fetch_arrow_table()
    assert table.num_rows == 5
    assert table.column_names == ["CustomerID", "CustomerName"]
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) AS n FROM SalesOrder")
        df = cur.fetch_df()
    assert int(df["n"][0]) > 0


def test_prepared_statement_with_a_parameter(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT CustomerID FROM Customer ORDER BY CustomerID LIMIT 1")
        first = cur.fetchone()[0]
        cur.execute("SELECT CustomerID FROM Customer WHERE CustomerID = ?", parameters=(first,))
        rows = cur.fetchall()
    assert rows == [(first,)]


def test_large_result_streams_in_batches(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT OrderNbr, InventoryID FROM SalesOrder_Details")
        reader = cur.fetch_record_batch()
        batches = 0
        rows = 0
        for batch in reader:
            batches += 1
            rows += batch.num_rows
    assert rows >= 5000
    assert batches >= 1


def test_polars_frame(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT CustomerID, CustomerName FROM Customer LIMIT 10")
        frame = pl.from_arrow(cur.fetch_arrow_table())
    assert frame.shape == (10, 2)


def test_pyarrow_flight_handshake(server):
    client = flight.FlightClient(server["uri"])
    key, value = client.authenticate_basic_token(server["user"], server["password"])
    assert key.lower() == b"authorization"
    assert value.startswith(b"Bearer ")
    with pytest.raises(flight.FlightUnauthenticatedError):
        flight.FlightClient(server["uri"]).authenticate_basic_token(server["user"], "wrong")


def test_bad_sql_is_a_clear_error(conn):
    with conn.cursor() as cur:
        with pytest.raises(Exception) as err:
            cur.execute("SELECT * FROM NoSuchTable")
            cur.fetchall()
    assert "NoSuchTable".lower() in str(err.value).lower()


def test_arrow_types_survive(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT OrderTotal FROM SalesOrder LIMIT 1")
        table = cur.fetch_arrow_table()
    assert pa.types.is_decimal(table.schema.field("OrderTotal").type)
