//! The benchmark report of issue 7: six figures, each measured next to its baseline in the same
//! run and reported as a ratio, printed as a table and written to `benches/RESULTS.md`.
//!
//! ```sh
//! cargo bench --bench report
//! ```
//!
//! `ACUSQL_BENCH_ONLY=1,3` runs only some figures (then RESULTS.md is not written);
//! `PYTHON=/path/to/python3` picks the interpreter of figures 5 and 6.
//!
//! 1. Decode: Acumatica pages → Arrow vs `serde_json` tokenizing the same bytes.
//! 2. Parallel scan: wall time of a full detail scan under 100 ms latency vs `ceil(requests / C) × 100 ms`.
//! 3. Pushdown: bytes received vs the smallest correct response.
//! 4. Memory: peak RSS of a child process (this binary, re-executed) running the query.
//! 5. Against a plain Python client (`benches/baseline/export_requests.py`).
//! 6. Flight SQL through ADBC from Python vs the same query in-process.
//! 8. Requests sent by one-shot queries vs the fewest that answer them (issue 17).

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use acumatica_client::{Connection, RestQuery};
use acumatica_datafusion::AcumaticaOptions;
use acumatica_sim::{RequestRecord, SimConfig, SimHandle};
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::prelude::SessionContext;
use futures::StreamExt;

const LATENCY: Duration = Duration::from_millis(100);
/// Scale of the scan and export figures: 21,000 orders, ≈ 210,000 detail lines (≥ 200,000).
const SCAN_SCALE: u32 = 21;
const MEMORY_SCALES: [u32; 2] = [25, 100];
const MEMORY_LIMIT_MB: f64 = 256.0;
const CHILD_FLAG: &str = "--memory-child";

#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    Pass,
    Miss,
    Skipped(String),
}

struct Figure {
    number: u8,
    name: &'static str,
    measured: String,
    target: &'static str,
    verdict: Verdict,
    /// Raw numbers and the requests behind them, for the details section.
    notes: Vec<String>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == CHILD_FLAG) {
        memory_child(&args[i + 1], &args[i + 2]);
        return;
    }
    let only: Option<Vec<u8>> = std::env::var("ACUSQL_BENCH_ONLY")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect());
    let wanted = |n: u8| only.as_ref().is_none_or(|o| o.contains(&n));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("acusql benchmark report — {cores} cores available; this takes a few minutes.\n");
    let started = Instant::now();
    let mut figures = Vec::new();
    type Step<'a> = (u8, &'a dyn Fn(&tokio::runtime::Runtime) -> Figure);
    let steps: [Step<'_>; 8] = [
        (1, &decode_figure),
        (2, &|rt| rt.block_on(scan_figure())),
        (3, &|rt| rt.block_on(pushdown_figure())),
        (4, &memory_figure),
        (5, &|rt| rt.block_on(python_figure())),
        (6, &|rt| rt.block_on(flight_figure())),
        (7, &|rt| rt.block_on(pg_figure())),
        (8, &|rt| rt.block_on(requests_figure())),
    ];
    for (n, step) in steps {
        if !wanted(n) {
            continue;
        }
        let t = Instant::now();
        let f = step(&rt);
        println!(
            "{}. {}: {} [{}] ({:.0} s)",
            f.number,
            f.name,
            f.measured,
            verdict_text(&f.verdict),
            t.elapsed().as_secs_f64()
        );
        for note in &f.notes {
            println!("     {note}");
        }
        figures.push(f);
    }
    let report = render(&figures, cores, started.elapsed());
    println!("\n{report}");
    if only.is_none() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/RESULTS.md");
        std::fs::write(&path, &report).expect("write benches/RESULTS.md");
        println!("Written to {}", path.display());
    }
}

fn verdict_text(v: &Verdict) -> String {
    match v {
        Verdict::Pass => "PASS".into(),
        Verdict::Miss => "MISS".into(),
        Verdict::Skipped(why) => format!("skipped: {why}"),
    }
}

