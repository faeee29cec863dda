//! Two processes signalling each other through a local nats-server.
//!
//! Start a server (`nats-server`, Debian package `nats-server`), then in two
//! terminals:
//!
//! ```sh
//! cargo run -p signal-dispatch-nats --example chat -- alice
//! cargo run -p signal-dispatch-nats --example chat -- bob
//! ```
//!
//! Type a line in one: both print it, the other with the sender's name.
//! Start a line with `#room ` to send it on a key only listeners of `room`
//! receive (each side listens to `#general` and to its own name).
//! `NATS_URL` overrides `nats://127.0.0.1:4222`.

use serde::{Deserialize, Serialize};
use signal_dispatch::{Event, Filter, Signal};
use signal_dispatch_nats::{Bridge, NamedSender};
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Clone, Default, Serialize, Deserialize)]
struct Line {
    text: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let me = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "anonymous".to_owned());
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
    let bridge = Bridge::connect(url.as_str(), Default::default()).await?;

    let chat: Signal<Line> = Signal::new();
    let show = |event: Event<Line>| {
        let from = event
            .sender::<NamedSender>()
            .map_or_else(|| "?".to_owned(), |sender| sender.name().to_owned());
        println!("[{}] {from}: {}", event.keys().join(","), event.args().text);
    };
    chat.connect_filtered(Filter::new().keys(["general".to_owned(), me.clone()]), show);
    let remote = bridge.attach("chat", &chat).await?;
    let myself = bridge.named_sender(&me);
    println!(
        "{me} is in #general on {url}; listening to {:?}",
        remote.subjects()
    );

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let (room, text) = match line.strip_prefix('#').and_then(|rest| rest.split_once(' ')) {
            Some((room, text)) => (room.to_owned(), text.to_owned()),
            None => ("general".to_owned(), line),
        };
        remote
            .send()
            .key(room)
            .sender(&myself)
            .args(Line { text })
            .publish()
            .await?;
    }
    Ok(())
}
