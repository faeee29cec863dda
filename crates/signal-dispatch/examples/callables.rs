//! The seed's callables example: every kind of callable Rust has, connected
//! to one signal; one send prints `callbackN was called` for N in 1..=8, in
//! any order.

use std::sync::Arc;

use signal_dispatch::{Event, Signal, weak};
fn called(n: u32) {
    println!("callback{n} was called");
}

/// 1. A plain function.
fn callback1(_event: Event) {
    called(1);
}

/// 3. An `async fn`.
async fn callback3(_event: Event) {
    called(3);
}

struct Callbacks;

impl Callbacks {
    /// 5. A method of an object the signal holds weakly.
    fn callback5(&self, _event: Event) {
        called(5);
    }

    /// 6. An async method of an object the signal holds weakly.
    async fn callback6(self: Arc<Self>, _event: Event) {
        called(6);
    }

    /// 7. A method of an object the connection holds strongly.
    fn callback7(&self, _event: Event) {
        called(7);
    }

    /// 8. An associated function (Python's staticmethod / classmethod).
    fn callback8(_event: Event) {
        called(8);
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let signal: Signal = Signal::new();
    let callbacks = Arc::new(Callbacks);

    signal.connect(callback1);
    // 2. A closure.
    signal.connect(|_event: Event| called(2));
    signal.connect(callback3);
    // 4. An async closure.
    signal.connect(async |_event: Event| called(4));
    signal.connect(weak(&callbacks, Callbacks::callback5));
    signal.connect(weak(&callbacks, Callbacks::callback6));
    let strong = callbacks.clone();
    signal.connect(move |event: Event| strong.callback7(event));
    signal.connect(Callbacks::callback8);

    let scheduled = signal.send().schedule()?;
    signal.drained().await;
    println!("{scheduled} callbacks were called");
    Ok(())
}