fn render(figures: &[Figure], cores: usize, took: Duration) -> String {
    let mut out = String::new();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let _ = writeln!(out, "# acusql benchmark results\n");
    let _ = writeln!(
        out,
        "Produced by `cargo bench --bench report` on {} UTC: {cores} cores ({cpu}), {:.0} s. \
         Each figure is a ratio to a baseline measured in the same run, so it holds on a noisy machine.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M"),
        took.as_secs_f64()
    );
    let _ = writeln!(out, "| # | Figure | Measured | Target | Result |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for f in figures {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            f.number,
            f.name,
            f.measured,
            f.target,
            verdict_text(&f.verdict)
        );
    }
    let _ = writeln!(out, "\n## Details\n");
    for f in figures {
        let _ = writeln!(out, "### {}. {}\n", f.number, f.name);
        for n in &f.notes {
            let _ = writeln!(out, "- {n}");
        }
        let _ = writeln!(out);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/// A session set up as `acusql` sets it up (`crates/acusql/src/connect.rs`).
async fn session(conn: Connection, options: AcumaticaOptions) -> SessionContext {
    let ctx = SessionContext::new_with_config(acumatica_datafusion::session_config());
    acumatica_datafusion::register(&ctx, conn, options)
        .await
        .expect("register the catalog");
    ctx
}

async fn start_sim(scale: u32, latency: Duration) -> SimHandle {
    acumatica_sim::start(SimConfig {
        scale,
        latency,
        max_sessions: 32,
        ..Default::default()
    })
    .await
    .expect("start the simulator")
}

/// Data requests (entity GETs) in a request log.
fn entity_gets(log: &[RequestRecord]) -> impl Iterator<Item = &RequestRecord> {
    log.iter()
        .filter(|r| r.method == "GET" && r.url.starts_with("/entity/Default/"))
}

/// Streams a query to the end and counts its rows (nothing is kept).
async fn count_rows(ctx: &SessionContext, sql: &str) -> usize {
    let mut stream = ctx
        .sql(sql)
        .await
        .expect("plan")
        .execute_stream()
        .await
        .expect("execute");
    let mut rows = 0;
    while let Some(batch) = stream.next().await {
        rows += batch.expect("batch").num_rows();
    }
    rows
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn mb(bytes: f64) -> f64 {
    bytes / 1_000_000.0
}

// ---------------------------------------------------------------------------------------------
// 7. PostgreSQL protocol

/// The ways psycopg fetches a result, each timed by `benches/pg_fetch.py`; the first is the
/// figure. `cursor.stream(size=…)` is psycopg's way for large results: rows arrive in chunks
/// while the server still sends (libpq 17's chunked mode), where `fetchall` first receives
/// the whole result in libpq and only then builds Python rows, so the two never overlap.
const PG_FETCHES: [(&str, &[&str]); 4] = [
    ("text, stream(size=1000)", &["--stream", "1000"]),
    ("text, fetchall", &[]),
    (
        "binary, stream(size=1000)",
        &["--binary", "--stream", "1000"],
    ),
    ("binary, fetchall", &["--binary"]),
];

async fn pg_figure() -> Figure {
    let scale = 20;
    let sql = "SELECT * FROM SalesOrder_Details";
    let name =
        "PostgreSQL protocol (Python psycopg, text, cursor.stream) rows/s / in-process rows/s";
    let target = "≥ 0.7";
    let sim = start_sim(scale, Duration::ZERO).await;
    let conn = common::connect(&sim.base_url(), "").await;
    let ctx = session(conn.clone(), AcumaticaOptions::default()).await;
    let mut notes = vec![format!(
        "`{sql}` at simulator scale {scale} without latency (so transport costs show); best of 3 each; \
         in-process: DataFrame::collect; Postgres: `benches/pg_fetch.py` (psycopg 3, every row \
         into a Python tuple; text format, psycopg's default, and binary; `cursor.stream(size=1000)` \
         and `execute` + `fetchall`)"
    )];
    let (rows, best_in, cpu_in) = best_in_process(&ctx, sql).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server =
        acumatica_pg::PgServer::new(&ctx, acumatica_pg::PgAuth::none()).expect("pg server");
    let serving = tokio::spawn(server.serve(listener, None, async {
        let _ = stopped.await;
    }));
    let ours = format!("host=127.0.0.1 port={port} dbname=acumatica user=bench");
    let mut fetched = Vec::new();
    for (what, args) in PG_FETCHES {
        fetched.push((what, pg_fetch(&ours, sql, args).await));
    }
    let raw = pg_fetch(&ours, sql, &["--copy"]).await;
    // A PostgreSQL server for reference (a libpq connection string): the same rows copied
    // into it, fetched by the same client in the same ways.
    let mut reference = Vec::new();
    if let Ok(dsn) = std::env::var("ACUSQL_BENCH_POSTGRES") {
        let load = ["--load-from", &ours, "--table", "acusql_bench_details"];
        for (what, args) in PG_FETCHES {
            let args = [&load[..], args].concat();
            reference.push((what, pg_fetch(&dsn, sql, &args).await));
        }
    }
    let _ = stop.send(());
    let _ = serving.await;
    let _ = conn.close().await;
    let in_rate = rows as f64 / best_in;
    notes.push(format!(
        "in-process: {rows} rows in {best_in:.2} s = {:.0}k rows/s{}",
        in_rate / 1000.0,
        cpu_in.map_or(String::new(), |c| format!(
            " (CPU: acusql + simulator {c:.2} s)"
        ))
    ));
    // One note per run: rows/s, the ratio to in-process, and the CPU of the client and (when
    // this process served the rows) of acusql's server with the simulator.
    let note = |server: &str, what: &str, v: &serde_json::Value, ours: bool| {
        let secs = v["seconds"].as_f64().unwrap_or(f64::NAN);
        let got = v["rows"].as_u64().unwrap_or(0) as usize;
        let rate = got as f64 / secs;
        let ratio = rate / in_rate;
        let cpu = match (v["client_cpu"].as_f64(), v["parent_cpu"].as_f64()) {
            (Some(c), Some(s)) if ours => {
                format!(" (CPU: client {c:.2} s, acusql + simulator {s:.2} s)")
            }
            (Some(c), _) => format!(" (CPU: client {c:.2} s)"),
            _ => String::new(),
        };
        let note = format!(
            "{server}, {what}: {got} rows in {secs:.2} s = {:.0}k rows/s → {ratio:.2}{cpu}",
            rate / 1000.0
        );
        (note, ratio, got)
    };
    let mut measured = None;
    for (what, result) in &fetched {
        match result {
            Ok(v) => {
                let (text, ratio, got) = note("psycopg over acusql", what, v, true);
                notes.push(text);
                measured.get_or_insert((ratio, got));
            }
            Err(why) => {
                return Figure {
                    number: 7,
                    name,
                    measured: "—".into(),
                    target,
                    verdict: Verdict::Skipped(why.clone()),
                    notes,
                };
            }
        }
    }
    match &raw {
        Ok(v) => notes.push(
            note(
                "acusql's server alone (psycopg reading COPY … TO STDOUT as bytes, no Python values)",
                "COPY text",
                v,
                true,
            )
            .0,
        ),
        Err(why) => notes.push(format!("COPY … TO STDOUT failed: {why}")),
    }
    for (what, result) in &reference {
        match result {
            Ok(v) => {
                notes.push(note("psycopg over PostgreSQL itself (same rows)", what, v, false).0)
            }
            Err(why) => notes.push(format!("PostgreSQL reference, {what}, failed: {why}")),
        }
    }
    if reference.is_empty() {
        notes.push(
            "no PostgreSQL reference: set ACUSQL_BENCH_POSTGRES to a libpq connection string \
             (a server the bench may create a table in) to fetch the same rows from PostgreSQL"
                .into(),
        );
    }
    let (ratio, got) = measured.unwrap_or((f64::NAN, 0));
    Figure {
        number: 7,
        name,
        measured: format!("{ratio:.2}"),
        target,
        verdict: if ratio >= 0.7 && got == rows {
            Verdict::Pass
        } else {
            Verdict::Miss
        },
        notes,
    }
}

/// `benches/pg_fetch.py` against `dsn`: {"rows", "seconds", "format"}.
async fn pg_fetch(dsn: &str, sql: &str, extra: &[&str]) -> Result<serde_json::Value, String> {
    let script = bench_dir().join("pg_fetch.py");
    let mut args: Vec<String> = ["--dsn", dsn, "--sql", sql, "--repeat", "3"]
        .iter()
        .map(ToString::to_string)
        .collect();
    args.extend(extra.iter().map(ToString::to_string));
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_python(&script, &args)
    })
    .await
    .expect("join")
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

fn bench_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches")
}

