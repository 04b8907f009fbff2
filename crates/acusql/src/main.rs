//! `acusql`: query Acumatica ERP with SQL.
//!
//! Runs SQL given with `-c`, from files (`-f`), from standard input, or interactively, against
//! an Acumatica instance or, with `--demo` (only when asked for), against an embedded simulated
//! company.

mod catalog;
mod cli;
mod completion;
mod connect;
mod copy;
mod describe;
mod meta;
mod pager;
mod print;
mod repl;
mod serve;
mod shell;
mod signals;
mod split;

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;
use std::sync::{Arc, RwLock};

use anyhow::{Context, Result};
use clap::Parser;
use futures::FutureExt;

use crate::cli::{Cli, Command};
use crate::shell::{Flow, Shell};
use crate::signals::{Signal, Signals, TerminalModes};

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
    let code = runtime.block_on(async {
        // A panic unwinds through `run`, dropping its connection (which queues the sign-out);
        // it is reported as one line and the sign-out still completes below.
        let code = match std::panic::AssertUnwindSafe(run(cli)).catch_unwind().await {
            Ok(code) => code,
            Err(_) => {
                eprintln!("error: acusql stopped on an internal error (a bug: please report it)");
                ExitCode::from(101)
            }
        };
        // Sign-outs queued by dropped connections finish before the runtime stops (it would
        // drop them unfinished, leaving licence seats taken).
        acumatica_client::exit::settle(std::time::Duration::from_secs(5)).await;
        code
    });
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
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

fn outcome(r: Result<()>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

fn ended_by(signal: Signal) -> ExitCode {
    eprintln!("{}", signal.message());
    ExitCode::from(signal.exit_code())
}

/// How a run with a connection ended.
enum Ended {
    Done,
    Failed(anyhow::Error),
    Signal(Signal),
}

async fn run(cli: Cli) -> ExitCode {
    // From here on SIGINT, SIGTERM and SIGHUP end the run through the sign-out below instead
    // of killing the process with a licence seat taken.
    let mut signals = Signals::install();
    match &cli.command {
        Some(Command::Serve(args)) => return outcome(serve::run(&cli, args, signals).await),
        Some(Command::Cache(cli::CacheCommand::Clear)) => return outcome(connect::clear_cache()),
        Some(Command::Login) => {
            return tokio::select! {
                r = connect::login(&cli) => outcome(r),
                s = signals.recv(true) => ended_by(s),
            };
        }
        None => {}
    }
    // What can fail without Acumatica fails before signing in.
    let scripts = match read_scripts(&cli) {
        Ok(s) => s,
        Err(e) => return report(&e),
    };
    let interactive =
        std::io::stdin().is_terminal() && cli.command_sql.is_empty() && cli.file.is_empty();
    let modes = std::io::stdin().is_terminal().then(TerminalModes::save);
    // Signed in by the first request that needs a session: help, EXPLAIN on cached metadata
    // or a syntax error cost no licence seat (and no sign-out).
    let session = tokio::select! {
        r = connect::open(&cli, interactive, acumatica_client::SignIn::OnFirstRequest) => match r {
            Ok(s) => s,
            Err(e) => return report(&e),
        },
        s = signals.recv(true) => {
            if let Some(m) = &modes {
                m.restore();
            }
            return ended_by(s);
        }
    };
    let mut shell = Shell::new(
        session.ctx,
        session.conn.clone(),
        session.catalog,
        session.options,
        cli.format,
    );
    if cli.quiet {
        shell.timing = false;
        shell.quiet = true;
    }
    let ended = tokio::select! {
        r = drive(&cli, &scripts, &mut shell, interactive, signals.subscribe()) => match r {
            Ok(()) => Ended::Done,
            Err(e) => match e.downcast_ref::<Interrupted>() {
                Some(_) => Ended::Signal(Signal::Interrupt),
                None => Ended::Failed(e),
            },
        },
        // In the shell Ctrl-C cancels the statement only; SIGTERM and SIGHUP end the run.
        s = signals.recv(!interactive) => Ended::Signal(s),
    };
    if let (Some(m), Ended::Signal(_)) = (&modes, &ended) {
        // The line editor may have been waiting in raw mode, echo off.
        m.restore();
    }
    // Sign out on every exit path (if a request signed in): the session is a licence seat.
    if let Err(e) = session.conn.close().await {
        tracing::warn!("sign-out failed: {e}");
    }
    drop(shell);
    drop(session.demo);
    match ended {
        Ended::Done => ExitCode::SUCCESS,
        Ended::Failed(e) => report(&e),
        Ended::Signal(s) => ended_by(s),
    }
}

/// Ctrl-C while a script runs: the statement is cancelled and acusql exits with status 130.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
struct Interrupted;

/// The `-f` files, read before signing in: a file that cannot be read costs no sign-in.
fn read_scripts(cli: &Cli) -> Result<Vec<(std::path::PathBuf, String)>> {
    cli.file
        .iter()
        .map(|path| {
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))
                .map(|text| (path.clone(), text))
        })
        .collect()
}

