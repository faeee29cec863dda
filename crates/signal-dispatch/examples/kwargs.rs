//! The seed's kwargs example: a signal declaring `my_kwarg` and `payload`,
//! sent once with its defaults and once overriding both.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use signal_dispatch::{Event, Signal};

/// The signal's declared arguments (the seed's keyword arguments).
#[derive(Clone, Debug)]
struct Kwargs {
    my_kwarg: String,
    payload: BTreeMap<String, String>,
}

impl Default for Kwargs {
    fn default() -> Self {
        Kwargs {
            my_kwarg: "default".into(),
            payload: BTreeMap::new(),
        }
    }
}

static SIGNAL: LazyLock<Signal<Kwargs>> = LazyLock::new(Signal::new);

fn callback(event: Event<Kwargs>) {
    // The callback knows which signal called it.
    assert!(event.signal() == &*SIGNAL);
    let Kwargs { my_kwarg, payload } = event.args();
    println!("signal is SIGNAL: {}", event.signal() == &*SIGNAL);
    println!("senders= {:?}", event.senders());
    println!("keys= {:?}", event.keys());
    println!("my_kwarg= {my_kwarg}");
    println!("payload= {payload:?}");
    println!();
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    SIGNAL.connect(callback);

    // With the defaults.
    SIGNAL.send().schedule()?;
    SIGNAL.drained().await;

    // Overriding both arguments for this send only.
    SIGNAL
        .send()
        .with(|kwargs| {
            kwargs.my_kwarg = "changed with send".into();
            kwargs.payload.insert("anything".into(), "you want".into());
            kwargs.payload.insert("more".into(), "stuff".into());
        })
        .schedule()?;
    SIGNAL.drained().await;
    Ok(())
}
