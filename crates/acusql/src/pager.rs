//! Long output through a pager (`$PAGER`, else `less -S`) when standard output is a terminal,
//! as psql does: output that fits the screen is printed as it is.

use std::io::{self, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// When the pager is used (`\pset pager on|off|always`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagerMode {
    Off,
    /// For output longer than the terminal is high.
    On,
    /// For every result.
    Always,
}

/// The pager's command line: `$PAGER` (run by `sh -c`), `less -S` when it is unset, none when
/// it is set but empty.
pub fn command() -> Option<String> {
    match std::env::var("PAGER") {
        Ok(p) if p.trim().is_empty() => None,
        Ok(p) => Some(p),
        Err(_) => Some("less -S".into()),
    }
}

/// The process id of the pager that runs (0: none), for [`end_running`].
static RUNNING: AtomicU32 = AtomicU32::new(0);

/// Ends the pager that runs, if any: SIGTERM or SIGHUP end the run even while someone reads
/// long output (writing to the pager, or waiting for it, would otherwise hold the sign-out
/// back until the pager is quit).
pub fn end_running() {
    let pid = RUNNING.swap(0, Ordering::SeqCst);
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(pid)
        && pid > 0
    {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
}

enum State {
    /// Lines kept until it is known whether they fit the screen.
    Buffering(Vec<u8>),
    /// The pager runs and reads what is written.
    Piping(Child),
    /// No pager (it could not be started): straight to the output.
    Direct,
    /// The pager was quit before the end: the rest is dropped.
    Closed,
}

/// A writer that holds output back until it is longer than the screen, then starts the pager
/// and streams into it; shorter output goes to `out` at [`Paged::finish`].
pub struct Paged<'a, W: Write> {
    out: &'a mut W,
    state: State,
    lines: usize,
    /// Lines that fit on the screen (the prompt takes one more).
    height: usize,
    command: String,
    status: Status,
}

/// What the pager is doing, for those who cannot hold the writer while it is written to.
#[derive(Clone, Default)]
pub struct Status {
    started: Arc<AtomicBool>,
    closed: Arc<AtomicBool>,
}

impl Status {
    /// The pager runs: whoever draws on the terminal (the progress line) stops.
    pub fn started(&self) -> bool {
        self.started.load(Ordering::SeqCst)
    }

    /// The pager was quit before the end: the rest of the output would be dropped.
    pub fn closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

impl<'a, W: Write> Paged<'a, W> {
    pub fn new(out: &'a mut W, mode: PagerMode, height: usize, command: String) -> Self {
        let height = match mode {
            PagerMode::Always => 0,
            _ => height.saturating_sub(1),
        };
        let state = match mode {
            PagerMode::Off => State::Direct,
            _ => State::Buffering(Vec::new()),
        };
        Self {
            out,
            state,
            lines: 0,
            height,
            command,
            status: Status::default(),
        }
    }

    pub fn status(&self) -> Status {
        self.status.clone()
    }

    fn start(&mut self) -> io::Result<()> {
        let State::Buffering(buf) = std::mem::replace(&mut self.state, State::Direct) else {
            return Ok(());
        };
        let child = Command::new("sh")
            .args(["-c", &self.command])
            .stdin(Stdio::piped())
            .spawn();
        match child {
            Ok(child) => {
                RUNNING.store(child.id(), Ordering::SeqCst);
                self.status.started.store(true, Ordering::SeqCst);
                self.state = State::Piping(child);
                self.pipe(&buf)
            }
            Err(e) => {
                tracing::warn!("cannot start the pager {:?}: {e}", self.command);
                self.out.write_all(&buf)
            }
        }
    }

