//! A one-line progress bar on stderr, drawn only when stderr is a terminal (scripts and tests
//! see nothing). A few lines here instead of a crate: one bar, redrawn at most ten times a
//! second, needs no terminal library.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const WIDTH: u64 = 30;
const EVERY: Duration = Duration::from_millis(100);

/// A bar for `total` steps of `what`.
pub struct Progress {
    what: &'static str,
    total: u64,
    drawn: Option<Instant>,
    shown: bool,
}

impl Progress {
    pub fn new(what: &'static str, total: u64) -> Self {
        Self {
            what,
            total,
            drawn: None,
            shown: std::io::stderr().is_terminal(),
        }
    }

    /// Shows that `done` of the steps are done.
    pub fn set(&mut self, done: u64) {
        if !self.shown || self.drawn.is_some_and(|at| at.elapsed() < EVERY) {
            return;
        }
        self.drawn = Some(Instant::now());
        let filled = (done * WIDTH)
            .checked_div(self.total)
            .unwrap_or(WIDTH)
            .min(WIDTH);
        let bar = "#".repeat(filled as usize) + &"-".repeat((WIDTH - filled) as usize);
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "\r{} [{bar}] {done}/{}", self.what, self.total);
        let _ = stderr.flush();
    }

    /// Clears the bar.
    pub fn finish(self) {
        if self.shown && self.drawn.is_some() {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}
