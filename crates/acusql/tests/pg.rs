//! `acusql serve --pg` as Postgres clients use it, over loopback against the demo company:
//! psql (`\dt`, `\d`, a join with GROUP BY equal to the in-process result), unixODBC's `isql`
//! with the PostgreSQL ODBC driver (a DSN in an odbc.ini written here: tables, columns,
//! rows), the Python clients (`tests/pg`: psycopg, pandas over SQLAlchemy, pyodbc), refusal
//! of an unauthenticated public address, and a clean stop with sign-out on SIGTERM.
//!
//! A client that is not installed is a skip with a message, except under CI=true.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Output, Stdio};

const USER: &str = "analyst";
const PASSWORD: &str = "pg-e2e-password";

fn acusql() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_acusql"));
    let home = std::env::temp_dir().join("acusql-test-home");
    cmd.env("HOME", &home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("ACUMATICA_URL")
        .env_remove("ACUMATICA_CONNECTION")
        .env_remove("ACUSQL_LOG")
        .env_remove("ACUSQL_PG_USER")
        .env_remove("ACUSQL_PG_PASSWORD");
    cmd
}

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

/// `acusql serve --demo --pg 127.0.0.1:0` with a user and password; stopped on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let mut child = acusql()
            .args(["serve", "--demo", "--pg", "127.0.0.1:0", "--pg-user", USER])
            .args(extra)
            .env("ACUSQL_PG_PASSWORD", PASSWORD)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("acusql serve starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut port = None;
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("PostgreSQL server listening on postgresql://") {
                port = rest.rsplit(':').next().and_then(|p| p.trim().parse().ok());
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        let Some(port) = port else {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "acusql serve did not start: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        Server { child, port }
    }

    /// SIGTERM, then the exit status and what it printed on stderr.
    fn stop(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            std::io::Read::read_to_string(&mut e, &mut stderr).unwrap();
        }
        let status = self.child.wait().unwrap();
        (status, stderr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn psql(port: u16, args: &[&str], script: &str) -> Output {
    let mut child = Command::new("psql")
        .args([
            "-X",
            "-w",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            USER,
        ])
        .args(["-d", "acumatica", "-v", "ON_ERROR_STOP=1"])
        .args(args)
        .env("PGPASSWORD", PASSWORD)
        .env("PGCONNECT_TIMEOUT", "10")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("psql starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn out(o: &Output) -> String {
    format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The same query in process (`acusql --demo --format csv`), as CSV lines.
fn in_process_csv(sql: &str) -> String {
    let o = acusql()
        .args(["--demo", "--quiet", "--format", "csv", "-c", sql])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const JOIN: &str = "SELECT c.CustomerID, c.CustomerName, COUNT(*) AS orders, SUM(o.OrderTotal) AS total \
     FROM SalesOrder o JOIN Customer c ON o.CustomerID = c.CustomerID \
     GROUP BY c.CustomerID, c.CustomerName ORDER BY c.CustomerID";

#[test]
fn psql_lists_describes_and_queries_like_the_shell() {
    if !have("psql", &["--version"]) {
        return;
    }
    let server = Server::start(&[]);
    let o = psql(
        server.port,
        &["-A", "-F", "|", "-P", "footer=off"],
        "\\dt\n\\dn\n\\d SalesOrder\n",
    );
    assert!(o.status.success(), "{}", out(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("rest|Customer|table"), "{text}");
    assert!(text.contains("rest|SalesOrder_Details|table"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("rest|")), "{text}");
    assert!(text.contains("OrderNbr|text"), "{text}");
    assert!(text.contains("OrderTotal|numeric"), "{text}");

    // A join with GROUP BY: the rows psql prints are the shell's rows.
    let o = psql(server.port, &["--csv"], &format!("{JOIN};\n"));
    assert!(o.status.success(), "{}", out(&o));
    let remote = String::from_utf8_lossy(&o.stdout).into_owned();
    let local = in_process_csv(JOIN);
    assert!(local.lines().count() > 2, "{local}");
    assert_eq!(remote, local);

    // A parameterised query: psql variables (interpolated by psql) and the server's own
    // parameters through PREPARE-free extended protocol are covered by the Python tests.
    let first = local
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_string();
    let o = psql(
        server.port,
        &["-A", "-t", "-v", &format!("cust={first}")],
        "SELECT COUNT(*) FROM SalesOrder WHERE CustomerID = :'cust';\n",
    );
    assert!(o.status.success(), "{}", out(&o));
    let count: String = String::from_utf8_lossy(&o.stdout).trim().to_string();
    let expected = local.lines().nth(1).unwrap().split(',').nth(2).unwrap();
    assert_eq!(count, expected);

    let (status, stderr) = server.stop();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("stopping"), "{stderr}");
}

#[test]
fn unauthenticated_public_address_is_refused_at_start() {
    let o = acusql()
        .args(["serve", "--demo", "--pg", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("without authentication"),
        "{}",
        out(&o)
    );
    let o = acusql()
        .args(["serve", "--demo", "--pg", "127.0.0.1:0", "--pg-user", "x"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("ACUSQL_PG_PASSWORD"),
        "{}",
        out(&o)
    );
}

#[test]
fn flight_and_pg_in_one_process() {
    if !have("psql", &["--version"]) {
        return;
    }
    let server = Server::start(&["--flight", "127.0.0.1:0"]);
    let o = psql(
        server.port,
        &["-A", "-t"],
        "SELECT COUNT(*) > 0 FROM Customer;\n",
    );
    assert!(o.status.success(), "{}", out(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "t");
    let (status, stderr) = server.stop();
    assert!(status.success(), "{stderr}");
}

/// The PostgreSQL ODBC driver through unixODBC's `isql`, with a DSN written here.
#[test]
fn odbc_isql_lists_tables_columns_and_fetches_rows() {
    if !have("isql", &["--version"]) || !have("odbcinst", &["-j"]) {
        return;
    }
    let Some(driver) = odbc_driver() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install odbc-postgresql"
        );
        eprintln!("skipped: the PostgreSQL ODBC driver (odbc-postgresql) is not installed");
        return;
    };
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    write_odbc_ini(dir.path(), &driver, server.port);
    let isql = |script: &str| {
        let mut child = Command::new("isql")
            .args(["-v", "-b", "-d|", "acusql", USER, PASSWORD])
            .env("ODBCSYSINI", dir.path())
            .env("ODBCINI", dir.path().join("odbc.ini"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("isql starts");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    // SQLTables, then SQLColumns.
    let o = isql("help\n");
    assert!(o.status.success(), "{}", out(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(text.contains("|rest|Customer|TABLE|"), "{text}");
    let o = isql("help SalesOrder\n");
    assert!(o.status.success(), "{}", out(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(text.contains("|SalesOrder|OrderNbr|"), "{text}");
    // SQLColumns: numeric with the precision and scale of the column (numeric(38,8)).
    assert!(
        text.contains("|SalesOrder|OrderTotal|2|numeric|38|"),
        "{text}"
    );
    let total = text
        .lines()
        .find(|l| l.contains("|SalesOrder|OrderTotal|"))
        .unwrap_or_default();
    assert_eq!(
        total.split('|').nth(8),
        Some("8"),
        "DECIMAL_DIGITS: {total}"
    );

    // Rows with their types: exact decimals, the same as in process.
    let sql = "SELECT CustomerID, COUNT(*) AS n, SUM(OrderTotal) AS total FROM SalesOrder GROUP BY CustomerID ORDER BY CustomerID LIMIT 5";
    let o = isql(&format!("{sql}\n"));
    assert!(o.status.success(), "{}", out(&o));
    let remote: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.matches('|').count() == 2 && !l.starts_with("CustomerID"))
        .map(|l| l.trim().to_string())
        .collect();
    let local: Vec<String> = in_process_csv(sql)
        .lines()
        .skip(1)
        .map(|l| l.replace(',', "|"))
        .collect();
    assert_eq!(remote, local, "{}", out(&o));
}

fn odbc_driver() -> Option<String> {
    [
        "/usr/lib/x86_64-linux-gnu/odbc",
        "/usr/lib/aarch64-linux-gnu/odbc",
        "/usr/lib64",
        "/usr/lib",
    ]
    .iter()
    .map(|d| std::path::Path::new(d).join("psqlodbcw.so"))
    .find(|p| p.exists())
    .map(|p| p.display().to_string())
}

fn write_odbc_ini(dir: &std::path::Path, driver: &str, port: u16) {
    std::fs::write(
        dir.join("odbcinst.ini"),
        format!("[PostgreSQL Unicode]\nDescription=PostgreSQL ODBC driver\nDriver={driver}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("odbc.ini"),
        format!(
            "[acusql]\nDriver=PostgreSQL Unicode\nServername=127.0.0.1\nPort={port}\nDatabase=acumatica\nSSLMode=disable\n"
        ),
    )
    .unwrap();
}

/// The Python Postgres clients (`tests/pg`, pytest): psycopg, pandas over SQLAlchemy, pyodbc.
#[test]
fn python_postgres_clients() {
    let probe = Command::new("python3")
        .args(["-c", "import pytest, psycopg, sqlalchemy, pandas"])
        .output();
    if !probe.map(|o| o.status.success()).unwrap_or(false) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install tests/python/requirements.txt (see .ci/run)"
        );
        eprintln!(
            "skipped: Python Postgres tests need `pip install -r tests/python/requirements.txt`"
        );
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let o = Command::new("python3")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/pg"])
        .current_dir(&root)
        .env("ACUSQL_BIN", env!("CARGO_BIN_EXE_acusql"))
        .output()
        .expect("pytest runs");
    assert!(o.status.success(), "pytest failed:\n{}", out(&o));
}
