//! The server as real Postgres clients see it, over loopback: psql (simple protocol, catalog
//! queries, errors with their SQLSTATE), psycopg (extended protocol with parameters, binary
//! results, cancel), with a small table of every type and an endless one. A client that is
//! not installed is a skip with a message, except under CI=true, where it is a failure.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use acumatica_datafusion::StatementPolicy;
use acumatica_pg::{PgAuth, PgServer};
use datafusion::arrow::array::{
    BooleanArray, Decimal128Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::common::TableReference;
use datafusion::datasource::MemTable;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::{SessionConfig, SessionContext};

const USER: &str = "analyst";
const PASSWORD: &str = "pg-test-password";

/// True when `program` can be run; otherwise a skip (or, in CI, a failure).
fn have(program: &str, args: &[&str]) -> bool {
    let ok = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install {program} (see .ci/run)"
        );
        eprintln!("skipped: {program} is not installed");
    }
    ok
}

/// An endless table that counts the batches it produced and its scans still open.
#[derive(Debug)]
struct Endless {
    schema: SchemaRef,
    produced: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
}

/// Counts a scan as open until its stream is dropped.
struct OpenScan(Arc<AtomicUsize>);

impl OpenScan {
    fn new(open: &Arc<AtomicUsize>) -> Self {
        open.fetch_add(1, Ordering::SeqCst);
        Self(open.clone())
    }
}

impl Drop for OpenScan {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl PartitionStream for Endless {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let schema = self.schema.clone();
        let produced = self.produced.clone();
        let open = OpenScan::new(&self.open);
        let stream = futures::stream::unfold((0_i64, open), move |(i, open)| {
            let schema = schema.clone();
            let produced = produced.clone();
            async move {
                // Each batch takes a while, as an upstream request does.
                tokio::time::sleep(Duration::from_millis(5)).await;
                produced.fetch_add(1, Ordering::SeqCst);
                let values: Vec<i64> = (i..i + 1000).collect();
                let batch = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(values))])
                    .map_err(Into::into);
                Some((batch, (i + 1000, open)))
            }
        });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream))
    }
}

