"""Query Acumatica from Python through acusql's Flight SQL server.

Start the server first (a simulated company here):
    ACUSQL_FLIGHT_PASSWORD=secret acusql serve --demo --flight 127.0.0.1:50051 --flight-user analyst
Then:
    pip install adbc-driver-flightsql pyarrow pandas
    python examples/python/query_acusql.py
"""

import adbc_driver_flightsql.dbapi as flightsql

with flightsql.connect(
    "grpc://127.0.0.1:50051",
    db_kwargs={"username": "analyst", "password": "secret"},
) as conn, conn.cursor() as cur:
    cur.execute("SELECT CustomerID, CustomerName FROM Customer WHERE Status = 'Active' LIMIT 10")
    print(cur.fetch_df())
