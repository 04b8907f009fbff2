//! Hostile or broken servers: a test server of our own answers the sign-in and then the data
//! request badly (malformed JSON, a cut body, an HTML page, wrong types, huge values, a body
//! that never ends, the same page forever). Each query must end, without a panic and with
//! bounded memory, in one clear error naming the table and what was wrong.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use acumatica_client::{Connection, ConnectionConfig};
use acumatica_datafusion::{AcumaticaOptions, SchemaSource};
use datafusion::arrow::array::{Array, Int32Array, RecordBatch};
use datafusion::prelude::SessionContext;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the server answers the data request (`GET /entity/Default/24.200.001/Customer?…`).
#[derive(Clone)]
enum Page {
    /// This answer to the first page (`$skip` absent or 0), `[]` to the others.
    Whole {
        status: u16,
        content_type: &'static str,
        body: Arc<Vec<u8>>,
    },
    /// Announces more bytes than it sends, then closes.
    Truncated,
    /// Starts a JSON array, then sends a space every 100 ms, forever.
    Drip,
    /// `$top` records on every page, the same ones whatever `$skip` says.
    Repeating,
    /// The first page is a chunked body sent as fast as it is read, forever.
    Endless,
}

fn json(body: impl Into<Vec<u8>>) -> Page {
    Page::Whole {
        status: 200,
        content_type: "application/json; charset=utf-8",
        body: Arc::new(body.into()),
    }
}

/// A server on 127.0.0.1:0, stopped (with its connections) when dropped.
struct HostileServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HostileServer {
    async fn start(page: Page) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let task = tokio::spawn(async move {
            // Dropping the set (the task aborted) aborts every connection's task.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                connections.spawn(answer(stream, page.clone()));
            }
        });
        Self { addr, task }
    }
}

/// The request line's method and target, after reading the head and any body.
async fn read_request(stream: &mut TcpStream) -> Option<(String, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0_u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length = head
        .lines()
        .find_map(|l| {
            let l = l.to_ascii_lowercase();
            l.strip_prefix("content-length:")
                .and_then(|v| v.trim().parse::<usize>().ok())
        })
        .unwrap_or(0);
    let mut have = buf.len() - head_end;
    while have < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        have += n;
    }
    let mut parts = head.split_whitespace();
    Some((parts.next()?.to_string(), parts.next()?.to_string()))
}

/// A query parameter's number (`$top=3`).
fn param(target: &str, name: &str) -> Option<usize> {
    target
        .split_once('?')?
        .1
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
}

async fn answer(mut stream: TcpStream, page: Page) {
    let Some((method, target)) = read_request(&mut stream).await else {
        return;
    };
    let head = |status: &str, extra: &str| {
        format!("HTTP/1.1 {status}\r\nConnection: close\r\n{extra}\r\n").into_bytes()
    };
    let whole = |status: u16, content_type: &str, body: &[u8]| {
        let mut out = head(
            &format!("{status} Answer"),
            &format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                body.len()
            ),
        );
        out.extend_from_slice(body);
        out
    };
    let path = target.split('?').next().unwrap_or_default();
    let first_page = param(&target, "$skip").unwrap_or(0) == 0;
    // Write errors mean the client went away: the connection just ends.
    let _ = match (method.as_str(), path) {
        ("POST", "/entity/auth/login") => {
            let cookie = "Set-Cookie: .ASPXAUTH=hostile; path=/; HttpOnly\r\n";
            stream
                .write_all(&head(
                    "204 No Content",
                    &format!("{cookie}Content-Length: 0\r\n"),
                ))
                .await
        }
        ("POST", "/entity/auth/logout") => {
            stream
                .write_all(&head("204 No Content", "Content-Length: 0\r\n"))
                .await
        }
        ("GET", "/entity/Default/24.200.001/Customer") => match page {
            Page::Whole { .. } | Page::Truncated | Page::Drip | Page::Endless if !first_page => {
                stream
                    .write_all(&whole(200, "application/json", b"[]"))
                    .await
            }
            Page::Whole {
                status,
                content_type,
                body,
            } => stream.write_all(&whole(status, content_type, &body)).await,
            Page::Truncated => {
                let mut out = head(
                    "200 OK",
                    "Content-Type: application/json\r\nContent-Length: 100000\r\n",
                );
                out.extend_from_slice(br#"[{"id":"a","CustomerID":{"value":"C1"}}"#);
                stream.write_all(&out).await
            }
            Page::Drip => drip(&mut stream).await,
            Page::Repeating => {
                let top = param(&target, "$top").unwrap_or(3);
                let records: Vec<String> = (1..=top)
                    .map(|i| {
                        format!(
                            r#"{{"id":"00000000-0000-0000-0000-{i:012}","rowNumber":{i},"CustomerID":{{"value":"C{i}"}}}}"#
                        )
                    })
                    .collect();
                let body = format!("[{}]", records.join(","));
                stream
                    .write_all(&whole(200, "application/json", body.as_bytes()))
                    .await
            }
            Page::Endless => endless(&mut stream).await,
        },
        _ => {
            stream
                .write_all(&whole(404, "text/plain", b"not here"))
                .await
        }
    };
    let _ = stream.shutdown().await;
}

