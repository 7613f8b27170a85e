//! The run's stop flag: set on Ctrl-C or SIGTERM, after which no new work starts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Set on Ctrl-C or SIGTERM: no new work starts; calls in flight finish or time out.
#[derive(Clone, Debug, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// A flag that the first SIGINT or SIGTERM sets; a second one ends the process.
    pub fn on_signals() -> Self {
        let stop = Self::default();
        let flag = stop.0.clone();
        tokio::spawn(async move {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            let mut signalled = async || {
                let terminated = async {
                    match term.as_mut() {
                        Some(term) => term.recv().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminated => {}
                }
            };
            signalled().await;
            eprintln!("stopping: no new work starts; waiting for calls in flight (signal again to kill)");
            flag.store(true, Ordering::SeqCst);
            signalled().await;
            std::process::exit(130);
        });
        stop
    }

    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
