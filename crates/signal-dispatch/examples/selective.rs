//! The seed's selective example: Mike and Ashley listen on two signals,
//! filtered by sender and by key. Seven messages are delivered, each to the
//! receivers the seed's table lists.

use std::sync::{Arc, LazyLock};

use signal_dispatch::{Event, Filter, SendBuilder, Signal, weak};

#[derive(Clone, Debug, Default)]
struct Message {
    message: Option<String>,
}

static SIGNAL1: LazyLock<Signal<Message>> = LazyLock::new(Signal::new);
static SIGNAL2: LazyLock<Signal<Message>> = LazyLock::new(Signal::new);

struct Person {
    name: &'static str,
}

impl Person {
    fn message_received(&self, event: Event<Message>) {
        let number = if event.signal() == &*SIGNAL1 { 1 } else { 2 };
        let senders: Vec<&str> = event
            .senders()
            .iter()
            .filter_map(|sender| sender.downcast_ref::<Person>())
            .map(|person| person.name)
            .collect();
        println!(
            "{} received signal #{number}: senders={senders:?} keys={:?} message={:?}",
            self.name,
            event.keys(),
            event.args().message.as_deref().unwrap_or(""),
        );
    }
}

/// Sends `text` with whatever senders and keys `send` names, and waits for
/// the callbacks it scheduled, so the output keeps its order.
async fn deliver(
    send: SendBuilder<'_, Message, String, ()>,
    text: &str,
) -> Result<usize, Box<dyn std::error::Error>> {
    println!("-- sending {text:?}");
    let signal = send.signal().clone();
    let scheduled = send
        .args(Message {
            message: Some(text.into()),
        })
        .schedule()?;
    signal.drained().await;
    Ok(scheduled)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mike = Arc::new(Person { name: "Mike" });
    let ashley = Arc::new(Person { name: "Ashley" });

    SIGNAL1.connect_filtered(
        Filter::new().sender(&ashley).keys(["important", "books"]),
        weak(&mike, Person::message_received),
    );
    SIGNAL1.connect_filtered(
        Filter::new().sender(&mike).keys(["love-notes", "music"]),
        weak(&ashley, Person::message_received),
    );
    SIGNAL2.connect_filtered(
        Filter::new().key("logs"),
        weak(&mike, Person::message_received),
    );
    SIGNAL2.connect_filtered(
        Filter::new().key("alert"),
        weak(&ashley, Person::message_received),
    );

    let mut delivered = 0;
    let nobody = "nobody is listening";
    delivered += deliver(SIGNAL1.send(), nobody).await?;
    delivered += deliver(SIGNAL2.send(), nobody).await?;
    delivered += deliver(SIGNAL1.send().sender(&ashley), "hello Mike!").await?;
    delivered += deliver(SIGNAL1.send().sender(&mike), "hello Ashley!").await?;
    delivered += deliver(
        SIGNAL1.send().key("important"),
        "important message for Mike",
    )
    .await?;
    delivered += deliver(SIGNAL2.send().key("alert"), "alert for Ashley").await?;
    delivered += deliver(
        SIGNAL1.send().keys(["books", "love-notes"]),
        "Mike is waiting for books, Ashley for love-notes",
    )
    .await?;
    delivered += deliver(
        SIGNAL1.send().keys(["important", "books", "logs"]),
        "Mike is subscribed to three matching keys, but only one message is sent!",
    )
    .await?;

    println!("{delivered} deliveries in all");
    Ok(())
}