/// Runs `-c`/`-f`, then standard input when it is not a terminal, else the REPL.
async fn drive(
    cli: &Cli,
    scripts: &[(std::path::PathBuf, String)],
    shell: &mut Shell,
    interactive: bool,
    mut signals: Signals,
) -> Result<()> {
    if interactive {
        return interactive_shell(shell, signals).await;
    }
    tokio::select! {
        r = scripted(cli, scripts, shell) => r,
        _ = signals.interrupt() => Err(Interrupted.into()),
    }
}

async fn scripted(
    cli: &Cli,
    scripts: &[(std::path::PathBuf, String)],
    shell: &mut Shell,
) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    let scripted = !cli.command_sql.is_empty() || !cli.file.is_empty();
    for sql in &cli.command_sql {
        if shell.run_script(sql, &mut stdout).await? == Flow::Quit {
            return Ok(());
        }
    }
    for (path, text) in scripts {
        if shell
            .run_script(text, &mut stdout)
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
async fn interactive_shell(shell: &mut Shell, signals: Signals) -> Result<()> {
    let names: repl::SharedNames = Arc::new(RwLock::new(Arc::new(
        completion::Names::load(&shell.ctx).await,
    )));
    let mut names_of = shell.refreshes();
    let (tx_line, mut rx_line) = tokio::sync::mpsc::channel::<repl::Input>(1);
    let (tx_ready, rx_ready) = std::sync::mpsc::channel::<Option<String>>();
    // The editor thread reads a statement, sends it, then waits until it ran.
    let helper = repl::ShellHelper::new(names.clone());
    let editor = tokio::task::spawn_blocking(move || -> Result<()> {
        let mut history = None;
        let mut ctrl_c_on_empty = false;
        loop {
            // A new editor per prompt, dropped before the statement runs (see
            // `repl::editor_with_history`: while it lives, rustyline owns SIGINT).
            let mut rl = match history.take() {
                None => repl::editor(helper.clone())?,
                Some(h) => repl::editor_with_history(helper.clone(), h)?,
            };
            let input = repl::read(&mut rl);
            if let Ok(repl::Input::Line(line)) = &input {
                repl::remember(&mut rl, line.trim());
            }
            history = Some(std::mem::take(rl.history_mut()));
            drop(rl);
            let mut input = input?;
            match &input {
                repl::Input::Line(_) => ctrl_c_on_empty = false,
                // Ctrl-C discards the line; on an empty line twice in a row, it quits.
                repl::Input::Interrupted { empty: true } if ctrl_c_on_empty => {
                    input = repl::Input::Eof;
                }
                repl::Input::Interrupted { empty: true } => {
                    ctrl_c_on_empty = true;
                    eprintln!("(press Ctrl-C again to quit, or type \\q)");
                    continue;
                }
                repl::Input::Interrupted { empty: false } => {
                    ctrl_c_on_empty = false;
                    continue;
                }
                repl::Input::Eof => {}
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
            repl::Input::Interrupted { .. } => {
                let _ = tx_ready.send(None);
                continue;
            }
            repl::Input::Eof => break,
        };
        let mut out = std::io::stdout();
        // Listening from before the statement starts: a Ctrl-C at any moment of it counts.
        let mut ctrl_c = signals.subscribe();
        let flow = tokio::select! {
            // A statement that ended wins over a Ctrl-C seen meanwhile (pressed in the pager).
            biased;
            r = shell.run_script(&line, &mut out) => match r {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("error: {}", connect::describe_error(&e));
                    Flow::Continue
                }
            },
            _ = ctrl_c.interrupt() => {
                // Dropping the statement's future cancels its stream and HTTP requests.
                eprintln!("query cancelled");
                Flow::Continue
            }
        };
        let _ = out.flush();
        if shell.refreshes() != names_of {
            // The catalog was rebuilt: complete the new tables and columns from now on.
            names_of = shell.refreshes();
            let fresh = Arc::new(completion::Names::load(&shell.ctx).await);
            if let Ok(mut n) = names.write() {
                *n = fresh;
            }
        }
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