    fn pipe(&mut self, bytes: &[u8]) -> io::Result<()> {
        let State::Piping(child) = &mut self.state else {
            return Ok(());
        };
        let Some(stdin) = child.stdin.as_mut() else {
            return Ok(());
        };
        match stdin.write_all(bytes) {
            Ok(()) => Ok(()),
            // The user quit the pager: the rest is not wanted.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.close();
                self.state = State::Closed;
                self.status.closed.store(true, Ordering::SeqCst);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Waits for the pager (the user reads until they quit it).
    fn close(&mut self) {
        if let State::Piping(child) = &mut self.state {
            drop(child.stdin.take());
            let _ = child.wait();
            let _ = RUNNING.compare_exchange(child.id(), 0, Ordering::SeqCst, Ordering::SeqCst);
        }
    }

    /// Ends the output: short output is written out now; the pager is waited for.
    pub fn finish(mut self) -> io::Result<()> {
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Buffering(buf) => {
                self.out.write_all(&buf)?;
                self.out.flush()
            }
            State::Piping(child) => {
                self.state = State::Piping(child);
                self.close();
                self.state = State::Closed;
                Ok(())
            }
            State::Direct => self.out.flush(),
            State::Closed => Ok(()),
        }
    }
}

impl<W: Write> Write for Paged<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match &mut self.state {
            State::Buffering(buf) => {
                buf.extend_from_slice(bytes);
                self.lines += bytes.iter().filter(|b| **b == b'\n').count();
                if self.lines > self.height || (self.height == 0 && !bytes.is_empty()) {
                    self.start()?;
                }
            }
            State::Piping(_) => self.pipe(bytes)?,
            State::Direct => self.out.write_all(bytes)?,
            State::Closed => {}
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.state {
            // Held back until it is known whether it fits.
            State::Buffering(_) | State::Closed => Ok(()),
            State::Piping(child) => match child.stdin.as_mut().map(Write::flush) {
                Some(Err(e)) if e.kind() != io::ErrorKind::BrokenPipe => Err(e),
                _ => Ok(()),
            },
            State::Direct => self.out.flush(),
        }
    }
}

/// A cancelled statement drops its output: the pager, if it runs, gets the end of its input
/// and is waited for, so that it leaves the terminal before the next prompt.
impl<W: Write> Drop for Paged<'_, W> {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tests that start a pager take turns: `end_running` ends whichever pager runs.
    static ONE_PAGER: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn one_pager() -> std::sync::MutexGuard<'static, ()> {
        ONE_PAGER.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[test]
    fn off_writes_straight_through() {
        let mut out = Vec::new();
        let mut p = Paged::new(&mut out, PagerMode::Off, 0, "false".into());
        for _ in 0..100 {
            p.write_all(b"line\n").unwrap();
        }
        assert!(!p.status().started());
        p.finish().unwrap();
        assert_eq!(out.len(), 500);
    }

    #[test]
    fn short_output_is_printed_as_it_is() {
        let mut out = Vec::new();
        let mut p = Paged::new(&mut out, PagerMode::On, 10, "false".into());
        p.write_all(b"a\nb\n").unwrap();
        p.flush().unwrap();
        assert!(!p.status().started());
        p.finish().unwrap();
        assert_eq!(out, b"a\nb\n");
    }

    #[cfg(unix)]
    #[test]
    fn long_output_goes_to_the_pager() {
        let _turn = one_pager();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("paged");
        let mut out = Vec::new();
        let command = format!("cat > '{}'", file.display());
        let mut p = Paged::new(&mut out, PagerMode::On, 3, command);
        for i in 0..5 {
            writeln!(p, "line {i}").unwrap();
        }
        assert!(p.status().started());
        p.finish().unwrap();
        assert!(out.is_empty());
        let paged = std::fs::read_to_string(&file).unwrap();
        assert_eq!(paged.lines().count(), 5, "{paged}");
    }

    #[cfg(unix)]
    #[test]
    fn a_pager_ended_by_a_signal_lets_the_output_end() {
        let _turn = one_pager();
        let mut out = Vec::new();
        let mut p = Paged::new(&mut out, PagerMode::Always, 24, "sleep 600".into());
        p.write_all(b"line\n").unwrap();
        assert!(p.status().started());
        end_running();
        // Waiting for it returns: it was ended.
        p.finish().unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_pager_quit_early_drops_the_rest() {
        let _turn = one_pager();
        let mut out = Vec::new();
        let mut p = Paged::new(
            &mut out,
            PagerMode::Always,
            24,
            "head -c 1 >/dev/null".into(),
        );
        for _ in 0..100_000 {
            p.write_all(b"0123456789abcdef\n").unwrap();
            if p.status().closed() {
                break;
            }
        }
        assert!(p.status().closed());
        p.finish().unwrap();
        assert!(out.is_empty());
    }
}
