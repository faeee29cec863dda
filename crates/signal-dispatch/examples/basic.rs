//! The seed's basic example: connect one coroutine callback, send once.
//!
//! Prints `sending the signal.` then `callback was called!`.

use signal_dispatch::{Event, Signal};

async fn callback(_event: Event) {
    println!("callback was called!");
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Create the signal, and connect the callback to it.
    let signal: Signal = Signal::new();
    signal.connect(callback);

    // Send the signal: this schedules the callback and returns at once.
    println!("sending the signal.");
    signal.send().schedule()?;

    // Wait for the scheduled callback before the program ends.
    signal.drained().await;
    Ok(())
}
