//! The Flight SQL server as clients see it: statements, prepared statements with parameters,
//! metadata calls, authentication failures and a client leaving mid-stream.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use acumatica_flight::{FlightAuth, FlightSqlServer};
use arrow_flight::sql::client::FlightSqlServiceClient;
use arrow_flight::sql::{CommandGetDbSchemas, CommandGetTables};
use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::datasource::MemTable;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use tonic::transport::Channel;

/// An endless table that counts the batches it produced and its streams still alive.
#[derive(Debug)]
struct Endless {
    schema: SchemaRef,
    produced: Arc<AtomicUsize>,
    live: Arc<AtomicUsize>,
}

/// Held by a stream of [`Endless`]: counts it among the live ones until it is dropped.
struct Alive(Arc<AtomicUsize>);

impl Drop for Alive {
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
        self.live.fetch_add(1, Ordering::SeqCst);
        let alive = Alive(self.live.clone());
        let stream = futures::stream::unfold(0_i64, move |i| {
            let _alive = &alive;
            let schema = schema.clone();
            let produced = produced.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                produced.fetch_add(1, Ordering::SeqCst);
                let values: Vec<i64> = (i..i + 1000).collect();
                let batch = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(values))])
                    .map_err(Into::into);
                Some((batch, i + 1000))
            }
        });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream))
    }
}

struct Fixture {
    addr: std::net::SocketAddr,
    produced: Arc<AtomicUsize>,
    live: Arc<AtomicUsize>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(auth: FlightAuth) -> Fixture {
    let ctx = SessionContext::new();
    let schema = Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Utf8, true),
        Field::new("balance", DataType::Int64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["C001", "C002", "O'BRIEN"])),
            Arc::new(Int64Array::from(vec![Some(10), None, Some(30)])),
        ],
    )
    .unwrap();
    ctx.register_table(
        "customers",
        Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap()),
    )
    .unwrap();
    let produced = Arc::new(AtomicUsize::new(0));
    let live = Arc::new(AtomicUsize::new(0));
    let endless_schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)]));
    let endless = StreamingTable::try_new(
        endless_schema.clone(),
        vec![Arc::new(Endless {
            schema: endless_schema,
            produced: produced.clone(),
            live: live.clone(),
        })],
    )
    .unwrap();
    ctx.register_table("endless", Arc::new(endless)).unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = FlightSqlServer::new(ctx, auth);
    tokio::spawn(async move {
        server
            .serve(listener, None, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Fixture {
        addr,
        produced,
        live,
        _stop: stop,
    }
}

async fn client(addr: std::net::SocketAddr) -> FlightSqlServiceClient<Channel> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    FlightSqlServiceClient::new(channel)
}

async fn fetch(
    client: &mut FlightSqlServiceClient<Channel>,
    info: arrow_flight::FlightInfo,
) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    for endpoint in info.endpoint {
        let ticket = endpoint.ticket.expect("ticket");
        let mut stream = client.do_get(ticket).await.unwrap();
        while let Some(batch) = stream.next().await {
            out.push(batch.unwrap());
        }
    }
    out
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

#[tokio::test]
async fn statements_and_prepared_statements_with_parameters() {
    let f = start(FlightAuth::basic("analyst", "pw")).await;
    let mut c = client(f.addr).await;
    c.handshake("analyst", "pw").await.unwrap();

    let info = c
        .execute(
            "SELECT customer_id FROM customers WHERE balance IS NOT NULL ORDER BY 1".into(),
            None,
        )
        .await
        .unwrap();
    let batches = fetch(&mut c, info).await;
    assert_eq!(rows(&batches), 2);

    let mut stmt = c
        .prepare(
            "SELECT customer_id FROM customers WHERE customer_id = $1".into(),
            None,
        )
        .await
        .unwrap();
    let params = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("$1", DataType::Utf8, true)])),
        vec![Arc::new(StringArray::from(vec!["O'BRIEN"]))],
    )
    .unwrap();
    stmt.set_parameters(params).unwrap();
    let info = stmt.execute().await.unwrap();
    let batches = fetch(&mut c, info).await;
    assert_eq!(rows(&batches), 1);
    let col = batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!(col.value(0), "O'BRIEN");
}

#[tokio::test]
async fn metadata_calls_list_what_clients_browse() {
    let f = start(FlightAuth::none()).await;
    let mut c = client(f.addr).await;
    let info = c.get_catalogs().await.unwrap();
    let batches = fetch(&mut c, info).await;
    assert!(rows(&batches) >= 1);

    let info = c
        .get_db_schemas(CommandGetDbSchemas {
            catalog: None,
            db_schema_filter_pattern: None,
        })
        .await
        .unwrap();
    assert!(rows(&fetch(&mut c, info).await) >= 1);

    let info = c
        .get_tables(CommandGetTables {
            catalog: None,
            db_schema_filter_pattern: None,
            table_name_filter_pattern: Some("cust%".into()),
            table_types: vec![],
            include_schema: true,
        })
        .await
        .unwrap();
    let batches = fetch(&mut c, info).await;
    assert_eq!(rows(&batches), 1);
    assert!(batches[0].schema().field_with_name("table_schema").is_ok());

    let info = c.get_table_types().await.unwrap();
    assert_eq!(rows(&fetch(&mut c, info).await), 2);
    let info = c.get_sql_info(vec![]).await.unwrap();
    assert!(rows(&fetch(&mut c, info).await) > 0);
}

