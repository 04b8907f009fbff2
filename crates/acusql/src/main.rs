//! `acusql`: query Acumatica ERP with SQL.
//!
//! Runs SQL given with `-c`, from files (`-f`), from standard input, or interactively, against
//! an Acumatica instance or, with `--demo` (the default when nothing is configured), against an
//! embedded simulated company.

mod cli;
mod connect;
mod meta;
mod print;
mod repl;
mod serve;
mod shell;
mod split;

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use crate::cli::{Cli, Command};
use crate::shell::{Flow, Shell};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run(cli));
    // Give detached best-effort work (a logout on drop) a moment, then stop.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    code
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info,acusql=debug",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ACUSQL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Never shown, whatever ACUSQL_LOG asks (a more specific directive cannot re-enable them):
    // cookie_store logs every Set-Cookie (the session cookies) at DEBUG, and reqwest's verbose
    // connection log is raw traffic (cookies, Authorization).
    const SECRET_TARGETS: [&str; 2] = ["cookie_store", "reqwest::connect::verbose"];
    let no_secrets = tracing_subscriber::filter::filter_fn(|m| {
        !SECRET_TARGETS.iter().any(|t| {
            m.target()
                .strip_prefix(t)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
        })
    });
    use tracing_subscriber::filter::FilterExt;
    use tracing_subscriber::prelude::*;
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                // Colour codes only on a terminal: not in files, pipes or CI logs.
                .with_ansi(std::io::stderr().is_terminal())
                .with_filter(filter.and(no_secrets)),
        )
        .try_init();
}

/// Prints an error as one clean line (with its causes) and turns it into an exit code.
fn report(e: &anyhow::Error) -> ExitCode {
    eprintln!("error: {}", connect::describe_error(e));
    ExitCode::FAILURE
}

async fn run(cli: Cli) -> ExitCode {
    match &cli.command {
        Some(Command::Serve(args)) => {
            return match serve::run(&cli, args).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => report(&e),
            };
        }
        Some(Command::Login) => {
            return match connect::login(&cli).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => report(&e),
            };
        }
        None => {}
    }
    let mut terminate = Terminate::install();
    let session = match connect::open(&cli).await {
        Ok(s) => s,
        Err(e) => return report(&e),
    };
    let mut shell = Shell::new(
        session.ctx,
        session.conn.clone(),
        session.catalog,
        cli.format,
    );
    if cli.quiet {
        shell.timing = false;
    }
    // SIGTERM ends the run like Ctrl-C in a script: the statement stops, then we sign out.
    let outcome = tokio::select! {
        r = drive(&cli, &mut shell) => r,
        _ = terminate.wait() => Err(Interrupted.into()),
    };
    // Sign out on every exit path: the session is a licence seat.
    if let Err(e) = session.conn.close().await {
        tracing::warn!("sign-out failed: {e}");
    }
    drop(session.demo);
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<Interrupted>() => {
            eprintln!("interrupted");
            ExitCode::from(130)
        }
        Err(e) => report(&e),
    }
}

/// SIGTERM, caught from the start of the run (so a terminate during sign-in still ends with a
/// sign-out); never fires on other platforms.
struct Terminate {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Terminate {
    fn install() -> Self {
        Self {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok(),
        }
    }

    async fn wait(&mut self) {
        #[cfg(unix)]
        if let Some(s) = self.signal.as_mut() {
            s.recv().await;
            return;
        }
        std::future::pending::<()>().await
    }
}

/// Ctrl-C while a script runs: the statement is cancelled and acusql exits with status 130.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
struct Interrupted;

/// Runs `-c`/`-f`, then standard input when it is not a terminal, else the REPL.
async fn drive(cli: &Cli, shell: &mut Shell) -> Result<()> {
    if std::io::stdin().is_terminal() && cli.command_sql.is_empty() && cli.file.is_empty() {
        return interactive(shell).await;
    }
    tokio::select! {
        r = scripted(cli, shell) => r,
        _ = tokio::signal::ctrl_c() => Err(Interrupted.into()),
    }
}

async fn scripted(cli: &Cli, shell: &mut Shell) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    let scripted = !cli.command_sql.is_empty() || !cli.file.is_empty();
    for sql in &cli.command_sql {
        if shell.run_script(sql, &mut stdout).await? == Flow::Quit {
            return Ok(());
        }
    }
    for path in &cli.file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if shell
            .run_script(&text, &mut stdout)
            .await
            .with_context(|| path.display().to_string())?
            == Flow::Quit
        {
            return Ok(());
        }
    }
    if scripted {
        return Ok(());
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("cannot read standard input")?;
    shell.run_script(&text, &mut stdout).await?;
    Ok(())
}

/// The REPL. Line editing blocks, so it runs on a blocking thread; statements run here.
async fn interactive(shell: &mut Shell) -> Result<()> {
    let names = connect::completion_names(&shell.ctx).await;
    let (tx_line, mut rx_line) = tokio::sync::mpsc::channel::<repl::Input>(1);
    let (tx_ready, rx_ready) = std::sync::mpsc::channel::<Option<String>>();
    // The editor thread reads a statement, sends it, then waits until it ran.
    let editor = tokio::task::spawn_blocking(move || -> Result<()> {
        let mut rl = repl::editor(repl::ShellHelper::new(names))?;
        loop {
            let input = repl::read(&mut rl, "acusql> ")?;
            if let repl::Input::Line(line) = &input {
                repl::remember(&mut rl, line.trim());
            }
            let eof = matches!(input, repl::Input::Eof);
            if tx_line.blocking_send(input).is_err() || eof {
                return Ok(());
            }
            match rx_ready.recv() {
                Ok(Some(_)) | Err(_) => return Ok(()),
                Ok(None) => {}
            }
        }
    });
    println!("acusql — type \\? for help, \\q to quit. Statements end with ';'.");
    while let Some(input) = rx_line.recv().await {
        let line = match input {
            repl::Input::Line(l) => l,
            repl::Input::Interrupted => {
                let _ = tx_ready.send(None);
                continue;
            }
            repl::Input::Eof => break,
        };
        let mut out = std::io::stdout();
        let flow = tokio::select! {
            r = shell.run_script(&line, &mut out) => match r {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("error: {}", connect::describe_error(&e));
                    Flow::Continue
                }
            },
            _ = tokio::signal::ctrl_c() => {
                // Dropping the statement's future cancels its stream and HTTP requests.
                eprintln!("query cancelled");
                Flow::Continue
            }
        };
        let _ = out.flush();
        let quit = flow == Flow::Quit;
        let _ = tx_ready.send(quit.then(String::new));
        if quit {
            break;
        }
    }
    drop(tx_ready);
    editor.await.context("line editor stopped")??;
    Ok(())
}
