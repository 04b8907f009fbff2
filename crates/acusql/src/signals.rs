//! The signals that end a run (SIGINT, SIGTERM, SIGHUP), listened to from the start of the
//! process, so that every one of them ends with a sign-out instead of the default abrupt exit,
//! and the terminal's modes saved before the line editor changes them.

/// A signal that ends (or, for Ctrl-C in the shell, interrupts) the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
    Hangup,
}

impl Signal {
    /// The shell convention: 128 + the signal's number.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Hangup => 129,
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }

    /// The one line printed when it ends a run.
    pub fn message(self) -> &'static str {
        match self {
            Signal::Interrupt => "interrupted (SIGINT)",
            Signal::Terminate => "terminated (SIGTERM)",
            Signal::Hangup => "hung up (SIGHUP)",
        }
    }
}

/// The signals of the process, as a channel every part of the run can listen to.
///
/// A thread of its own waits for them (`signal-hook`) and broadcasts them: a listener is woken
/// through its waker alone, with no runtime driver in between, so Ctrl-C is seen at once
/// however busy the runtime's workers are (they decode pages, stream results…).
pub struct Signals {
    rx: tokio::sync::broadcast::Receiver<Signal>,
}

impl Signals {
    /// Starts listening (call early: until then a signal kills the process outright).
    pub fn install() -> Self {
        let (tx, rx) = tokio::sync::broadcast::channel(16);
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
            match signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
                Ok(mut signals) => {
                    let spawned = std::thread::Builder::new()
                        .name("acusql-signals".into())
                        .spawn(move || {
                            for number in signals.forever() {
                                let signal = match number {
                                    SIGINT => Signal::Interrupt,
                                    SIGTERM => Signal::Terminate,
                                    _ => Signal::Hangup,
                                };
                                // Ctrl-C is the pager's own (less ignores it); the others
                                // end the run, and a pager must not hold it back.
                                if signal != Signal::Interrupt {
                                    crate::pager::end_running();
                                }
                                // No listener left: the run is ending anyway.
                                let _ = tx.send(signal);
                            }
                        });
                    if let Err(e) = spawned {
                        tracing::warn!("cannot watch for signals: {e}");
                    }
                }
                Err(e) => tracing::warn!("cannot watch for signals: {e}"),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::spawn(async move {
                while tokio::signal::ctrl_c().await.is_ok() {
                    let _ = tx.send(Signal::Interrupt);
                }
            });
        }
        Self { rx }
    }

    /// Another listener: it sees the signals sent from now on.
    pub fn subscribe(&self) -> Self {
        Self {
            rx: self.rx.resubscribe(),
        }
    }

    /// The next signal. With `ctrl_c_ends_run` false (the interactive shell, where Ctrl-C
    /// cancels only the statement), SIGINT is skipped.
    pub async fn recv(&mut self, ctrl_c_ends_run: bool) -> Signal {
        loop {
            match self.rx.recv().await {
                Ok(Signal::Interrupt) if !ctrl_c_ends_run => continue,
                Ok(s) => return s,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    std::future::pending::<()>().await;
                }
            }
        }
    }

    /// The next Ctrl-C (SIGINT).
    pub async fn interrupt(&mut self) {
        loop {
            match self.rx.recv().await {
                Ok(Signal::Interrupt) => return,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    std::future::pending::<()>().await;
                }
            }
        }
    }
}

/// The terminal's modes as they were before the line editor put it in raw mode; restored when
/// a signal ends the shell while the editor waits for a key (its thread cannot be unwound).
pub struct TerminalModes {
    #[cfg(unix)]
    saved: Option<nix::sys::termios::Termios>,
}

impl TerminalModes {
    pub fn save() -> Self {
        #[cfg(unix)]
        {
            Self {
                saved: nix::sys::termios::tcgetattr(std::io::stdin()).ok(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    pub fn restore(&self) {
        #[cfg(unix)]
        if let Some(t) = &self.saved {
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin(),
                nix::sys::termios::SetArg::TCSANOW,
                t,
            );
        }
    }
}
