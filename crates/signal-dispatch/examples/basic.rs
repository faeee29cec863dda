//! The seed's basic example: connect one coroutine callback, send once.
//!
//! Prints `sending the signal.` then `callback was called!`.

use signal_dispatch::{Event, Signal};
use tokio::sync::Semaphore;

/// Lets `main` wait until the callbacks it scheduled have run.
static DONE: Semaphore = Semaphore::const_new(0);

async fn callback(_event: Event) {
    println!("callback was called!");
    DONE.add_permits(1);
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Create the signal, and connect the callback to it.
    let signal: Signal = Signal::new();
    signal.connect(callback);

    // Send the signal: this schedules the callback and returns at once.
    println!("sending the signal.");
    let scheduled = signal.send().schedule()?;

    DONE.acquire_many(scheduled as u32).await?.forget();
    Ok(())
}