async fn drip(stream: &mut TcpStream) -> std::io::Result<()> {
    stream
        .write_all(&b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n["[..])
        .await?;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        stream.write_all(b" ").await?;
    }
}

async fn endless(stream: &mut TcpStream) -> std::io::Result<()> {
    stream
        .write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .await?;
    let start = br#"[{"id":"a","CustomerName":{"value":""#;
    stream
        .write_all(format!("{:x}\r\n", start.len()).as_bytes())
        .await?;
    stream.write_all(start).await?;
    stream.write_all(b"\r\n").await?;
    let mut chunk = format!("{:x}\r\n", 1 << 20).into_bytes();
    chunk.extend(std::iter::repeat_n(b'x', 1 << 20));
    chunk.extend_from_slice(b"\r\n");
    loop {
        stream.write_all(&chunk).await?;
    }
}

/// Runs `sql` against a server answering `page`, with extra connection properties: the
/// result, or the error's text. Panics if it does not finish within a minute.
async fn run(
    page: Page,
    props: &str,
    options: AcumaticaOptions,
    sql: &str,
) -> Result<Vec<RecordBatch>, String> {
    let server = HostileServer::start(page).await;
    let work = async {
        let config = ConnectionConfig::from_connection_string(&format!(
            "Url=http://{}/;User=admin;Password=demo;{props}",
            server.addr
        ))
        .map_err(|e| e.to_string())?;
        let conn = Connection::connect(config)
            .await
            .map_err(|e| e.to_string())?;
        let ctx = SessionContext::new();
        acumatica_datafusion::register(
            &ctx,
            conn.clone(),
            AcumaticaOptions {
                schema_source: SchemaSource::Bundled,
                ..options
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        let result = match ctx.sql(sql).await {
            Ok(df) => df.collect().await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let _ = conn.close().await;
        result
    };
    tokio::time::timeout(Duration::from_secs(60), work)
        .await
        .unwrap_or_else(|_| panic!("{sql} did not finish within 60 s"))
}

/// The error of a query that must fail; checks that it is one clear line naming the table.
async fn error_of(page: Page, props: &str, options: AcumaticaOptions, sql: &str) -> String {
    let err = match run(page, props, options, sql).await {
        Ok(batches) => panic!("{sql} succeeded: {batches:?}"),
        Err(e) => e,
    };
    assert!(
        err.contains("cannot read Customer"),
        "names the table: {err}"
    );
    assert!(!err.contains('\n'), "one line: {err}");
    assert!(err.len() < 600, "short: {err}");
    err
}

const SQL: &str = "SELECT CustomerID, CustomerName, CreditLimit FROM Customer";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_a_clear_error() {
    let body = r#"[{"id":"a","CustomerID":{"value":"C1"}} {"id":"b"}]"#;
    let err = error_of(json(body), "", AcumaticaOptions::default(), SQL).await;
    assert!(
        err.contains(
            "cannot read Customer, the page from row 1: the response is not a JSON array of records"
        ),
        "{err}"
    );
    assert!(err.contains("expected `,` or `]`"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_body_is_a_clear_error() {
    let err = error_of(
        Page::Truncated,
        "MaxRetries=1",
        AcumaticaOptions::default(),
        SQL,
    )
    .await;
    assert!(err.contains("Customer"), "{err}");
    assert!(err.contains("body"), "says the body was cut: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_sign_in_page_with_status_200_is_a_clear_error() {
    let page = br#"<!DOCTYPE html><html><head><title>Sign In - Acumatica</title>
        <script>var returnUrl = "/entity";</script><style>body{margin:0}</style></head>
        <body><form><h1>Welcome</h1><input name="user"></form></body></html>"#;
    let html = |content_type| Page::Whole {
        status: 200,
        content_type,
        body: Arc::new(page.to_vec()),
    };
    let err = error_of(
        html("text/html; charset=utf-8"),
        "",
        AcumaticaOptions::default(),
        SQL,
    )
    .await;
    assert!(err.contains("HTML page"), "{err}");
    assert!(err.contains("Sign In - Acumatica"), "{err}");
    assert!(!err.contains("returnUrl"), "no script text: {err}");
    // The same page labelled as JSON: the decoder recognises it.
    let err = error_of(
        html("application/json"),
        "",
        AcumaticaOptions::default(),
        SQL,
    )
    .await;
    assert!(err.contains("HTML page"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_503_is_one_clean_line() {
    let page = br#"<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">
<HTML><HEAD><TITLE>Service Unavailable</TITLE>
<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>
<BODY><h2>Service Unavailable</h2>
<hr><p>HTTP Error 503. The service is unavailable.</p>
</BODY></HTML>"#;
    let err = error_of(
        Page::Whole {
            status: 503,
            content_type: "text/html; charset=us-ascii",
            body: Arc::new(page.to_vec()),
        },
        "MaxRetries=0",
        AcumaticaOptions::default(),
        SQL,
    )
    .await;
    assert!(
        err.ends_with("cannot read Customer: Acumatica returned 503: Service Unavailable"),
        "{err}"
    );
}

/// A field of the wrong JSON type is an error naming the row, the field and what was found.
#[rstest::rstest]
#[case::text_for_a_decimal(
    r#""CreditLimit":{"value":"abc"}"#,
    "CreditLimit",
    r#"expected a decimal number, found "abc""#
)]
#[case::boolean_for_a_decimal(
    r#""CreditLimit":{"value":true}"#,
    "CreditLimit",
    "expected a decimal number, found true"
)]
#[case::object_for_a_string(
    r#""CustomerName":{"value":{"first":"A"}}"#,
    "CustomerName",
    "expected a string"
)]
#[case::not_wrapped(r#""CustomerName":"not wrapped""#, "CustomerName", "wrapper")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_json_types_are_clear_errors(
    #[case] record: &str,
    #[case] field: &str,
    #[case] problem: &str,
) {
    let body = format!(r#"[{{"id":"a","CustomerID":{{"value":"C1"}},{record}}}]"#);
    let err = error_of(json(body), "", AcumaticaOptions::default(), SQL).await;
    assert!(
        err.contains(&format!("cannot read Customer row 1, field {field}: ")),
        "{err}"
    );
    assert!(err.contains(problem), "{record}: {err}");
}

const FORTY_DIGITS: &str = "1234567890123456789012345678901234567890";

/// Numbers no column type can hold are errors, not rounded or wrapped values.
#[rstest::rstest]
#[case::forty_digits(r#""CreditLimit":{"value":FORTY}"#, "does not fit DECIMAL(38, 8)")]
#[case::forty_digits_negative(r#""CreditLimit":{"value":-FORTY.5}"#, "does not fit DECIMAL(38, 8)")]
#[case::zero_with_a_huge_exponent(
    r#""CreditLimit":{"value":0e2000000000}"#,
    "does not fit DECIMAL(38, 8)"
)]
#[case::largest_exponent(
    r#""CreditLimit":{"value":1e2147483647}"#,
    "does not fit DECIMAL(38, 8)"
)]
#[case::integer_of_forty_digits(r#""BAccountID":{"value":FORTY}"#, "expected a 32-bit integer")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_with_forty_digits_or_absurd_exponents_are_clear_errors(
    #[case] record: &str,
    #[case] problem: &str,
) {
    let record = record.replace("FORTY", FORTY_DIGITS);
    let body = format!(r#"[{{"id":"a","CustomerID":{{"value":"C1"}},{record}}}]"#);
    let err = error_of(
        json(body),
        "",
        AcumaticaOptions::default(),
        "SELECT CustomerID, CreditLimit, BAccountID FROM Customer",
    )
    .await;
    assert!(err.contains(problem), "{record}: {err}");
}

/// A 50 MB string value is decoded (memory is bounded by the response cap,
/// `acumatica_client::MAX_RESPONSE_BYTES`, not by the value).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifty_megabyte_string_is_decoded() {
    const LEN: usize = 50 << 20;
    let mut body = br#"[{"id":"a","CustomerID":{"value":"C1"},"CustomerName":{"value":""#.to_vec();
    body.extend(std::iter::repeat_n(b'x', LEN));
    body.extend_from_slice(br#""}}]"#);
    let batches = run(
        json(body),
        "",
        AcumaticaOptions::default(),
        "SELECT CustomerID, CAST(length(CustomerName) AS INT) AS n FROM Customer",
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let lengths: Vec<i32> = batches
        .iter()
        .flat_map(|b| {
            let a = b
                .column(1)
                .as_any()
                .downcast_ref::<Int32Array>()
                .expect("INT");
            (0..a.len()).map(|i| a.value(i)).collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(lengths, vec![LEN as i32]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_ends_quickly_is_cut_at_the_response_cap() {
    let err = error_of(
        Page::Endless,
        "MaxRetries=0",
        AcumaticaOptions::default(),
        SQL,
    )
    .await;
    assert!(
        err.contains(&format!(
            "larger than {} MiB",
            acumatica_client::MAX_RESPONSE_BYTES >> 20
        )),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_drip_is_ended_by_the_request_timeout() {
    let started = std::time::Instant::now();
    let err = error_of(
        Page::Drip,
        "Timeout=1;MaxRetries=1",
        AcumaticaOptions::default(),
        SQL,
    )
    .await;
    assert!(err.contains("timed out"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_page_forever_is_noticed() {
    let err = error_of(
        Page::Repeating,
        "",
        AcumaticaOptions {
            page_size: 3,
            max_parallel_pages: 2,
            ..Default::default()
        },
        "SELECT CustomerID FROM Customer",
    )
    .await;
    assert!(err.contains("same page again"), "{err}");
    // Also with a projection that is not the key (the records' ids still differ per row).
    let err = error_of(
        Page::Repeating,
        "",
        AcumaticaOptions {
            page_size: 3,
            ..Default::default()
        },
        "SELECT count(*) FROM Customer",
    )
    .await;
    assert!(err.contains("same page again"), "{err}");
}
