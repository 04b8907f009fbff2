//! The `acusql` binary as a user runs it: one-shot SQL, files, stdin, formats, COPY TO, exit
//! codes and error messages, against the simulator over loopback; and the REPL through a
//! pseudo-terminal.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use acumatica_sim::{SimConfig, SimHandle};

fn acusql() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_acusql"));
    isolated(&mut cmd);
    cmd
}

/// The environment of a test run: the user's real history, config and connection are kept
/// out, and long output in a pseudo-terminal goes through a pager that just prints.
fn isolated(cmd: &mut Command) -> &mut Command {
    let home = std::env::temp_dir().join("acusql-test-home");
    cmd.env("HOME", &home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("ACUMATICA_URL")
        .env_remove("ACUMATICA_CONNECTION")
        .env_remove("ACUSQL_LOG")
        // Each test's simulator is a new site: caching its metadata would only fill the disk.
        .env("ACUMATICA_METADATACACHE", "off")
        .env("PAGER", "cat")
}

fn run(cmd: &mut Command, stdin: Option<&str>) -> Output {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("acusql starts");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Fails with the whole standard output when `part` is not in it.
fn assert_stdout_has(o: &Output, part: &str) {
    let out = stdout(o);
    assert!(out.contains(part), "{part:?} not in:\n{out}");
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

async fn sim() -> SimHandle {
    acumatica_sim::start(SimConfig::default())
        .await
        .expect("simulator starts")
}

fn connect(sim: &SimHandle) -> String {
    format!(
        "AuthScheme=Basic;Url={};User=admin;Password=demo;Company=Company",
        sim.base_url()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_shot_csv_against_a_server_and_signs_out() {
    let sim = sim().await;
    let out = run(
        acusql().args([
            "--connect",
            &connect(&sim),
            "--format",
            "csv",
            "-c",
            "SELECT CustomerID FROM Customer ORDER BY CustomerID LIMIT 3",
        ]),
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "CustomerID");
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(sim.stats().open_sessions, 0, "acusql signed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_runs_without_any_server_and_says_so() {
    let out = run(
        acusql().args(["--demo", "-c", "SELECT COUNT(*) AS n FROM Customer"]),
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("simulated Acumatica company"));
    assert_stdout_has(&out, "1 row in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_and_ndjson_formats() {
    let out = run(
        acusql().args([
            "--demo",
            "--format",
            "json",
            "-c",
            "SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, NULL",
        ]),
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    assert_eq!(v.as_array().map(Vec::len), Some(2));
    let out = run(
        acusql().args(["--demo", "--format", "ndjson", "-c", "SELECT 1 AS a"]),
        None,
    );
    assert_eq!(stdout(&out), "{\"a\":1}\n");
    // NULLs keep their keys.
    let out = run(
        acusql().args([
            "--demo",
            "--format",
            "ndjson",
            "-c",
            "SELECT 1 AS a, CAST(NULL AS INT) AS b",
        ]),
        None,
    );
    assert_eq!(stdout(&out), "{\"a\":1,\"b\":null}\n");
    let out = run(
        acusql().args([
            "--demo",
            "--format",
            "json",
            "-c",
            "SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, NULL ORDER BY a",
        ]),
        None,
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    assert_eq!(v[1], serde_json::json!({"a": 2, "b": null}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_from_stdin_and_files() {
    let out = run(
        acusql().args(["--demo", "--format", "csv"]),
        Some("SELECT 1 AS a;\n-- a comment; with a semicolon\nSELECT 'a;b' AS b;\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "a\n1\nb\na;b\n");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q.sql");
    std::fs::write(&file, "SELECT 2 AS two;\n").unwrap();
    let out = run(
        acusql()
            .args(["--demo", "--format", "csv", "-f"])
            .arg(&file),
        None,
    );
    assert_eq!(stdout(&out), "two\n2\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_one_clear_line_and_a_failure_status() {
    let out = run(
        acusql().args(["--demo", "-c", "SELECT * FROM NoSuchTable"]),
        None,
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    let last = err.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: "), "{err}");
    assert!(last.to_lowercase().contains("nosuchtable"), "{err}");

    let out = run(acusql().args(["--demo", "-c", "SELEC 1"]), None);
    assert!(!out.status.success());
    let err = stderr(&out);
    let last = err.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: syntax error: "), "{err}");
    assert_eq!(last.matches("SELEC").count(), 1, "said once: {err}");

    let sim = sim().await;
    let bad = connect(&sim).replace("Password=demo", "Password=wrong");
    let out = run(acusql().args(["--connect", &bad, "-c", "SELECT 1"]), None);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("error: "), "{err}");
    assert!(
        !err.contains("wrong"),
        "the password must never be printed: {err}"
    );
    assert!(
        !err.contains("stackTrace") && !err.contains("   at "),
        "{err}"
    );

    let out = run(
        acusql().args([
            "--connect",
            "AuthScheme=Basic;Ur=http://127.0.0.1:1",
            "-c",
            "SELECT 1",
        ]),
        None,
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("Url"),
        "did-you-mean hint: {}",
        stderr(&out)
    );
}

/// Unknown tables get a did-you-mean, in SQL and in `\d`.
#[rstest::rstest]
#[case::in_sql("SELECT * FROM Custmer", "Customer")]
#[case::in_describe("\\d Custmer", "Customer")]
#[case::quoted_inquiry("\\d gi.\"Customer Contact\"", "gi.\"Customer Contacts\"")]
fn unknown_tables_get_a_did_you_mean(#[case] command: &str, #[case] hint: &str) {
    let out = run(acusql().args(["--demo", "-c", command]), None);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("did you mean"), "{command}: {err}");
    assert!(err.contains(hint), "{command}: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_to_parquet_and_csv_writes_files() {
    let dir = tempfile::tempdir().unwrap();
    let parquet = dir.path().join("customers.parquet");
    let csv = dir.path().join("customers.csv");
    let sql = format!(
        "COPY (SELECT CustomerID, CustomerName FROM Customer) TO '{}'; COPY (SELECT CustomerID FROM Customer LIMIT 5) TO '{}'",
        parquet.display(),
        csv.display()
    );
    let out = run(acusql().args(["--demo", "-q", "-c", &sql]), None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::metadata(&parquet)
            .map(|m| m.len() > 0)
            .unwrap_or(false)
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 6, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_commands_in_scripts() {
    let out = run(
        acusql().args(["--demo", "--format", "csv", "-c", "\\dt SalesOrder"]),
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_stdout_has(&out, "SalesOrder_Details");
    let out = run(acusql().args(["--demo", "-c", "\\d Customer"]), None);
    assert_stdout_has(&out, "CustomerID");
    // Any table the session knows, not only Acumatica's.
    let out = run(
        acusql().args(["--demo", "-c", "\\d information_schema.tables"]),
        None,
    );
    assert_stdout_has(&out, "table_schema");
    let out = run(acusql().args(["--demo", "-c", "\\bogus"]), None);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("\\?"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_to_refuses_to_replace_a_file_unless_told_and_counts_rows() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("five.csv");
    let copy = |options: &str| {
        format!(
            "COPY (SELECT CustomerID FROM Customer ORDER BY CustomerID LIMIT 5) TO '{}' {options}",
            csv.display()
        )
    };
    let out = run(acusql().args(["--demo", "-c", &copy("")]), None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_stdout_has(&out, &format!("Wrote 5 rows to {}", csv.display()));
    std::fs::write(&csv, "keep me\n").unwrap();
    let out = run(acusql().args(["--demo", "-c", &copy("")]), None);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("already exists") && err.contains("OVERWRITE"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), "keep me\n");
    // Told so: by the statement, or by the shell setting.
    let out = run(
        acusql().args(["--demo", "-q", "-c", &copy("OPTIONS (OVERWRITE true)")]),
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "-q: {}", stdout(&out));
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 6);
    let script = format!("\\overwrite on\n{};\n", copy(""));
    let out = run(acusql().args(["--demo", "--format", "csv"]), Some(&script));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("Wrote 5 rows"), "{}", stderr(&out));
}

/// A script with backslash commands: each ends at the end of its line (no `;`), comments
/// before them are fine, and `help` is `\?`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_with_backslash_commands() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.sql");
    std::fs::write(
        &file,
        "-- what is there\n\\dn\n\\d gi.\"Customer Contacts\"\n\\x on\n\
         SELECT CustomerID, CustomerName\n  FROM Customer ORDER BY CustomerID LIMIT 1;\n\
         \\x off\n\\format csv\nSELECT 1 AS one;\n",
    )
    .unwrap();
    let out = run(acusql().args(["--demo", "-q", "-f"]).arg(&file), None);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for expected in [
        "generic inquiries",
        "ContactID",
        "Generic inquiry \"Customer Contacts\" (OData)",
        "Keys: CustomerID, ContactID",
        "Expanded display is on.",
        "-[ RECORD 1 ]",
        "CustomerID   | ",
        "Output format is csv.",
        "one\n1\n",
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
    // The same through a pipe, with help and quit as words.
    let out = run(
        acusql().args(["--demo", "-q"]),
        Some("help\n\\timing off\nquit\nSELECT 'never' AS x;\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let help = run(acusql().args(["--demo", "-q", "-c", "\\?"]), None);
    assert!(
        stdout(&out).starts_with(&stdout(&help)),
        "{}\n---\n{}",
        stdout(&out),
        stdout(&help)
    );
    assert!(stdout(&out).contains("Timing is off."));
    assert!(!stdout(&out).contains("never"), "quit stops the script");
}

#[test]
fn help_snapshot() {
    let out = run(acusql().arg("--help"), None);
    assert!(out.status.success());
    insta::assert_snapshot!("help", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_help_snapshot() {
    let out = run(acusql().args(["--demo", "-q", "-c", "\\?"]), None);
    assert!(out.status.success(), "{}", stderr(&out));
    insta::assert_snapshot!("meta_help", stdout(&out));
}

/// Runs `acusql` in a pseudo-terminal of 30 rows and 100 columns (`stty` sets its size).
fn sized_terminal(
    conn: &str,
    env: &[(&str, &str)],
) -> Result<rexpect::session::PtySession, rexpect::error::Error> {
    let mut cmd = Command::new("sh");
    isolated(&mut cmd)
        .env("ACUSQL_BIN", env!("CARGO_BIN_EXE_acusql"))
        .env("ACUSQL_CONN", conn)
        .args([
            "-c",
            "stty rows 30 cols 100; exec \"$ACUSQL_BIN\" --connect \"$ACUSQL_CONN\"",
        ]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    rexpect::session::spawn_command(cmd, Some(30_000))
}

/// Runs a pseudo-terminal session on a blocking thread (rexpect blocks) and fails the test
/// with what it read when an expectation is not met.
async fn in_terminal(session: impl FnOnce() -> Result<(), rexpect::error::Error> + Send + 'static) {
    tokio::task::spawn_blocking(session)
        .await
        .expect("the session's thread")
        .expect("terminal session");
}

/// `\x`: expanded display on, off and automatic (a row too wide for the terminal), and long
/// results through `$PAGER` until `\pset pager off`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repl_expanded_display_and_pager() {
    let sim = sim().await;
    let conn = connect(&sim);
    in_terminal(move || {
        let mut p = sized_terminal(&conn, &[("PAGER", "sed 's/^/paged: /'")])?;
        p.exp_string("acusql> ")?;
        p.send_line("\\x on")?;
        p.exp_string("Expanded display is on.")?;
        p.send_line("SELECT CustomerID, CustomerName FROM Customer ORDER BY CustomerID LIMIT 2;")?;
        p.exp_string("-[ RECORD 1 ]")?;
        p.exp_regex("CustomerID +\\| C000001")?;
        p.exp_string("-[ RECORD 2 ]")?;
        p.exp_string("2 rows in")?;
        p.send_line("\\x off")?;
        p.exp_string("Expanded display is off.")?;
        p.send_line("SELECT CustomerID FROM Customer ORDER BY CustomerID LIMIT 1;")?;
        let table = p.exp_string("1 row in")?;
        // (rexpect reads bytes as Latin-1: the box characters are not `│` here.)
        assert!(
            table.contains(" C000001 ") && !table.contains("RECORD"),
            "{table}"
        );
        // Automatic: a whole customer is wider than 100 columns.
        p.send_line("\\x auto")?;
        p.exp_string("Expanded display is used automatically.")?;
        p.send_line("SELECT * FROM Customer ORDER BY CustomerID LIMIT 1;")?;
        p.exp_string("-[ RECORD 1 ]")?;
        p.exp_regex("CustomerID +\\| C000001")?;
        p.exp_string("acusql> ")?;
        // 40 rows do not fit 30 lines: the pager shows them.
        p.send_line("\\x off")?;
        p.exp_string("acusql> ")?;
        p.send_line("SELECT CustomerID FROM Customer ORDER BY CustomerID LIMIT 40;")?;
        p.exp_regex("paged: [^\n]* C000040 ")?;
        p.exp_string("paged: 40 rows in")?;
        p.exp_string("acusql> ")?;
        // What fits is printed as it is.
        p.send_line("SELECT CustomerID FROM Customer ORDER BY CustomerID LIMIT 3;")?;
        let short = p.exp_string("3 rows in")?;
        assert!(!short.contains("paged:"), "{short}");
        p.send_line("\\pset pager off")?;
        p.exp_string("Pager is off.")?;
        p.send_line("SELECT CustomerID FROM Customer ORDER BY CustomerID LIMIT 40;")?;
        let long = p.exp_string("40 rows in")?;
        assert!(
            long.contains("C000040") && !long.contains("paged:"),
            "{long}"
        );
        p.send_line("\\q")?;
        p.exp_eof()?;
        Ok(())
    })
    .await;
}

/// SIGTERM while someone reads a result in the pager: the pager is ended, the session signed
/// out, and acusql exits with 143 at once (not when the pager is quit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_the_pager_runs_ends_it_and_signs_out() {
    let sim = std::sync::Arc::new(sim().await);
    let conn = connect(&sim);
    in_terminal(move || {
        let mut p = sized_terminal(&conn, &[("PAGER", "echo pager-up; exec sleep 600")])?;
        p.exp_string("acusql> ")?;
        p.send_line("\\pset pager always")?;
        p.exp_string("Pager is always used.")?;
        p.send_line("SELECT 1 AS one;")?;
        p.exp_string("pager-up")?;
        p.process_mut().signal(rexpect::process::Signal::SIGTERM)?;
        p.exp_string("terminated (SIGTERM)")?;
        p.exp_eof()?;
        let status = p.process().wait()?;
        assert!(
            matches!(status, rexpect::process::WaitStatus::Exited(_, 143)),
            "{status:?}"
        );
        Ok(())
    })
    .await;
    assert_eq!(sim.stats().open_sessions, 0, "signed out");
}

/// `\d` of an inquiry whose name has a space, `\d+` of an entity, and completion after
/// `gi.` offering only inquiries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repl_describe_quoted_names_and_complete_after_gi() {
    let sim = sim().await;
    let conn = connect(&sim);
    in_terminal(move || {
        let mut p = sized_terminal(&conn, &[])?;
        p.exp_string("acusql> ")?;
        p.send_line("\\d gi.\"Customer Contacts\"")?;
        p.exp_string("ContactID")?;
        p.exp_string("Generic inquiry \"Customer Contacts\" (OData)")?;
        p.exp_string("Keys: CustomerID, ContactID")?;
        p.exp_string("acusql> ")?;
        p.send_line("\\d+ SalesOrder")?;
        p.exp_string("Keys: OrderType, OrderNbr")?;
        p.exp_string("Detail tables: SalesOrder_Details")?;
        p.exp_string("Linked entities: ")?;
        p.exp_string("Actions: ")?;
        p.exp_string("acusql> ")?;
        // Two tabs list what may follow `gi.`: the inquiries, nothing else.
        p.send("SELECT COUNT(*) AS n FROM gi.")?;
        p.send("\t")?;
        p.send("\t")?;
        p.flush()?;
        // Listed in order: the last one ends the list.
        let listed = p.exp_string("gi.OpenSalesOrderLines")?;
        for inquiry in [
            "gi.CustomerBalance",
            "gi.\"Customer Contacts\"",
            "gi.InventoryOnHand",
        ] {
            assert!(listed.contains(inquiry), "{inquiry} in {listed}");
        }
        assert!(!listed.contains("SalesOrder_Details"), "{listed}");
        // A quoted name completes with its closing quote.
        p.send("\"Customer Con")?;
        p.send("\t")?;
        p.send_line(";")?;
        p.exp_string("FROM gi.\"Customer Contacts\"")?;
        p.exp_string(" 200 ")?;
        p.exp_string("1 row in")?;
        p.send_line("\\q")?;
        p.exp_eof()?;
        Ok(())
    })
    .await;
}

/// The Python Flight SQL clients (`tests/python`, pytest) against `acusql serve --demo`.
/// Skipped, saying so, where the Python packages are not installed; required in CI.
#[test]
fn python_flight_clients() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let probe = Command::new("python3")
        .args([
            "-c",
            "import pytest, pyarrow, adbc_driver_flightsql, pandas, polars",
        ])
        .output();
    let available = probe.map(|o| o.status.success()).unwrap_or(false);
    if !available {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install tests/python/requirements.txt (see .ci/run)"
        );
        eprintln!(
            "skipped: Python Flight SQL tests need `pip install -r tests/python/requirements.txt`"
        );
        return;
    }
    let out = Command::new("python3")
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/python",
        ])
        .current_dir(&root)
        .env("ACUSQL_BIN", env!("CARGO_BIN_EXE_acusql"))
        .output()
        .expect("pytest runs");
    assert!(
        out.status.success(),
        "pytest failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The REPL through a pseudo-terminal: a multi-line statement, completion, `\d`, and Ctrl-C
/// cancelling a slow scan without leaving the shell.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repl_multiline_completion_describe_and_ctrl_c() {
    let sim = std::sync::Arc::new(
        acumatica_sim::start(SimConfig {
            latency: std::time::Duration::from_millis(1500),
            ..SimConfig::default()
        })
        .await
        .unwrap(),
    );
    let conn = connect(&sim);
    let s = sim.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<(), rexpect::error::Error> {
        let mut cmd = acusql();
        cmd.args(["--connect", &conn]);
        let mut p = rexpect::session::spawn_command(cmd, Some(30_000))?;
        // One line says where the shell is connected (never a password).
        let banner = p.exp_string("acusql> ")?;
        assert!(
            banner.contains("tenant Company, as admin, endpoint Default/24.200.001"),
            "{banner}"
        );
        assert!(!banner.contains("demo"), "{banner}");
        // A statement over two lines runs when the `;` arrives; the second line's prompt
        // shows that input continues. Both lines are sent at once, as a paste would.
        p.send_line("SELECT 40 +")?;
        p.send_line("2 AS answer;")?;
        p.exp_string("acusql-> ")?;
        p.exp_string("answer")?;
        p.exp_string("42")?;
        p.exp_string("acusql> ")?;
        // Tab completes a table name.
        p.send("\\d SalesOrder_Det")?;
        p.send("\t")?;
        p.send_line("")?;
        p.exp_string("InventoryID")?;
        p.exp_string("acusql> ")?;
        // Ctrl-C cancels the running query, not the shell.
        let before = s.stats().received;
        p.send_line("SELECT COUNT(*) FROM SalesOrder_Details;")?;
        wait_until("the scan's first requests reach the server", || {
            s.stats().received > before
        });
        p.send_control('c')?;
        p.exp_string("query cancelled")?;
        p.send_line("SELECT 'still here' AS s;")?;
        p.exp_string("still here")?;
        p.send_line("\\q")?;
        p.exp_eof()?;
        Ok(())
    })
    .await
    .unwrap();
    result.expect("REPL session");
}

/// Waits until `done` holds, polling the simulator's state (never a fixed sleep): fails after
/// 30 s with what was awaited.
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done() {
        assert!(std::time::Instant::now() < until, "timed out: {what}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A one-shot scan of the big detail table, under way on a slow simulator.
fn slow_scan(sim: &SimHandle) -> std::process::Child {
    acusql()
        .args([
            "--connect",
            &connect(sim),
            "-c",
            "SELECT COUNT(*) FROM SalesOrder_Details",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn kill(child: &std::process::Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Ctrl-C in the shell: a running query is cancelled within a second and its requests stop;
/// at the prompt it discards the line, and on an empty line pressed twice it quits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repl_ctrl_c_cancels_at_once_and_quits_only_twice_on_an_empty_line() {
    let sim = std::sync::Arc::new(
        acumatica_sim::start(SimConfig {
            scale: 3,
            latency: std::time::Duration::from_millis(700),
            ..SimConfig::default()
        })
        .await
        .unwrap(),
    );
    let conn = connect(&sim);
    let s = sim.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<(), rexpect::error::Error> {
        let mut cmd = acusql();
        cmd.args(["--connect", &conn]);
        let mut p = rexpect::session::spawn_command(cmd, Some(30_000))?;
        p.exp_string("acusql> ")?;
        p.send_line("SELECT COUNT(*) FROM SalesOrder_Details;")?;
        // Under way: its first page requests have reached the server.
        wait_until("the scan's first requests reach the server", || {
            s.stats().in_flight > 0
        });
        let pressed = std::time::Instant::now();
        p.send_control('c')?;
        p.exp_string("query cancelled")?;
        p.exp_string("acusql> ")?;
        let took = pressed.elapsed();
        assert!(took < std::time::Duration::from_secs(1), "took {took:?}");
        // No request of the cancelled scan reaches the server afterwards: once the requests
        // that were in flight have ended, a statement that itself waits on the server (its
        // latency is the window) is the only one the server hears from.
        wait_until("the cancelled scan's requests end", || {
            s.stats().in_flight == 0
        });
        s.clear_request_log();
        p.send_line("SELECT COUNT(*) FROM Customer;")?;
        p.exp_string("count(*)")?;
        p.exp_string("acusql> ")?;
        let after: Vec<String> = s.request_log().into_iter().map(|r| r.url).collect();
        assert!(
            after.iter().all(|u| !u.contains("SalesOrder")),
            "requests stopped: {after:?}"
        );
        // Ctrl-C on a line being typed discards it; the shell stays.
        p.send("SELECT 'half")?;
        p.send_control('c')?;
        p.exp_string("acusql> ")?;
        p.send_line("SELECT 'still here' AS s;")?;
        p.exp_string("still here")?;
        p.exp_string("acusql> ")?;
        // On an empty line: the first Ctrl-C says how to quit, the second quits.
        p.send_control('c')?;
        p.exp_string("press Ctrl-C again to quit")?;
        p.send_control('c')?;
        p.exp_eof()?;
        Ok(())
    })
    .await
    .unwrap();
    result.expect("REPL session");
    assert_eq!(sim.stats().open_sessions, 0, "signed out");
}

/// SIGTERM while the shell waits at its prompt (line editor in raw mode): the terminal gets
/// its modes back (echo and line editing on), and the session is signed out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_at_the_prompt_restores_the_terminal() {
    let sim = std::sync::Arc::new(sim().await);
    let conn = connect(&sim);
    let url = sim.base_url().to_string();
    let result = tokio::task::spawn_blocking(move || -> Result<(String, String), rexpect::error::Error> {
        let mut cmd = Command::new("sh");
        let home = std::env::temp_dir().join("acusql-test-home");
        cmd.env("HOME", &home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("ACUSQL_BIN", env!("CARGO_BIN_EXE_acusql"))
            .env("ACUSQL_CONN", &conn)
            .args([
                "-c",
                "stty -a; echo before-acusql; \"$ACUSQL_BIN\" --connect \"$ACUSQL_CONN\"; echo \"exit=$?\"; stty -a",
            ]);
        let mut p = rexpect::session::spawn_command(cmd, Some(30_000))?;
        let before = p.exp_string("before-acusql")?;
        p.exp_string("acusql> ")?;
        // Only acusql's command line holds the expanded URL (the shell's holds `$ACUSQL_CONN`).
        let children = Command::new("pgrep")
            .args(["-f", &url])
            .output()
            .expect("pgrep");
        let pid = String::from_utf8_lossy(&children.stdout).trim().to_string();
        assert!(!pid.is_empty(), "acusql's pid");
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
        p.exp_string("exit=143")?;
        let after = p.exp_eof()?;
        Ok((before, after))
    })
    .await
    .unwrap();
    let (before, after) = result.expect("shell session");
    // The local modes (echo, canonical input, signals) as they were before acusql ran.
    let flags = |text: &str| -> Vec<String> {
        text.split_whitespace()
            .filter(|w| {
                let w = w.trim_start_matches('-');
                matches!(w, "echo" | "icanon" | "isig" | "iexten" | "icrnl" | "opost")
            })
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        flags(&after),
        flags(&before),
        "modes restored:\n{before}\n{after}"
    );
    assert!(!flags(&before).is_empty(), "{before}");
    assert_eq!(sim.stats().open_sessions, 0, "signed out");
}

/// A signal to a one-shot run during its scan: the run ends with the signal's exit code and one
/// line on stderr, after signing out.
async fn signal_during_a_scan(signal: &str, code: i32, line: &str) {
    let sim = acumatica_sim::start(SimConfig {
        scale: 5,
        latency: std::time::Duration::from_millis(300),
        ..Default::default()
    })
    .await
    .unwrap();
    let child = slow_scan(&sim);
    tokio::task::block_in_place(|| {
        wait_until("the scan is under way", || {
            let stats = sim.stats();
            stats.open_sessions == 1 && stats.in_flight > 0
        })
    });
    kill(&child, signal);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(code), "{signal}: {}", stderr(&out));
    assert_eq!(stderr(&out).trim(), line, "{signal}: one line");
    assert_eq!(sim.stats().open_sessions, 0, "{signal}: signed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_during_a_scan_signs_out_and_exits_130() {
    signal_during_a_scan("-INT", 130, "interrupted (SIGINT)").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_scan_signs_out_and_exits_143() {
    signal_during_a_scan("-TERM", 143, "terminated (SIGTERM)").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_during_a_scan_signs_out_and_exits_129() {
    signal_during_a_scan("-HUP", 129, "hung up (SIGHUP)").await;
}

/// Signals at arbitrary points of a one-shot run (before, during and after sign-in, during the
/// scan): whatever the moment, no API session is left open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_at_any_moment_leave_no_session_open() {
    let sim = acumatica_sim::start(SimConfig {
        scale: 2,
        latency: std::time::Duration::from_millis(100),
        ..Default::default()
    })
    .await
    .unwrap();
    // A fixed pseudo-random sequence of moments (reproducible), 0–900 ms after start.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for signal in ["-INT", "-TERM", "-HUP"] {
        for _ in 0..4 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let delay = std::time::Duration::from_millis(x % 900);
            let child = slow_scan(&sim);
            tokio::time::sleep(delay).await;
            kill(&child, signal);
            let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
                .await
                .unwrap();
            assert_eq!(
                sim.stats().open_sessions,
                0,
                "{signal} after {delay:?} left a session open: {}",
                stderr(&out)
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_after_sign_in_still_signs_out() {
    let sim = sim().await;
    let out = run(
        acusql().args([
            "--connect",
            &format!("{};EndpointVersion=99.999.999", connect(&sim)),
            "-c",
            "SELECT 1",
        ]),
        None,
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("99.999.999"), "{}", stderr(&out));
    assert!(sim.stats().logins >= 1, "it did sign in");
    assert_eq!(sim.stats().open_sessions, 0, "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_connection_is_an_error_never_the_demo() {
    let out = run(acusql().args(["-c", "SELECT COUNT(*) FROM Customer"]), None);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("no Acumatica connection configured"), "{err}");
    for way in ["--connect", "ACUMATICA_URL", "--profile", "--demo"] {
        assert!(err.contains(way), "names {way}: {err}");
    }
    assert!(!err.contains("Connected to a simulated"), "{err}");
    assert!(stdout(&out).is_empty(), "no rows: {}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_can_fail_without_the_server_fails_before_signing_in() {
    let sim = sim().await;
    // A script that cannot be read.
    let out = run(
        acusql().args(["--connect", &connect(&sim), "-f", "/nonexistent/report.sql"]),
        None,
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot read /nonexistent/report.sql"),
        "{}",
        stderr(&out)
    );
    // No password, and no terminal to ask on.
    let no_password = connect(&sim).replace(";Password=demo", "");
    let out = run(
        acusql().args(["--connect", &no_password, "-c", "SELECT 1"]),
        None,
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no password and no terminal to ask on"),
        "{}",
        stderr(&out)
    );
    assert_eq!(sim.stats().logins, 0, "no sign-in request was sent");
    assert!(sim.request_log().is_empty(), "{:?}", sim.request_log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_that_would_need_a_browser_fails_at_once() {
    let sim = sim().await;
    let app = acumatica_sim::OAuthApp::default();
    let dir = tempfile::tempdir().unwrap();
    let conn = format!(
        "Url={};AuthScheme=OAuth;OAuthClientId={};OAuthClientSecret={};CallbackURL=http://127.0.0.1:1/;OAuthSettingsLocation={}",
        sim.base_url(),
        app.client_id,
        app.client_secret,
        dir.path().join("tokens.json").display()
    );
    let started = std::time::Instant::now();
    let out = run(acusql().args(["--connect", &conn, "-c", "SELECT 1"]), None);
    assert!(!out.status.success());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "no waiting for a browser"
    );
    let err = stderr(&out);
    assert!(
        err.contains("acusql login") && err.contains("OAuthVerifier"),
        "{err}"
    );
    assert!(
        !err.contains("/identity/connect/authorize"),
        "no sign-in URL: {err}"
    );
}

/// A token belongs to the user (and password) that obtained it: another user, or a wrong
/// password, never runs with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_password_tokens_serve_only_their_own_user() {
    let sim = sim().await;
    let app = acumatica_sim::OAuthApp::default();
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.json");
    let conn = |user: &str, password: &str| {
        format!(
            "Url={};AuthScheme=OAuthPassword;User={user};Password={password};OAuthClientId={};OAuthClientSecret={};OAuthSettingsLocation={}",
            sim.base_url(),
            app.client_id,
            app.client_secret,
            tokens.display()
        )
    };
    let query = |c: String| {
        run(
            acusql().args(["--connect", &c, "--format", "csv", "-c", "SELECT 1 AS one"]),
            None,
        )
    };
    let out = query(conn("admin", "demo"));
    assert!(out.status.success(), "{}", stderr(&out));
    let issued = sim.stats().tokens_issued;
    let out = query(conn("admin", "demo"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        sim.stats().tokens_issued,
        issued,
        "the owner reuses the token"
    );
    for (user, password) in [("admin", "wrong"), ("someone", "demo")] {
        let out = query(conn(user, password));
        assert!(
            !out.status.success(),
            "{user}/{password} must not run with admin's token: {}",
            stdout(&out)
        );
        assert!(
            stderr(&out).contains("sign-in") || stderr(&out).contains("refused"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(sim.stats().open_sessions, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_stores_tokens_that_later_runs_reuse() {
    use std::io::BufRead;
    let sim = sim().await;
    let app = acumatica_sim::OAuthApp::default();
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.json");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conn = format!(
        "Url={};AuthScheme=OAuth;OAuthClientId={};OAuthClientSecret={};CallbackURL=http://127.0.0.1:{port}/;OAuthSettingsLocation={}",
        sim.base_url(),
        app.client_id,
        app.client_secret,
        tokens.display()
    );
    let mut child = acusql()
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .args(["--connect", &conn, "login"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let url = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(err.read_line(&mut line).unwrap() > 0, "no URL printed");
            if let Some(i) = line.find("http://") {
                return (line[i..].trim().to_string(), err);
            }
        }
    })
    .await
    .unwrap();
    let (url, mut err) = url;
    assert!(url.contains("/identity/connect/authorize?"), "{url}");
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    // Play the browser.
    let b = reqwest::Client::new();
    let Ok(acumatica_sim::browser::SignIn::Redirect(location)) =
        acumatica_sim::browser::sign_in(&url, "admin", "demo").await
    else {
        panic!("sign-in failed");
    };
    let page = b.get(&location).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Signed in"), "{page}");
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    assert!(status.success(), "{rest}");
    assert!(rest.contains("Tokens stored in"), "{rest}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&tokens).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(sim.stats().open_sessions, 0);
    let issued = sim.stats().tokens_issued;
    let out = run(
        acusql().args([
            "--connect",
            &format!("{conn};InitiateOAuth=REFRESH"),
            "--format",
            "csv",
            "-c",
            "SELECT COUNT(*) AS n FROM Customer",
        ]),
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "n\n200\n");
    assert_eq!(sim.stats().tokens_issued, issued, "stored token reused");
    assert_eq!(sim.stats().open_sessions, 0);
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&tokens).unwrap()).unwrap();
    for key in ["access_token", "refresh_token"] {
        let t = stored[key].as_str().unwrap();
        assert!(
            !stderr(&out).contains(t) && !rest.contains(t),
            "{key} printed"
        );
    }
}

/// Logs at every level show no password, client secret, session cookie or token, and no colour
/// codes when stderr is not a terminal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_at_every_level_hold_no_secrets_or_colour_codes() {
    let password = "Pw-hunter2-secret";
    let sim = acumatica_sim::start(SimConfig {
        password: password.into(),
        ..Default::default()
    })
    .await
    .expect("simulator starts");
    let app = acumatica_sim::OAuthApp::default();
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.json");
    let basic = format!(
        "AuthScheme=Basic;Url={};User=admin;Password={password};Company=Company",
        sim.base_url()
    );
    let oauth = format!(
        "AuthScheme=OAuthPassword;Url={};User=admin;Password={password};Company=Company;OAuthClientId={};OAuthClientSecret={};OAuthSettingsLocation={}",
        sim.base_url(),
        app.client_id,
        app.client_secret,
        tokens.display()
    );
    // (connection, ACUSQL_LOG, extra flag)
    let runs = [
        (&basic, Some("trace"), None),
        (&basic, None, Some("-vvv")),
        // A more specific directive cannot bring the cookie log back.
        (
            &basic,
            Some("cookie_store::cookie_store=trace,acusql=debug"),
            None,
        ),
        (&oauth, Some("trace"), None),
        (&oauth, None, Some("-vvv")),
    ];
    for (conn, log, flag) in runs {
        let mut cmd = acusql();
        if let Some(level) = log {
            cmd.env("ACUSQL_LOG", level);
        }
        cmd.args(flag);
        cmd.args([
            "--connect",
            conn.as_str(),
            "--format",
            "csv",
            "-c",
            "SELECT CustomerID FROM Customer WHERE CustomerID = 'ABARTENDE' LIMIT 1",
        ]);
        let out = run(&mut cmd, None);
        let err = stderr(&out);
        let what = format!("{:?} {log:?} {flag:?}", &conn[..25]);
        assert!(out.status.success(), "{what}: {err}");
        if log != Some("cookie_store::cookie_store=trace,acusql=debug") {
            assert!(err.contains("TRACE"), "{what}: trace logging was captured");
        }
        let mut secrets = vec![
            password.to_string(),
            app.client_secret.clone(),
            ".ASPXAUTH".into(),
            "ASP.NET_SessionId".into(),
            "access_token".into(),
            "refresh_token".into(),
        ];
        if conn == &oauth {
            let stored: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&tokens).unwrap()).unwrap();
            for key in ["access_token", "refresh_token"] {
                secrets.push(stored[key].as_str().unwrap().to_string());
            }
        }
        for secret in &secrets {
            assert!(
                !err.contains(secret.as_str()),
                "{what}: {secret} in the log"
            );
        }
        assert!(!err.contains("\u{1b}["), "{what}: colour codes in the log");
    }
    assert_eq!(sim.stats().open_sessions, 0);
}

/// The metadata cache: a second one-shot run sends its sign-in, its one data request and its
/// sign-out, and nothing else (issue 17).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_sends_only_sign_in_its_data_request_and_sign_out() {
    let sim = sim().await;
    let cache = tempfile::tempdir().unwrap();
    let conn = format!(
        "{};MetadataCache={}",
        connect(&sim),
        cache.path().join("metadata").display()
    );
    let query = [
        "--connect",
        &conn,
        "--format",
        "csv",
        "-c",
        "SELECT COUNT(*) FROM Customer",
    ];
    let first = run(acusql().args(query), None);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        sim.request_log()
            .iter()
            .any(|r| r.url.ends_with("swagger.json")),
        "the first run reads swagger.json"
    );
    sim.clear_request_log();
    let second = run(acusql().args(query), None);
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(stdout(&first), stdout(&second));
    assert_eq!(
        sim.request_lines(),
        [
            "POST /entity/auth/login",
            "GET /entity/Default/24.200.001/Customer",
            "POST /entity/auth/logout"
        ],
        "second run"
    );
    // `acusql cache clear` empties it: the next run reads swagger.json again.
    let dir = cache.path().join("metadata");
    let cleared = run(
        acusql()
            .env("ACUMATICA_METADATACACHE", &dir)
            .args(["cache", "clear"]),
        None,
    );
    assert!(cleared.status.success(), "{}", stderr(&cleared));
    assert!(
        stdout(&cleared).starts_with("Removed 1 cached metadata document from"),
        "{}",
        stdout(&cleared)
    );
    sim.clear_request_log();
    let third = run(acusql().args(query), None);
    assert!(third.status.success(), "{}", stderr(&third));
    assert!(
        sim.request_log()
            .iter()
            .any(|r| r.url.ends_with("swagger.json")),
        "read again after clearing"
    );
}

/// `GET <endpoint>/<path>` with a sign-in of its own (not acusql's): the status and body.
async fn plain_get(sim: &SimHandle, path: &str) -> (u16, String) {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = http
        .post(format!("{}/entity/auth/login", sim.base_url()))
        .header("Content-Type", "application/json")
        .body(r#"{"name":"admin","password":"demo","company":"Company"}"#)
        .send()
        .await
        .unwrap();
    assert!(login.status().is_success());
    let r = http
        .get(format!(
            "{}/entity/Default/24.200.001/{path}",
            sim.base_url()
        ))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body = r.text().await.unwrap();
    let _ = http
        .post(format!("{}/entity/auth/logout", sim.base_url()))
        .send()
        .await;
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_from_the_shell_print_their_count_and_guards_refuse_in_one_line() {
    let sim = sim().await;
    let conn = connect(&sim);
    let out = run(
        acusql().args([
            "--connect",
            &conn,
            "--format",
            "csv",
            "-c",
            "INSERT INTO Customer (CustomerID, CustomerName) VALUES ('SHELL1', 'From the shell')",
        ]),
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().collect::<Vec<_>>(), ["count", "1"]);
    let (status, body) = plain_get(&sim, "Customer/SHELL1").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("From the shell"), "{body}");

    for (extra, sql, expected) in [
        (
            ";ReadOnly=true",
            "DELETE FROM Customer WHERE CustomerID = 'SHELL1'",
            "the connection is read-only (ReadOnly=true)",
        ),
        (
            "",
            "DELETE FROM Customer",
            "DELETE without WHERE would change every record of Customer",
        ),
        (
            "",
            "INSERT INTO Customer (CustomerID) VALUES ('SHELL2'), ('SHELL1')",
            "stopped at record 2 of 2 (CustomerID=SHELL1): 1 record(s) changed before it stay changed",
        ),
    ] {
        let out = run(
            acusql().args(["--connect", &format!("{conn}{extra}"), "-c", sql]),
            None,
        );
        assert!(!out.status.success(), "{sql}");
        let err = stderr(&out);
        assert!(err.contains(expected), "{sql}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    assert_eq!(plain_get(&sim, "Customer/SHELL1").await.0, 200);
    assert_eq!(plain_get(&sim, "Customer/SHELL2").await.0, 200);

    // An action as a procedure.
    let out = run(
        acusql().args([
            "--connect",
            &conn,
            "--format",
            "csv",
            "-c",
            "CALL SalesOrder.CancelSalesOrder(OrderType => 'SO', OrderNbr => 'SO000012')",
        ]),
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_stdout_has(&out, "SalesOrder,CancelSalesOrder,completed");
    let (_, body) = plain_get(&sim, "SalesOrder/SO/SO000012").await;
    assert!(body.contains("\"Canceled\""), "{body}");
    assert_eq!(sim.stats().open_sessions, 0);
}

/// The simulator's request log as `METHOD /path` lines, then emptied.
fn requests_sent(sim: &SimHandle) -> Vec<String> {
    let lines = sim.request_lines();
    sim.clear_request_log();
    lines
}

/// `acusql --connect <conn> <args>` with its metadata cache in `dir` (warm once a run has
/// read the metadata).
fn run_cached(dir: &std::path::Path, conn: &str, args: &[&str]) -> Output {
    run(
        acusql()
            .env("ACUMATICA_METADATACACHE", dir)
            .args(["--connect", conn])
            .args(args),
        None,
    )
}

/// The output of a run that must succeed.
fn succeeded(out: Output) -> Output {
    assert!(out.status.success(), "{}", stderr(&out));
    out
}

/// Sign-in waits for the first request that needs a session (issue 17): help, `EXPLAIN`, a
/// syntax error or a missing script send nothing once the metadata is cached, and however
/// many statements run, one sign-in and one sign-out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_waits_for_the_first_request_that_needs_it() {
    let sim = sim().await;
    let cache = tempfile::tempdir().unwrap();
    let conn = connect(&sim);
    let explain = "EXPLAIN SELECT CustomerID FROM Customer WHERE CustomerID = 'C000001'";
    // Cold: downloading swagger.json needs a session, so planning signs in; EXPLAIN says
    // where the metadata came from.
    let out = succeeded(run_cached(cache.path(), &conn, &["-c", explain]));
    assert_stdout_has(&out, "Metadata: swagger.json from the server.");
    assert_eq!(
        requests_sent(&sim),
        [
            "POST /entity/auth/login",
            "GET /entity/Default/24.200.001/swagger.json",
            "POST /entity/auth/logout"
        ]
    );
    // Warm: nothing at all.
    let out = succeeded(run_cached(cache.path(), &conn, &["-c", explain]));
    assert_stdout_has(&out, "Metadata: swagger.json from the metadata cache (");
    assert_stdout_has(&out, "$filter=CustomerID%20eq%20%27C000001%27");
    assert_eq!(requests_sent(&sim), Vec::<String>::new(), "EXPLAIN");
    for (args, succeeds) in [
        (vec!["-c", "\\?"], true),
        (vec!["-c", "help"], true),
        (vec!["-c", "SELEC CustomerID FROM Customer"], false),
        (vec!["-c", "SELECT 1 + 1"], true),
        (vec!["-f", "/nonexistent/missing.sql"], false),
    ] {
        let out = run_cached(cache.path(), &conn, &args);
        assert_eq!(out.status.success(), succeeds, "{args:?}: {}", stderr(&out));
        assert_eq!(requests_sent(&sim), Vec::<String>::new(), "{args:?}");
    }
    // `-v` says that the cache answered.
    let out = succeeded(run_cached(cache.path(), &conn, &["-v", "-c", "SELECT 1"]));
    assert!(
        stderr(&out).contains("swagger.json: from the metadata cache"),
        "{}",
        stderr(&out)
    );
    // Three statements that need data: one sign-in, one sign-out.
    let out = succeeded(run_cached(
        cache.path(),
        &conn,
        &[
            "--format",
            "csv",
            "-c",
            "SELECT COUNT(*) FROM Customer WHERE CustomerID = 'C000001'; \
             SELECT COUNT(*) FROM Customer WHERE CustomerID = 'C000002'",
            "-c",
            "SELECT COUNT(*) FROM Customer WHERE CustomerID = 'C000003'",
        ],
    ));
    assert_eq!(
        stdout(&out).matches("count(*)\n1\n").count(),
        3,
        "{}",
        stdout(&out)
    );
    let get = "GET /entity/Default/24.200.001/Customer";
    assert_eq!(
        requests_sent(&sim),
        [
            "POST /entity/auth/login",
            get,
            get,
            get,
            "POST /entity/auth/logout"
        ]
    );
    assert_eq!(sim.stats().open_sessions, 0);
}

/// `\refresh` reads swagger.json again (the cached copy replaced) and rebuilds the catalog.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_reads_the_metadata_again_and_says_so() {
    let sim = sim().await;
    let cache = tempfile::tempdir().unwrap();
    let conn = connect(&sim);
    let count = "SELECT COUNT(*) FROM Customer WHERE CustomerID = 'C000001'";
    succeeded(run_cached(cache.path(), &conn, &["-c", count]));
    sim.clear_request_log();
    let out = succeeded(run_cached(
        cache.path(),
        &conn,
        &["--format", "csv", "-c", "\\refresh", "-c", count],
    ));
    let text = stdout(&out);
    assert!(
        text.contains("Catalog rebuilt: swagger.json from the server, ")
            && text.contains(" tables in rest.")
            && text.contains("Dropped 1 document from the metadata cache.")
            && text.contains("gi and dac feeds read their $metadata again when next used"),
        "{text}"
    );
    assert!(text.ends_with("count(*)\n1\n"), "{text}");
    assert_eq!(
        requests_sent(&sim),
        [
            "POST /entity/auth/login",
            "GET /entity/Default/24.200.001/swagger.json",
            "GET /entity/Default/24.200.001/Customer",
            "POST /entity/auth/logout"
        ]
    );
    // The fresh copy is cached for the next run.
    succeeded(run_cached(cache.path(), &conn, &["-c", count]));
    assert!(
        !requests_sent(&sim)
            .iter()
            .any(|r| r.ends_with("swagger.json")),
        "served from the cache"
    );
}

/// A field the cached schema has but the server no longer knows: the metadata is read again
/// once by itself, the statement planned again against it, and what is then wrong reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_the_server_no_longer_knows_refreshes_the_metadata_once() {
    let sim = sim().await;
    let cache = tempfile::tempdir().unwrap();
    let conn = connect(&sim);
    let by_email = "SELECT CustomerID FROM Customer WHERE Email = 'nobody@example.com'";
    succeeded(run_cached(cache.path(), &conn, &["-c", by_email]));
    // A customisation takes Email out of the endpoint; the cached swagger.json still has it.
    assert!(sim.remove_member("Default", "24.200.001", "Customer", "Email"));
    sim.clear_request_log();
    let out = run_cached(cache.path(), &conn, &["-c", by_email]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("The field 'Email' is not found in the entity 'Customer'")
            && err.contains("no longer knows part of the metadata"),
        "says what happened: {err}"
    );
    assert!(
        err.lines().last().unwrap_or_default().contains("Email"),
        "then the planning error against the fresh schema: {err}"
    );
    let list = "GET /entity/Default/24.200.001/Customer";
    assert_eq!(
        requests_sent(&sim),
        [
            "POST /entity/auth/login",
            list,
            "GET /entity/Default/24.200.001/swagger.json",
            "POST /entity/auth/logout"
        ],
        "one refresh, no second request for the same data"
    );
    // The refreshed copy is what later runs plan with: the query fails at once, no request.
    let out = run_cached(cache.path(), &conn, &["-c", by_email]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("Email"), "{}", stderr(&out));
    assert_eq!(requests_sent(&sim), Vec::<String>::new());
    // Other queries on the table run as before.
    let out = succeeded(run_cached(
        cache.path(),
        &conn,
        &[
            "--format",
            "csv",
            "-c",
            "SELECT CustomerID FROM Customer WHERE CustomerID = 'C000001'",
        ],
    ));
    assert_eq!(stdout(&out), "CustomerID\nC000001\n");
}
