//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

/// How long a test waits for callbacks before calling it a hang.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Records which callbacks ran, and lets a test wait for them.
#[derive(Clone)]
pub struct Recorder {
    runs: Arc<Mutex<Vec<String>>>,
    done: Arc<Semaphore>,
}

impl Recorder {
    pub fn new() -> Self {
        Recorder {
            runs: Arc::default(),
            done: Arc::new(Semaphore::new(0)),
        }
    }

    /// Notes that `name` ran.
    pub fn record(&self, name: impl Into<String>) {
        self.runs.lock().unwrap().push(name.into());
        self.done.add_permits(1);
    }

    /// Waits until `n` more runs were recorded; panics after [`PATIENCE`].
    pub async fn wait(&self, n: usize) {
        tokio::time::timeout(PATIENCE, self.done.acquire_many(n as u32))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "timed out waiting for {n} callbacks; ran: {:?}",
                    self.runs()
                )
            })
            .unwrap()
            .forget();
    }

    /// Waits for `n` runs, then a moment more, and returns every run so far,
    /// sorted: a callback that should not have run has had time to show up.
    pub async fn settle(&self, n: usize) -> Vec<String> {
        self.wait(n).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut runs = self.runs();
        runs.sort();
        runs
    }

    /// Every run recorded so far, in order.
    pub fn runs(&self) -> Vec<String> {
        self.runs.lock().unwrap().clone()
    }

    /// Forgets the runs recorded so far.
    pub fn clear(&self) {
        self.runs.lock().unwrap().clear();
    }
}

/// Counts live instances: tells whether captured values were dropped.
#[derive(Debug)]
pub struct DropCounter(Arc<()>);

impl DropCounter {
    pub fn new() -> (Self, Arc<()>) {
        let token = Arc::new(());
        (DropCounter(token.clone()), token)
    }
}

/// How many `DropCounter`s made from `token` are alive.
pub fn alive(token: &Arc<()>) -> usize {
    Arc::strong_count(token) - 1
}
