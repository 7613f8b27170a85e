//! Progress while a run works: a bar on a terminal, plain lines otherwise (cron, CI, pipes).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::outcome::Status;
use crate::results::TargetResult;

pub struct Progress {
    bar: ProgressBar,
    plain: bool,
    started: Instant,
    changed: AtomicU64,
    failed: AtomicU64,
    /// When the next plain line is due, in ms since the start.
    next_line_ms: AtomicU64,
}

const PLAIN_EVERY_MS: u64 = 10_000;

impl Progress {
    /// A run whose targets are added as the organization is listed.
    pub fn start() -> Self {
        let plain = !std::io::stdout().is_terminal();
        let bar = if plain {
            ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden())
        } else {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} targets {per_sec} {msg} [{elapsed_precise}]")
                    .expect("the template is valid"),
            );
            bar
        };
        Self {
            bar,
            plain,
            started: Instant::now(),
            changed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            next_line_ms: AtomicU64::new(PLAIN_EVERY_MS),
        }
    }

    /// Account-regions listed since.
    pub fn add_targets(&self, targets: usize) {
        self.bar.inc_length(targets as u64);
    }

    /// A result that completes `targets` account-regions (an account that could not be
    /// entered completes all its regions; IAM and organization results complete none).
    pub fn done(&self, result: &TargetResult, targets: usize) {
        let targets = targets as u64;
        if matches!(result.status, Status::Applied | Status::Planned) {
            self.changed.fetch_add(result.changes.len() as u64, Ordering::Relaxed);
        }
        if let Status::Failed(error) = &result.status {
            self.failed.fetch_add(1, Ordering::Relaxed);
            self.bar.suspend(|| eprintln!("failed: {} {}", result.place(), crate::safe::printable(&error.to_string())));
        }
        self.bar.inc(targets);
        let (changed, failed) = (self.changed.load(Ordering::Relaxed), self.failed.load(Ordering::Relaxed));
        self.bar.set_message(format!("{changed} changes, {failed} failures"));
        // Plain lines at most every 10 seconds: the total grows while the organization is listed.
        let elapsed = self.started.elapsed();
        let elapsed_ms = elapsed.as_millis() as u64;
        if self.plain && elapsed_ms >= self.next_line_ms.load(Ordering::Relaxed) {
            self.next_line_ms.store(elapsed_ms + PLAIN_EVERY_MS, Ordering::Relaxed);
            let done = self.bar.position();
            let rate = done as f64 / elapsed.as_secs_f64().max(0.001);
            let total = self.bar.length().unwrap_or_default();
            eprintln!("progress: {done}/{total} targets, {changed} changes, {failed} failures, {rate:.0} targets/s");
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