const PIP_HINT: &str = "pip install -r benches/baseline/requirements.txt";

/// Runs a Python script that prints one JSON object on its last line. Exit code 3 means a
/// package is missing.
fn run_python(script: &Path, args: &[&str]) -> Result<serde_json::Value, String> {
    let out = Command::new(python())
        .arg(script)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python()))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(3) {
        return Err(format!("{} ({PIP_HINT})", stderr.trim()));
    }
    if !out.status.success() {
        return Err(format!("{} failed: {}", script.display(), stderr.trim()));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).map_err(|e| format!("unexpected output {last:?}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// 1. Decode

/// Median seconds per call of `a` and of `b`, measured in alternation for at least `budget`.
fn alternate(mut a: impl FnMut(), mut b: impl FnMut(), budget: Duration) -> (f64, f64) {
    for _ in 0..3 {
        a();
        b();
    }
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    let start = Instant::now();
    while start.elapsed() < budget || ta.len() < 11 {
        let t = Instant::now();
        a();
        ta.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        b();
        tb.push(t.elapsed().as_secs_f64());
    }
    (median(ta), median(tb))
}

fn decode_figure(rt: &tokio::runtime::Runtime) -> Figure {
    let pages = rt.block_on(common::pages());
    let mut notes = Vec::new();
    let mut ratios = Vec::new();
    for (label, table, body) in [
        ("SalesOrder", "SalesOrder", &pages.orders),
        ("SalesOrder_Details", "SalesOrder_Details", &pages.details),
    ] {
        let t = common::table(table);
        let decode = || {
            acumatica_datafusion::decode::decode_page(&t.def, &t.projection, &t.schema, body, 0)
                .expect("the page decodes")
        };
        let rows = decode().0.num_rows();
        let (d, tok) = alternate(
            || {
                std::hint::black_box(decode());
            },
            || {
                std::hint::black_box(
                    serde_json::from_slice::<serde::de::IgnoredAny>(body).expect("valid JSON"),
                );
            },
            Duration::from_secs(3),
        );
        let dom = {
            let (v, _) = alternate(
                || {
                    std::hint::black_box(
                        serde_json::from_slice::<serde_json::Value>(body).expect("valid JSON"),
                    );
                },
                || {},
                Duration::from_secs(1),
            );
            v
        };
        let len = body.len() as f64;
        let ratio = tok / d;
        ratios.push((label, ratio));
        notes.push(format!(
            "{label} page (1,000 records{}; {:.2} MB, {rows} rows): decode {:.0} MB/s, {:.0}k rows/s ({:.2} ms); \
             serde_json IgnoredAny {:.0} MB/s ({:.2} ms); serde_json::Value {:.0} MB/s; ratio {:.2}",
            if table == "SalesOrder" {
                ""
            } else {
                " with their lines"
            },
            mb(len),
            mb(len) / d,
            rows as f64 / d / 1000.0,
            d * 1e3,
            mb(len) / tok,
            tok * 1e3,
            mb(len) / dom,
            ratio
        ));
    }
    let worst = ratios.iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
    Figure {
        number: 1,
        name: "Decode speed / tokenization speed",
        measured: ratios
            .iter()
            .map(|(l, r)| format!("{l} {r:.2}"))
            .collect::<Vec<_>>()
            .join(", "),
        target: "≥ 0.6",
        verdict: if worst >= 0.6 {
            Verdict::Pass
        } else {
            Verdict::Miss
        },
        notes,
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Parallel scan

async fn scan_figure() -> Figure {
    let sql = "SELECT * FROM SalesOrder_Details";
    let sim = start_sim(SCAN_SCALE, LATENCY).await;
    let url = sim.base_url();
    let mut notes = vec![format!(
        "`{sql}` at simulator scale {SCAN_SCALE}, {} ms latency added to every data request, \
         page size 1,000 orders; C = MaxConcurrentRequests = max_parallel_pages",
        LATENCY.as_millis()
    )];
    let mut parts = Vec::new();
    let mut worst: f64 = 0.0;
    for c in [1usize, 4, 8] {
        let conn = common::connect(&url, &format!("MaxConcurrentRequests={c}")).await;
        let ctx = session(
            conn.clone(),
            AcumaticaOptions {
                max_parallel_pages: c,
                ..Default::default()
            },
        )
        .await;
        sim.clear_request_log();
        let t = Instant::now();
        let rows = count_rows(&ctx, sql).await;
        let wall = t.elapsed().as_secs_f64();
        let log = sim.request_log();
        let requests = entity_gets(&log).count();
        let ideal = requests.div_ceil(c) as f64 * LATENCY.as_secs_f64();
        let ratio = wall / ideal;
        worst = worst.max(ratio);
        parts.push(format!("C={c}: {ratio:.2}"));
        notes.push(format!(
            "C = {c}: {rows} rows, {requests} requests, wall {:.2} s, ideal {:.2} s → {ratio:.2}",
            wall, ideal
        ));
        let _ = conn.close().await;
    }
    drop(sim);
    // What the machine needs without any latency: the CPU floor (simulator + decoding).
    let sim0 = start_sim(SCAN_SCALE, Duration::ZERO).await;
    for c in [1usize, 4] {
        let conn = common::connect(&sim0.base_url(), &format!("MaxConcurrentRequests={c}")).await;
        let ctx = session(
            conn.clone(),
            AcumaticaOptions {
                max_parallel_pages: c,
                ..Default::default()
            },
        )
        .await;
        let t = Instant::now();
        let rows = count_rows(&ctx, sql).await;
        notes.push(format!(
            "same scan with no latency (CPU floor: simulator writing JSON + acusql decoding, on this machine), C = {c}: {rows} rows in {:.2} s",
            t.elapsed().as_secs_f64()
        ));
        let _ = conn.close().await;
    }
    Figure {
        number: 2,
        name: "Parallel scan: wall / ideal (100 ms per request)",
        measured: parts.join(", "),
        target: "≤ 1.25",
        verdict: if worst <= 1.25 {
            Verdict::Pass
        } else {
            Verdict::Miss
        },
        notes,
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Pushdown

struct PushCase {
    label: &'static str,
    sql: &'static str,
    table: &'static str,
    /// The hand-written request for the smallest correct response.
    minimal: RestQuery,
}

/// The linked entities of a table: `SELECT *` includes their columns, so the smallest
/// correct response expands them too.
fn links_of(table: &str) -> Vec<String> {
    let mut links: Vec<String> = Vec::new();
    for c in &common::table(table).def.columns {
        if let acumatica_datafusion::table::ColumnSource::Linked(l, _) = &c.source
            && !links.contains(l)
        {
            links.push(l.clone());
        }
    }
    links
}

fn push_cases() -> Vec<PushCase> {
    vec![
        PushCase {
            label: "key equality",
            sql: "SELECT * FROM SalesOrder WHERE OrderType = 'SO' AND OrderNbr = 'SO000123'",
            table: "SalesOrder",
            minimal: RestQuery::new("SalesOrder")
                .filter("OrderType eq 'SO' and OrderNbr eq 'SO000123'")
                .expand(links_of("SalesOrder")),
        },
        PushCase {
            label: "date range on LastModifiedDateTime",
            sql: "SELECT * FROM Customer WHERE LastModifiedDateTime >= TIMESTAMP '2024-03-01 00:00:00' \
                  AND LastModifiedDateTime < TIMESTAMP '2024-04-01 00:00:00'",
            table: "Customer",
            minimal: RestQuery::new("Customer")
                .filter(
                    "LastModifiedDateTime ge datetimeoffset'2024-03-01T00:00:00+00:00' and \
                     LastModifiedDateTime lt datetimeoffset'2024-04-01T00:00:00+00:00'",
                )
                .expand(links_of("Customer")),
        },
        PushCase {
            label: "status IN list",
            sql: "SELECT * FROM SalesOrder WHERE Status IN ('On Hold', 'Shipping')",
            table: "SalesOrder",
            minimal: RestQuery::new("SalesOrder")
                .filter("Status eq 'On Hold' or Status eq 'Shipping'")
                .expand(links_of("SalesOrder")),
        },
        PushCase {
            label: "projection of 3 columns",
            sql: "SELECT OrderNbr, CustomerID, OrderTotal FROM SalesOrder",
            table: "SalesOrder",
            minimal: RestQuery::new("SalesOrder").select(["OrderNbr", "CustomerID", "OrderTotal"]),
        },
        PushCase {
            label: "LIMIT 10",
            sql: "SELECT * FROM SalesOrder LIMIT 10",
            table: "SalesOrder",
            minimal: RestQuery::new("SalesOrder")
                .top(10)
                .expand(links_of("SalesOrder")),
        },
        PushCase {
            label: "lines of one order (parent key, 2 line columns)",
            sql: "SELECT OrderNbr, InventoryID, OrderQty FROM SalesOrder_Details WHERE OrderNbr = 'SO000123'",
            table: "SalesOrder_Details",
            minimal: RestQuery::new("SalesOrder")
                .filter("OrderNbr eq 'SO000123'")
                .expand(["Details"])
                .select(["OrderNbr", "Details/InventoryID", "Details/OrderQty"]),
        },
    ]
}

async fn pushdown_figure() -> Figure {
    let scale = 5;
    let sim = start_sim(scale, Duration::ZERO).await;
    let conn = common::connect(&sim.base_url(), "").await;
    let ctx = session(conn.clone(), AcumaticaOptions::default()).await;
    let mut notes = vec![format!(
        "simulator scale {scale} (5,000 orders, 1,000 customers); bytes = response bodies of data requests; \
         the minimal request is written by hand (only matching rows, only needed columns; `SELECT *` includes the linked entities' columns, so it expands them too)"
    )];
    let mut parts = Vec::new();
    let mut worst: f64 = 0.0;
    for case in push_cases() {
        sim.clear_request_log();
        let batches = ctx
            .sql(case.sql)
            .await
            .expect("plan")
            .collect()
            .await
            .expect("run");
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        let log = sim.request_log();
        let gets: Vec<&RequestRecord> = entity_gets(&log).collect();
        let bytes: usize = gets.iter().map(|r| r.bytes).sum();
        let body = conn.list(&case.minimal).await.expect("minimal request");
        let t = common::table(case.table);
        let (minimal_batch, _) =
            acumatica_datafusion::decode::decode_page(&t.def, &t.projection, &t.schema, &body, 0)
                .expect("decode the minimal response");
        let ratio = bytes as f64 / body.len() as f64;
        worst = worst.max(ratio);
        let same = minimal_batch.num_rows() == rows;
        parts.push(format!("{} {ratio:.2}", case.label));
        notes.push(format!(
            "{}: `{}` → {rows} rows, {} request(s), {bytes} bytes; minimal `{}` → {} rows, {} bytes; ratio {ratio:.3}{}. acusql sent: `{}`",
            case.label,
            case.sql,
            gets.len(),
            case.minimal.render_path(),
            minimal_batch.num_rows(),
            body.len(),
            if same { "" } else { " — ROW COUNTS DIFFER" },
            gets.first().map(|r| r.url.as_str()).unwrap_or("(none)")
        ));
        if !same {
            worst = f64::INFINITY;
        }
    }
    let _ = conn.close().await;
    Figure {
        number: 3,
        name: "Pushdown: bytes received / smallest correct response",
        measured: format!("worst {worst:.2} ({})", parts.join(", ")),
        target: "≤ 1.1 (pushable queries)",
        verdict: if worst <= 1.1 {
            Verdict::Pass
        } else {
            Verdict::Miss
        },
        notes,
    }
}

// ---------------------------------------------------------------------------------------------
// 8. Requests per one-shot query

/// A one-shot query of the mix: what it needs at the least (data requests, metadata documents).
struct OneShot {
    label: &'static str,
    sql: &'static str,
    data: usize,
    /// The metadata document it cannot do without: `swagger.json` or a feed's `$metadata`.
    metadata: &'static str,
}

fn one_shots() -> [OneShot; 5] {
    [
        OneShot {
            label: "small table",
            sql: "SELECT COUNT(*) FROM Customer",
            data: 1,
            metadata: "swagger.json",
        },
        OneShot {
            label: "big table with LIMIT",
            sql: "SELECT * FROM SalesOrder LIMIT 10",
            data: 1,
            metadata: "swagger.json",
        },
        OneShot {
            label: "detail table, parent filter",
            sql: "SELECT InventoryID, OrderQty FROM SalesOrder_Details WHERE OrderNbr = 'SO000123'",
            data: 1,
            metadata: "swagger.json",
        },
        OneShot {
            label: "GI",
            sql: "SELECT * FROM gi.CustomerBalance",
            data: 1,
            metadata: "gi/$metadata",
        },
        OneShot {
            label: "DAC",
            sql: "SELECT * FROM dac.SOOrder WHERE OrderNbr = 'SO000123'",
            data: 1,
            metadata: "dac/$metadata",
        },
    ]
}

/// Runs each query of the mix as a one-shot run would (sign in, register, query, sign out),
/// twice: first with an empty metadata cache, then with the cache the first pass left.
async fn requests_figure() -> Figure {
    let sim = start_sim(1, Duration::ZERO).await;
    let cache = tempfile::tempdir().expect("temp dir");
    let extra = format!("MetadataCache={}", cache.path().display());
    let mut notes = vec![
        "simulator scale 1; every request the simulator served is counted (sign-in, swagger.json, $metadata, data, sign-out); \
         minimal = sign-in + the query's data requests + sign-out, plus, on the first pass only, each metadata document the mix needs once"
            .to_string(),
    ];
    let mut ratios = Vec::new();
    for pass in ["first run (empty cache)", "second run (cached)"] {
        let (mut sent, mut minimal) = (0, 0);
        let mut needed: Vec<&str> = Vec::new();
        for q in one_shots() {
            acumatica_datafusion::forget_endpoint_schemas();
            sim.clear_request_log();
            let conn = common::connect(&sim.base_url(), &extra).await;
            let ctx = session(conn.clone(), AcumaticaOptions::default()).await;
            let rows = count_rows(&ctx, q.sql).await;
            let _ = conn.close().await;
            drop(ctx);
            let log: Vec<String> = sim
                .request_log()
                .iter()
                .map(|r| {
                    format!(
                        "{} {}",
                        r.method,
                        r.url.split('?').next().unwrap_or_default()
                    )
                })
                .collect();
            let least = 2
                + q.data
                + usize::from(pass.starts_with("first") && !needed.contains(&q.metadata));
            if !needed.contains(&q.metadata) {
                needed.push(q.metadata);
            }
            sent += log.len();
            minimal += least;
            notes.push(format!(
                "{pass}, {}: `{}` → {rows} rows, {} requests (minimal {least}): {}",
                q.label,
                q.sql,
                log.len(),
                log.join(", ")
            ));
        }
        let ratio = sent as f64 / minimal as f64;
        notes.push(format!(
            "{pass}: {sent} requests / minimal {minimal} = {ratio:.2}"
        ));
        ratios.push(ratio);
    }
    let (first, second) = (ratios[0], ratios[1]);
    Figure {
        number: 8,
        name: "Requests of one-shot queries / minimal requests",
        measured: format!("first run {first:.2}, second run {second:.2}"),
        target: "≤ 1.5 first run, ≤ 1.1 second run",
        verdict: if first <= 1.5 && second <= 1.1 {
            Verdict::Pass
        } else {
            Verdict::Miss
        },
        notes,
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Memory

/// Child process: runs `sql` against the simulator at `url` as `acusql` would, then prints its
/// peak resident set size (`VmHWM`) and the query's single value.
fn memory_child(url: &str, sql: &str) {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let value = rt.block_on(async {
        let conn = common::connect(url, "").await;
        let ctx = session(conn.clone(), AcumaticaOptions::default()).await;
        let batches = ctx
            .sql(sql)
            .await
            .expect("plan")
            .collect()
            .await
            .expect("run");
        let _ = conn.close().await;
        array_value_to_string(batches[0].column(0), 0).expect("a value")
    });
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("0");
    println!("VALUE={value}");
    println!("VMHWM_KB={hwm}");
}

fn memory_figure(rt: &tokio::runtime::Runtime) -> Figure {
    let dir = tempfile::tempdir().expect("temp dir");
    let parquet = dir.path().join("lines.parquet");
    let queries = [
        (
            "SELECT COUNT(*)",
            "SELECT COUNT(*) FROM SalesOrder_Details".to_string(),
        ),
        (
            "COPY … TO Parquet",
            format!(
                "COPY (SELECT * FROM SalesOrder_Details) TO '{}'",
                parquet.display()
            ),
        ),
    ];
    let exe = std::env::current_exe().expect("current exe");
    let mut notes = vec![
        "each query runs in a child process (this binary re-executed, set up as acusql: \
         4 concurrent requests, pages of 1,000 orders); the simulator runs in the parent; peak RSS = VmHWM"
            .to_string(),
    ];
    let mut peaks: Vec<(&str, u32, f64)> = Vec::new();
    for scale in MEMORY_SCALES {
        let sim = rt.block_on(start_sim(scale, Duration::ZERO));
        for (label, sql) in &queries {
            let t = Instant::now();
            let out = Command::new(&exe)
                .args([CHILD_FLAG, &sim.base_url(), sql])
                .output()
                .expect("run the child");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let field = |k: &str| {
                stdout
                    .lines()
                    .find_map(|l| l.strip_prefix(k))
                    .unwrap_or_default()
                    .to_string()
            };
            if !out.status.success() {
                notes.push(format!(
                    "{label} at scale {scale} failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
                peaks.push((label, scale, f64::INFINITY));
                continue;
            }
            let peak_mb = field("VMHWM_KB=").parse::<f64>().unwrap_or(f64::INFINITY) / 1024.0;
            notes.push(format!(
                "{label}, scale {scale}: {} lines, peak RSS {peak_mb:.0} MB, {:.1} s",
                field("VALUE="),
                t.elapsed().as_secs_f64()
            ));
            peaks.push((label, scale, peak_mb));
        }
        rt.block_on(sim.shutdown());
    }
    let mut parts = Vec::new();
    let mut ok = true;
    for (label, _) in &queries {
        let small = peaks
            .iter()
            .find(|p| p.0 == *label && p.1 == MEMORY_SCALES[0])
            .map_or(f64::INFINITY, |p| p.2);
        let big = peaks
            .iter()
            .find(|p| p.0 == *label && p.1 == MEMORY_SCALES[1])
            .map_or(f64::INFINITY, |p| p.2);
        // "Not growing": within 25 % (or 16 MB) of the 250k-row run.
        let flat = big <= (small * 1.25).max(small + 16.0);
        ok &= big <= MEMORY_LIMIT_MB && flat;
        parts.push(format!(
            "{label}: {small:.0} MB (250k) → {big:.0} MB (1M){}",
            if flat { "" } else { " growing" }
        ));
    }
    Figure {
        number: 4,
        name: "Memory: peak RSS over 1M detail lines",
        measured: parts.join("; "),
        target: "≤ 256 MB, flat from 250k to 1M rows",
        verdict: if ok { Verdict::Pass } else { Verdict::Miss },
        notes,
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Against a plain Python client

async fn python_figure() -> Figure {
    let sim = start_sim(SCAN_SCALE, LATENCY).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let py_csv = dir.path().join("python.csv");
    let script = bench_dir().join("baseline/export_requests.py");
    let url = sim.base_url();
    let mut notes = vec![format!(
        "export of all SalesOrder lines to CSV, simulator scale {SCAN_SCALE} with {} ms latency per data request; \
         baseline: `benches/baseline/export_requests.py` (requests, $top/$skip pages of 1,000 one after another, pandas to_csv); \
         acusql: `COPY (SELECT * FROM SalesOrder_Details) TO '….csv'` in-process with default settings (MaxConcurrentRequests=4)",
        LATENCY.as_millis()
    )];
    let (py_url, py_out) = (url.clone(), py_csv.display().to_string());
    let python = tokio::task::spawn_blocking(move || {
        run_python(&script, &["--url", &py_url, "--out", &py_out])
    })
    .await
    .expect("join");
    let python = match python {
        Ok(v) => v,
        Err(why) => {
            return Figure {
                number: 5,
                name: "Export speedup vs a plain Python client",
                measured: "—".into(),
                target: "≥ 10×",
                verdict: Verdict::Skipped(why),
                notes,
            };
        }
    };
    let py_seconds = python["seconds"].as_f64().unwrap_or(f64::NAN);
    let py_rows = python["rows"].as_u64().unwrap_or(0);
    let csv = dir.path().join("acusql.csv");
    let t = Instant::now();
    let conn = common::connect(&url, "").await;
    let ctx = session(conn.clone(), AcumaticaOptions::default()).await;
    let batches = ctx
        .sql(&format!(
            "COPY (SELECT * FROM SalesOrder_Details) TO '{}'",
            csv.display()
        ))
        .await
        .expect("plan")
        .collect()
        .await
        .expect("COPY");
    let _ = conn.close().await;
    let ours = t.elapsed().as_secs_f64();
    let rows = array_value_to_string(batches[0].column(0), 0).unwrap_or_default();
    let speedup = py_seconds / ours;
    notes.push(format!(
        "Python: {py_rows} rows in {py_seconds:.2} s ({} pages); acusql: {rows} rows in {ours:.2} s (sign-in included) → {speedup:.1}×",
        python["pages"]
    ));
    Figure {
        number: 5,
        name: "Export speedup vs a plain Python client",
        measured: format!("{speedup:.1}×"),
        target: "≥ 10×",
        verdict: if speedup >= 10.0 && rows == py_rows.to_string() {
            Verdict::Pass
        } else {
            Verdict::Miss
        },
        notes,
    }
}

/// Rows of `sql` and the best of 3 in-process runs (DataFrame::collect), in seconds: the
/// baseline of the transport figures (6 and 7).
/// Rows, the best wall time of 3 collects, and the CPU seconds of that run (Linux only).
async fn best_in_process(ctx: &SessionContext, sql: &str) -> (usize, f64, Option<f64>) {
    let mut best = f64::INFINITY;
    let mut cpu = None;
    let mut rows = 0;
    for _ in 0..3 {
        let cpu_before = process_cpu();
        let t = Instant::now();
        let batches = ctx
            .sql(sql)
            .await
            .expect("plan")
            .collect()
            .await
            .expect("run");
        let wall = t.elapsed().as_secs_f64();
        if wall < best {
            best = wall;
            cpu = process_cpu()
                .zip(cpu_before)
                .map(|(after, before)| after - before);
        }
        rows = batches.iter().map(|b| b.num_rows()).sum::<usize>();
    }
    (rows, best, cpu)
}

/// CPU seconds (user + system) this process has used so far, from /proc (Linux), or None.
fn process_cpu() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // Linux reports in USER_HZ, 100 on every architecture it runs on.
    Some(ticks / 100.0)
}

// ---------------------------------------------------------------------------------------------
// 6. Flight SQL

async fn flight_figure() -> Figure {
    let scale = 20;
    let sql = "SELECT * FROM SalesOrder_Details";
    let sim = start_sim(scale, Duration::ZERO).await;
    let conn = common::connect(&sim.base_url(), "").await;
    let ctx = session(conn.clone(), AcumaticaOptions::default()).await;
    let mut notes = vec![format!(
        "`{sql}` at simulator scale {scale} without latency (so transport costs show); best of 3 each; \
         in-process: DataFrame::collect; Flight: `benches/flight_fetch.py` (ADBC Flight SQL, cursor.execute + fetch_arrow_table)"
    )];
    let (rows, best_in, _) = best_in_process(&ctx, sql).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server =
        acumatica_flight::FlightSqlServer::new(ctx.clone(), acumatica_flight::FlightAuth::none());
    let serving = tokio::spawn(server.serve(listener, None, async {
        let _ = stopped.await;
    }));
    let script = bench_dir().join("flight_fetch.py");
    let uri = format!("grpc://{addr}");
    let py = tokio::task::spawn_blocking(move || {
        run_python(&script, &["--uri", &uri, "--sql", sql, "--repeat", "3"])
    })
    .await
    .expect("join");
    let _ = stop.send(());
    let _ = serving.await;
    let _ = conn.close().await;
    let in_rate = rows as f64 / best_in;
    notes.push(format!(
        "in-process: {rows} rows in {best_in:.2} s = {:.0}k rows/s",
        in_rate / 1000.0
    ));
    match py {
        Err(why) => Figure {
            number: 6,
            name: "Flight SQL (Python ADBC) rows/s / in-process rows/s",
            measured: "—".into(),
            target: "≥ 0.8",
            verdict: Verdict::Skipped(why),
            notes,
        },
        Ok(v) => {
            let secs = v["seconds"].as_f64().unwrap_or(f64::NAN);
            let py_rows = v["rows"].as_u64().unwrap_or(0);
            let rate = py_rows as f64 / secs;
            let ratio = rate / in_rate;
            notes.push(format!(
                "Flight SQL from Python: {py_rows} rows in {secs:.2} s = {:.0}k rows/s → {ratio:.2}",
                rate / 1000.0
            ));
            Figure {
                number: 6,
                name: "Flight SQL (Python ADBC) rows/s / in-process rows/s",
                measured: format!("{ratio:.2}"),
                target: "≥ 0.8",
                verdict: if ratio >= 0.8 && py_rows as usize == rows {
                    Verdict::Pass
                } else {
                    Verdict::Miss
                },
                notes,
            }
        }
    }
}