struct Fixture {
    port: u16,
    produced: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Fixture {
    /// Waits until every scan of the endless table has been dropped; fails after a generous
    /// limit instead of hanging.
    async fn scans_stopped(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while self.open.load(Ordering::SeqCst) > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the scan still runs after its statement was cancelled"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A catalog `acumatica` with schemas `rest` (the default) and `gi`, like acusql's.
async fn start(auth: PgAuth) -> Fixture {
    start_with(auth, StatementPolicy::server()).await
}

async fn start_with(auth: PgAuth, policy: StatementPolicy) -> Fixture {
    let config = SessionConfig::new()
        .with_information_schema(true)
        .with_default_catalog_and_schema("acumatica", "rest")
        .set_bool("datafusion.sql_parser.enable_ident_normalization", false);
    let ctx = SessionContext::new_with_config(config);
    ctx.sql("CREATE SCHEMA acumatica.gi").await.unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("CustomerID", DataType::Utf8, false),
        Field::new("Balance", DataType::Decimal128(38, 8), true),
        Field::new("Active", DataType::Boolean, true),
        Field::new("Orders", DataType::Int32, true),
        Field::new(
            "LastModified",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["C001", "C002", "O'BRIEN"])),
            Arc::new(
                Decimal128Array::from(vec![Some(1_234_500_000_000), None, Some(-1)])
                    .with_precision_and_scale(38, 8)
                    .unwrap(),
            ),
            Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
            Arc::new(Int32Array::from(vec![Some(3), None, Some(0)])),
            Arc::new(
                TimestampMicrosecondArray::from(vec![Some(1_700_000_000_000_000), None, None])
                    .with_timezone("UTC"),
            ),
        ],
    )
    .unwrap();
    ctx.register_table(
        TableReference::bare("Customer"),
        Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap()),
    )
    .unwrap();
    let produced = Arc::new(AtomicUsize::new(0));
    let open = Arc::new(AtomicUsize::new(0));
    let endless_schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)]));
    let endless = StreamingTable::try_new(
        endless_schema.clone(),
        vec![Arc::new(Endless {
            schema: endless_schema,
            produced: produced.clone(),
            open: open.clone(),
        })],
    )
    .unwrap();
    ctx.register_table(
        TableReference::full("acumatica", "gi", "Endless"),
        Arc::new(endless),
    )
    .unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = PgServer::new(&ctx, auth).unwrap().with_policy(policy);
    tokio::spawn(async move {
        server
            .serve(listener, None, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Fixture {
        port,
        produced,
        open,
        _stop: stop,
    }
}

fn psql(port: u16, password: Option<&str>, script: &str) -> Output {
    let mut cmd = Command::new("psql");
    cmd.args([
        "-X",
        "-w",
        "-h",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-U",
        USER,
        "-d",
        "acumatica",
        "-v",
        "VERBOSITY=verbose",
        "-A",
        "-F",
        ",",
        "-P",
        "footer=off",
    ])
    .env_remove("PGPASSWORD")
    .env("PGCONNECT_TIMEOUT", "10")
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    let mut child = cmd.spawn().expect("psql starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Fails with the whole `text` when `part` is not in it.
fn has(text: &str, part: &str) {
    assert!(text.contains(part), "{part:?} not in:\n{text}");
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// psql runs a blocking process: keep the server's runtime free to answer.
async fn psql_async(port: u16, password: Option<&'static str>, script: &'static str) -> Output {
    tokio::task::spawn_blocking(move || psql(port, password, script))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_lists_describes_and_reads_every_type() {
    if !have("psql", &["--version"]) {
        return;
    }
    let f = start(PgAuth::password(USER, PASSWORD)).await;
    let out = psql_async(
        f.port,
        Some(PASSWORD),
        "\\dt\n\\dn\n\\d Customer\n\\d+ Customer\n\
         SELECT \"CustomerID\", \"Balance\", \"Active\", \"Orders\", \"LastModified\" FROM Customer ORDER BY 1;\n\
         SELECT CustomerID FROM Customer WHERE Balance > 0;\n\
         SELECT current_schema(), version() LIKE 'PostgreSQL 16%';\n",
    )
    .await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    // \dt: the tables of the schema on the search path (psql lists visible ones).
    has(&stdout, "rest,Customer,table");
    // \dn: the catalog's schemas.
    assert!(
        stdout.contains("\nrest,") && stdout.contains("\ngi,"),
        "{stdout}"
    );
    // \d Customer: columns with Postgres types, decimals as numeric with their scale.
    has(&stdout, "CustomerID,text");
    has(&stdout, "Balance,numeric(38,8)");
    // \d+ Customer: the same with storage and description columns.
    has(&stdout, "Column,Type,Collation,Nullable,Default,Storage");
    has(&stdout, "Balance,numeric(38,8),,,,main");
    has(&stdout, "LastModified,timestamp with time zone");
    // Values: exact decimals, booleans, NULLs as empty, timestamps in UTC.
    has(&stdout, "C001,12345.00000000,t,3,2023-11-14 22:13:20+00");
    has(&stdout, "C002,,f,,");
    has(&stdout, "O'BRIEN,-0.00000001,,0,");
    has(&stdout, "rest,t");
}

/// `COPY … TO STDOUT` and psql's `\copy`: the client writes the file (text and CSV formats
/// as Postgres writes them: `\N` and escapes in text, quoting in CSV, a header line), while
/// `COPY` to a server file and `COPY FROM STDIN` stay refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_copies_results_out_as_text_and_csv() {
    if !have("psql", &["--version"]) {
        return;
    }
    let f = start(PgAuth::none()).await;
    let dir = std::env::temp_dir().join(format!("acusql-pg-copy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("customers.csv");
    let script = format!(
        "\\copy (SELECT \"CustomerID\", \"Balance\", \"Active\", \"Orders\", \"LastModified\" FROM Customer ORDER BY 1) TO '{}' CSV HEADER\n\
         COPY Customer (\"CustomerID\", \"Balance\", \"Orders\") TO STDOUT;\n\
         COPY (SELECT 'a,b' AS x, '' AS y, 'say \"hi\"' AS z) TO STDOUT WITH (FORMAT csv, DELIMITER ';');\n\
         COPY Customer FROM STDIN;\n\
         COPY Customer TO STDOUT (FORMAT binary);\n",
        csv.display()
    );
    let out = tokio::task::spawn_blocking(move || psql(f.port, None, &script))
        .await
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(
        std::fs::read_to_string(&csv).unwrap(),
        "CustomerID,Balance,Active,Orders,LastModified\n\
         C001,12345.00000000,t,3,2023-11-14 22:13:20+00\n\
         C002,,f,,\n\
         O'BRIEN,-0.00000001,,0,\n",
        "{stdout}\n{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        stdout.contains("C001\t12345.00000000\t3\nC002\t\\N\t\\N\nO'BRIEN\t-0.00000001\t0\n"),
        "{stdout}\n{stderr}"
    );
    // With `;` as the delimiter, `a,b` needs no quotes; the empty string does (it is not NULL).
    has(&stdout, "a,b;\"\";\"say \"\"hi\"\"\"\n");
    has(&stderr, "ERROR:  0A000: COPY FROM STDIN is not supported");
    has(&stderr, "ERROR:  0A000: COPY (FORMAT binary)");
}

/// SQL cursors in psql (the simple protocol): DECLARE, FETCH n / NEXT / FORWARD n / ALL,
/// CLOSE; a cursor without HOLD closes at COMMIT, one WITH HOLD outlives it; cursors move
/// forward only; closing the cursor over the endless table stops its scan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_cursors_declare_fetch_close() {
    if !have("psql", &["--version"]) {
        return;
    }
    let f = start(PgAuth::none()).await;
    let out = psql_async(
        f.port,
        None,
        "BEGIN;\nDECLARE c CURSOR FOR SELECT n FROM gi.Endless;\n\
         FETCH 3 FROM c;\nFETCH NEXT FROM c;\nFETCH FORWARD 2 FROM c;\nCLOSE c;\nCOMMIT;\n\
         DECLARE h CURSOR WITH HOLD FOR SELECT \"CustomerID\" FROM Customer ORDER BY 1;\n\
         BEGIN;\nDECLARE t CURSOR FOR SELECT 1 AS one;\nCOMMIT;\n\
         FETCH ALL FROM h;\nFETCH 1 FROM t;\nFETCH BACKWARD 1 FROM h;\n\
         DECLARE s SCROLL CURSOR FOR SELECT 1;\nDECLARE h CURSOR FOR SELECT 1;\n\
         CLOSE ALL;\nFETCH 1 FROM h;\n",
    )
    .await;
    let (stdout, stderr) = text(&out);
    assert!(
        stdout.contains("DECLARE CURSOR\nn\n0\n1\n2\nn\n3\nn\n4\n5\nCLOSE CURSOR\nCOMMIT"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("CustomerID\nC001\nC002\nO'BRIEN\n"),
        "{stdout}\n{stderr}"
    );
    for error in [
        "ERROR:  34000: cursor \"t\" does not exist",
        "ERROR:  0A000: FETCH BACKWARD 1 is not supported",
        "ERROR:  0A000: SCROLL cursors are not supported",
        "ERROR:  42P03: cursor \"h\" already exists",
        "ERROR:  34000: cursor \"h\" does not exist",
    ] {
        assert!(stderr.contains(error), "{error}: {stderr}");
    }
    f.scans_stopped().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_sessions_search_path_transactions_and_refusals() {
    if !have("psql", &["--version"]) {
        return;
    }
    let f = start(PgAuth::none()).await;
    let out = psql_async(
        f.port,
        None,
        "SET search_path TO gi;\nSHOW search_path;\nSELECT current_schema();\n\
         SELECT n FROM Endless LIMIT 2;\n\
         BEGIN;\nSELECT count(*) FROM rest.Customer;\nCOMMIT;\n\
         SET DateStyle = 'ISO';\nSET application_name = 'tests';\nSHOW transaction isolation level;\n",
    )
    .await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    for line in [
        "SET",
        "gi",
        "0",
        "1",
        "BEGIN",
        "3",
        "COMMIT",
        "read committed",
    ] {
        assert!(stdout.lines().any(|l| l == line), "{line}: {stdout}");
    }

    // Refused statements: 42501 and nothing done; the session goes on.
    let out = psql_async(
        f.port,
        None,
        "COPY (SELECT 1) TO '/tmp/acusql-pg-refused.csv';\n\
         CREATE EXTERNAL TABLE e STORED AS CSV LOCATION '/etc/passwd';\n\
         SET datafusion.runtime.temp_directory = '/tmp';\n\
         CREATE VIEW v AS SELECT 1;\n\
         SELECT 'still here';\n\
         SELECT nope FROM Customer;\nSELECT * FROM Nope;\n",
    )
    .await;
    let (stdout, stderr) = text(&out);
    assert_eq!(
        stderr.matches("ERROR:  42501").count(),
        4,
        "{stdout}\n{stderr}"
    );
    has(&stderr, "ERROR:  42703");
    has(&stderr, "ERROR:  42P01");
    has(&stdout, "still here");
    assert!(!std::path::Path::new("/tmp/acusql-pg-refused.csv").exists());
}

/// With writes allowed (`acusql serve --allow-writes`), psql changes rows and gets
/// Postgres' command tags; a read-only server refuses the same statement with 42501.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_writes_when_writes_are_allowed() {
    if !have("psql", &["--version"]) {
        return;
    }
    const WRITES: &str = "INSERT INTO Customer (\"CustomerID\") VALUES ('C100');\n\
                          CALL Customer.Deactivate(CustomerID => 'C001');\n";
    let f = start_with(PgAuth::none(), StatementPolicy::server().with_writes(true)).await;
    let out = psql_async(
        f.port,
        None,
        "INSERT INTO Customer (\"CustomerID\", \"Balance\", \"Active\", \"Orders\") VALUES ('C100', 1.5, true, 1);\n\
         SELECT \"CustomerID\", \"Balance\", \"Orders\" FROM Customer WHERE \"CustomerID\" = 'C100';\n\
         UPDATE Customer SET \"Orders\" = 2 WHERE \"CustomerID\" = 'C100';\n\
         SELECT \"Orders\" FROM Customer WHERE \"CustomerID\" = 'C100';\n\
         DELETE FROM Customer WHERE \"CustomerID\" = 'C100';\n\
         SELECT count(*) FROM Customer;\n",
    )
    .await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "INSERT 0 1",
            "CustomerID,Balance,Orders",
            "C100,1.50000000,1",
            "UPDATE 1",
            "Orders",
            "2",
            "DELETE 1",
            "count(*)",
            "3"
        ],
        "{stdout}"
    );

    let read_only = start(PgAuth::none()).await;
    let out = psql_async(read_only.port, None, WRITES).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(
        stderr.matches("ERROR:  42501").count(),
        2,
        "{stdout}\n{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_and_missing_passwords_are_refused() {
    if !have("psql", &["--version"]) {
        return;
    }
    let f = start(PgAuth::password(USER, PASSWORD)).await;
    let out = psql_async(f.port, Some("wrong"), "SELECT 1;\n").await;
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stderr
            .to_lowercase()
            .contains("password authentication failed"),
        "{stderr}"
    );
    let out = psql_async(f.port, None, "SELECT 1;\n").await;
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    has(&stderr, "no password supplied");
}

#[tokio::test]
async fn an_open_server_refuses_a_public_address() {
    let ctx = SessionContext::new();
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let e = PgServer::new(&ctx, PgAuth::none())
        .unwrap()
        .serve(listener, None, std::future::pending())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("without authentication"), "{e}");
}

fn python_with(modules: &str) -> bool {
    have("python3", &["-c", &format!("import {modules}")])
}

fn python(port: u16, script: &str) -> Output {
    Command::new("python3")
        .args(["-c", script])
        .env("PGPORT", port.to_string())
        .env("PGUSER", USER)
        .env("PGPASSWORD", PASSWORD)
        .env("PGHOST", "127.0.0.1")
        .env("PGDATABASE", "acumatica")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psycopg_parameters_types_binary_results_copy_and_cancel() {
    if !python_with("psycopg") {
        return;
    }
    let f = start(PgAuth::password(USER, PASSWORD)).await;
    let script = r#"
import decimal, datetime, threading, time, psycopg
with psycopg.connect(connect_timeout=10) as conn:
    cur = conn.cursor()
    cur.execute('SELECT "CustomerID", "Balance", "Active", "Orders", "LastModified" FROM Customer WHERE "CustomerID" = %s', ("O'BRIEN",))
    assert cur.fetchall() == [("O'BRIEN", decimal.Decimal("-0.00000001"), None, 0, None)], "param"
    cur.execute('SELECT "CustomerID" FROM Customer WHERE "Orders" >= %s ORDER BY 1', (1,))
    assert cur.fetchall() == [("C001",)]
    bcur = conn.cursor(binary=True)
    bcur.execute('SELECT "Balance", "Active", "LastModified" FROM Customer WHERE "CustomerID" = %s', ("C001",))
    row = bcur.fetchone()
    assert row[0] == decimal.Decimal("12345.00000000"), row
    assert row[1] is True, row
    assert row[2] == datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=datetime.timezone.utc), row
    d = cur.execute('SELECT "Balance" FROM Customer').description[0]
    assert d.type_code == 1700 and d.scale == 8, d
    conn.rollback()
    threading.Timer(0.5, conn.cancel).start()
    t0 = time.time()
    try:
        cur.execute("SELECT * FROM gi.Endless")
        raise SystemExit("not cancelled")
    except psycopg.errors.QueryCanceled:
        pass
    assert time.time() - t0 < 10
    conn.rollback()
    cur.execute("SELECT 1")
    assert cur.fetchone() == (1,)
    # COPY … TO STDOUT: one row per message, typed by psycopg; its row count; a cancel.
    with cur.copy('COPY (SELECT n, "CustomerID" FROM gi.Endless, Customer LIMIT 20000) TO STDOUT') as copy:
        copy.set_types(["int8", "text"])
        rows = list(copy.rows())
    assert len(rows) == 20000 and rows[0][0] == 0 and cur.rowcount == 20000, (len(rows), cur.rowcount)
    # A named (server-side) cursor: DECLARE, Describe of the cursor, FETCH in pieces in the
    # extended protocol, CLOSE (which stops the endless scan).
    with conn.cursor(name="pieces") as named:
        named.itersize = 500
        # (No WHERE: a filter runs in parallel partitions, and the rows would come unordered.)
        named.execute("SELECT n, %s AS tag FROM gi.Endless", ("x",))
        assert [d.name for d in named.description] == ["n", "tag"], named.description
        got = [r[0] for r in named.fetchmany(1200)]
        assert got == list(range(1200)), (len(got), got[:3])
        assert named.fetchone() == (1200, "x")
    conn.commit()
    # The same through the extended protocol (Parse, Bind, Describe: NoData, Execute).
    pg = conn.pgconn
    pg.send_query_params(b"COPY (SELECT n FROM gi.Endless LIMIT 3) TO STDOUT", None)
    res = pg.get_result()
    assert res.status == psycopg.pq.ExecStatus.COPY_OUT, res.status
    lines = []
    while True:
        n, data = pg.get_copy_data(0)
        if n < 0:
            break
        lines.append(bytes(data))
    assert lines == [b"0\n", b"1\n", b"2\n"], lines
    res = pg.get_result()
    assert res.status == psycopg.pq.ExecStatus.COMMAND_OK and res.command_status == b"COPY 3", res.command_status
    assert pg.get_result() is None
    threading.Timer(0.5, conn.cancel).start()
    try:
        with cur.copy("COPY gi.Endless TO STDOUT (FORMAT csv)") as copy:
            for _ in copy:
                pass
        raise SystemExit("copy not cancelled")
    except psycopg.errors.QueryCanceled:
        pass
    conn.rollback()
print("ok")
"#;
    let out = tokio::task::spawn_blocking({
        let port = f.port;
        move || python(port, script)
    })
    .await
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // The endless scans stopped with the cancels.
    f.scans_stopped().await;
}

/// A client that reads a stream slowly and then closes it: the server sends rows as the scan
/// produces them (never collecting the result first), the scan waits for the client while
/// the socket is full, and closing the stream (psycopg sends a cancel request, then drains)
/// ends with the cancellation error promptly even though the server was blocked writing;
/// the scan stops and the connection goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_reading_slowly_keeps_the_server_bounded() {
    if !python_with("psycopg") {
        return;
    }
    let f = start(PgAuth::password(USER, PASSWORD)).await;
    // Rows of ~1 kB; the client stops reading after 5,000 of them for a second (it reads
    // slowly; the test does not wait on it), then closes the stream. SIGALRM ends a client
    // that hangs, so a regression fails instead of blocking the test run.
    let script = r#"
import psycopg, signal, time
signal.alarm(60)
conn = psycopg.connect(connect_timeout=10)
with conn.cursor() as cur:
    it = cur.stream("SELECT n, repeat('x', 1000) AS pad FROM gi.Endless")
    for i, (n, pad) in enumerate(it):
        assert n == i and len(pad) == 1000
        if i == 4999:
            break
    time.sleep(1)
    it.close()  # psycopg cancels the statement, then drains what was sent
    assert conn.info.transaction_status != psycopg.pq.TransactionStatus.ACTIVE
    cur.execute("SELECT 1")
    assert cur.fetchone() == (1,)
print("ok")
"#;
    let out = tokio::task::spawn_blocking({
        let port = f.port;
        move || python(port, script)
    })
    .await
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout.trim(), "ok", "{stderr}");
    f.scans_stopped().await;
    // While the client did not read, the scan waited: what it produced fits in the socket
    // buffers (a few MB, batches of ~1 MB), not 200 batches a second.
    let produced = f.produced.load(Ordering::SeqCst);
    assert!(
        produced < 60,
        "the scan ran ahead of the client: {produced} batches"
    );
}

/// pgjdbc, the driver of JVM tools (DBeaver, DataGrip, Tableau, Metabase): metadata browsing
/// (`getSchemas`, `getTables`, `getColumns` with numeric precision and scale), a prepared
/// statement, a fetch size (a portal suspended between Executes) and `Statement.cancel`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jdbc_browses_prepares_fetches_in_pages_and_cancels() {
    let jar =
        std::env::var("PGJDBC_JAR").unwrap_or_else(|_| "/usr/share/java/postgresql.jar".into());
    if !have("java", &["-version"]) || !have("test", &["-f", &jar]) {
        return;
    }
    let f = start(PgAuth::password(USER, PASSWORD)).await;
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/jdbc/JdbcClient.java");
    let port = f.port.to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("java")
            .args(["-cp", &jar, source, &port, USER])
            .env("PGPASSWORD", PASSWORD)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout.trim(), "ok", "{stderr}");
    f.scans_stopped().await;
}