#[tokio::test]
async fn authentication_failures_are_unauthenticated_statuses() {
    let f = start(FlightAuth::basic("analyst", "pw").with_token("static-token")).await;
    let mut c = client(f.addr).await;
    let err = c.handshake("analyst", "nope").await.unwrap_err();
    assert!(
        err.to_string().contains("invalid user name or password"),
        "{err}"
    );
    let err = c.execute("SELECT 1".into(), None).await.unwrap_err();
    assert!(
        err.to_string()
            .to_lowercase()
            .contains("authentication required"),
        "{err}"
    );
    c.set_token("static-token".into());
    let info = c.execute("SELECT 1 AS one".into(), None).await.unwrap();
    assert_eq!(rows(&fetch(&mut c, info).await), 1);
}

#[tokio::test]
async fn sql_errors_reach_the_client_as_clear_statuses() {
    let f = start(FlightAuth::none()).await;
    let mut c = client(f.addr).await;
    let err = c
        .execute("SELECT * FROM nowhere".into(), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("nowhere"), "{err}");
}

/// A wide table, as Acumatica entities are (hundreds of columns).
fn wide_ctx_table(ctx: &SessionContext) {
    let fields: Vec<Field> = (0..300)
        .map(|i| Field::new(format!("Field{i:03}"), DataType::Int64, true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    ctx.register_table(
        "wide",
        Arc::new(MemTable::try_new(schema, vec![vec![]]).unwrap()),
    )
    .unwrap();
}

#[tokio::test]
async fn errors_carry_the_right_status_and_a_short_message() {
    let f = start(FlightAuth::none()).await;
    let mut c = client(f.addr).await;
    let err = c
        .execute("SELECT * FROM nowhere".into(), None)
        .await
        .unwrap_err();
    let status = tonic::Status::from(err);
    assert_eq!(status.code(), tonic::Code::NotFound, "{status}");
    let err = c.execute("SELEC 1".into(), None).await.unwrap_err();
    let status = tonic::Status::from(err);
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status}");
    let err = c
        .execute("SELECT custome_id FROM customers".into(), None)
        .await
        .unwrap_err();
    let status = tonic::Status::from(err);
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status}");
    assert!(
        status.message().contains("customer_id"),
        "did you mean: {status}"
    );
    assert!(status.message().len() <= 300, "{}", status.message().len());
}

#[test]
fn a_wide_table_error_is_summarised() {
    let ctx = SessionContext::new();
    wide_ctx_table(&ctx);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let e = rt
        .block_on(async { ctx.sql("SELECT field001 FROM wide").await })
        .unwrap_err();
    assert!(e.to_string().len() > 3000, "DataFusion lists every column");
    let short = acumatica_datafusion::error_summary(&e, 300);
    assert!(short.contains("Field001"), "{short}");
    assert!(short.len() <= 310, "{short}");
}

/// Remote clients get SQL, not the server's files: COPY, DDL, SET and writes are refused with
/// PERMISSION_DENIED before anything runs (`{file}` is a path in a fresh directory).
#[rstest::rstest]
#[case::copy_to_a_file("COPY (SELECT 1) TO '{file}'")]
#[case::external_table("CREATE EXTERNAL TABLE p STORED AS CSV LOCATION '/etc/passwd'")]
#[case::view("CREATE VIEW v AS SELECT 1")]
#[case::drop("DROP TABLE customers")]
#[case::datafusion_setting("SET datafusion.runtime.temp_directory = '/tmp'")]
#[case::insert("INSERT INTO customers VALUES ('X', 1)")]
#[tokio::test]
async fn files_ddl_settings_and_writes_are_refused_with_permission_denied(#[case] sql: &str) {
    let f = start(FlightAuth::none()).await;
    let mut c = client(f.addr).await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("stolen.csv");
    let sql = sql.replace("{file}", &target.display().to_string());
    let err = c.execute(sql.clone(), None).await.unwrap_err();
    let status = tonic::Status::from(err);
    assert_eq!(
        status.code(),
        tonic::Code::PermissionDenied,
        "{sql}: {status}"
    );
    assert!(status.message().contains("not allowed"), "{status}");
    assert!(!target.exists(), "no file was written");
    let info = c
        .execute("SELECT COUNT(*) AS n FROM customers".into(), None)
        .await
        .unwrap();
    assert!(!info.endpoint.is_empty(), "the table is still there");
}

#[tokio::test]
async fn a_client_leaving_mid_stream_stops_the_work() {
    let f = start(FlightAuth::none()).await;
    let mut c = client(f.addr).await;
    let info = c
        .execute("SELECT n FROM endless".into(), None)
        .await
        .unwrap();
    let ticket = info.endpoint[0].ticket.clone().unwrap();
    let mut stream = c.do_get(ticket).await.unwrap();
    for _ in 0..3 {
        stream.next().await.unwrap().unwrap();
    }
    assert_eq!(f.live.load(Ordering::SeqCst), 1, "the scan is under way");
    drop(stream);
    drop(c);
    // The server drops the scan's stream once the client has gone: nothing can produce after.
    let until = std::time::Instant::now() + Duration::from_secs(30);
    while f.live.load(Ordering::SeqCst) > 0 {
        assert!(
            std::time::Instant::now() < until,
            "the server kept producing after the client left ({} batches)",
            f.produced.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn refuses_a_public_address_without_authentication() {
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let err = FlightSqlServer::new(SessionContext::new(), FlightAuth::none())
        .serve(listener, None, std::future::pending())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("without authentication"), "{err}");
}
