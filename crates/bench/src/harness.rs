//! The measuring machinery: a counting allocator, completion signalling,
//! interleaved sampling and medians.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::time::Instant;

use tokio::sync::Notify;

/// The system allocator, counting bytes currently allocated.
pub struct CountingAlloc;

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter is only bookkeeping.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        ALLOCATED.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: forwarded with the caller's pointer, layout and size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Bytes allocated right now.
pub fn allocated() -> isize {
    ALLOCATED.load(Ordering::Relaxed)
}

/// Resident set size of this process, in bytes.
pub fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Counts callback runs and wakes the measuring thread when all have run.
#[derive(Default)]
pub struct Done {
    count: AtomicUsize,
    target: AtomicUsize,
    notify: Notify,
}

impl Done {
    pub fn new() -> Arc<Self> {
        Arc::new(Done::default())
    }

    /// Expect `n` more runs from now on.
    pub fn expect(&self, n: usize) {
        self.count.store(0, Ordering::SeqCst);
        self.target.store(n, Ordering::SeqCst);
    }

    /// One callback ran.
    #[inline]
    pub fn hit(&self) {
        if self.count.fetch_add(1, Ordering::AcqRel) + 1 == self.target.load(Ordering::Acquire) {
            self.notify.notify_one();
        }
    }

    /// Waits until the expected runs happened.
    pub async fn wait(&self) {
        if self.count.load(Ordering::Acquire) >= self.target.load(Ordering::Acquire) {
            // The last hit may have stored a permit; consume it.
            let _ = tokio::time::timeout(std::time::Duration::ZERO, self.notify.notified()).await;
            return;
        }
        self.notify.notified().await;
    }

    pub fn runs(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }
}

/// The floors' callbacks: `n` boxed closures, each counting one run.
pub fn counting_closures(done: &Arc<Done>, n: usize) -> Arc<Vec<Box<dyn Fn() + Send + Sync>>> {
    Arc::new(
        (0..n)
            .map(|_| {
                let done = done.clone();
                Box::new(move || done.hit()) as Box<dyn Fn() + Send + Sync>
            })
            .collect(),
    )
}

/// Times `f`, which performs `ops` operations, in nanoseconds per operation.
pub fn time_per_op(ops: usize, f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_nanos() as f64 / ops as f64
}

/// Runs `op(i)` for `i` in `0..max_ops`, stopping early once `budget` has
/// passed (checked every few operations), and returns ns per operation run.
/// Keeps slow peers (whose operations cost O(n)) from taking minutes.
pub fn budgeted(max_ops: usize, budget: std::time::Duration, mut op: impl FnMut(usize)) -> f64 {
    let start = Instant::now();
    let mut done = 0;
    while done < max_ops {
        op(done);
        done += 1;
        if done % 8 == 0 && start.elapsed() >= budget {
            break;
        }
    }
    start.elapsed().as_nanos() as f64 / done as f64
}

/// One implementation of a scenario: its name and a sampler returning
/// nanoseconds per operation for one sample.
pub type Sampler<'a> = (&'static str, Box<dyn FnMut() -> f64 + 'a>);

/// Runs every sampler `rounds` times, interleaved (round-robin), so that
/// noise falls on all of them alike; returns each one's median.
pub fn interleave(rounds: usize, mut samplers: Vec<Sampler<'_>>) -> BTreeMap<&'static str, f64> {
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); samplers.len()];
    // One warm-up round, discarded.
    for (_, sampler) in samplers.iter_mut() {
        sampler();
    }
    for _ in 0..rounds {
        for (i, (_, sampler)) in samplers.iter_mut().enumerate() {
            samples[i].push(sampler());
        }
    }
    samplers
        .iter()
        .zip(samples)
        .map(|((name, _), s)| (*name, median(s)))
        .collect()
}

pub fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    let n = samples.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2.0
    }
}
