//! Signals across processes, over [NATS](https://nats.io).
//!
//! A [`Bridge`] holds one NATS connection. [`Bridge::attach`] a
//! [`Signal`](signal_dispatch::Signal) under a name in every process; a
//! send made through the returned [`RemoteSignal`] reaches the matching
//! connections of that signal in every attached process, its own included,
//! each exactly once.
//!
//! ```no_run
//! use signal_dispatch::{Event, Filter, Signal};
//! use signal_dispatch_nats::Bridge;
//!
//! # async fn demo() -> Result<(), signal_dispatch_nats::BridgeError> {
//! let bridge = Bridge::connect("nats://127.0.0.1:4222", Default::default()).await?;
//! let invalidate: Signal<(), String> = Signal::new();
//! invalidate.connect_filtered(Filter::new().key("users"), |event: Event<(), String>| {
//!     println!("drop cached users ({:?})", event.keys());
//! });
//! let remote = bridge.attach("cache.invalidate", &invalidate).await?;
//! remote.send().key("users").publish().await?; // every process drops its users
//! # Ok(())
//! # }
//! ```
//!
//! # Mapping
//!
//! - **Subjects.** Signal `NAME` under prefix `PREFIX` (default
//!   `signal-dispatch`, see [`BridgeOptions::prefix`]) uses
//!   `PREFIX.NAME.all` for sends that name no key and no sender,
//!   `PREFIX.NAME.key.TOKEN` for each key named, and
//!   `PREFIX.NAME.from.TOKEN` for each named sender. A send naming several
//!   keys or senders is published once per subject, with one sequence
//!   number: a process receiving two copies delivers it once.
//! - **Keys** travel with serde in the payload and appear in subjects
//!   through `Display`, as a token: as they are when that is a valid token,
//!   else encoded (`~` and hexadecimal), never as a wildcard; see
//!   [`subject::token`]. A key too long for a subject is an error.
//! - **Senders.** Object-identity senders (any `Arc`) stay local: an
//!   address means nothing in another process. [`NamedSender`]s, stable
//!   string ids from [`Bridge::named_sender`], are matched by name in
//!   every process.
//! - **Arguments** travel with serde: JSON by default, MessagePack with the
//!   `msgpack` feature ([`Format`]); each message says its format.
//! - **Wire format.** A message is a short envelope, then the send's body:
//!   `SD`, the version byte `1`, the format (`j` JSON, `m` MessagePack),
//!   the origin's length in one byte and the origin (the publishing
//!   bridge's id, UTF-8), the send's sequence number (a little-endian
//!   `u64`), then `{"keys": [...], "senders": [...], "args": ...}` in that
//!   format. A receiver drops its own sends and second copies by reading
//!   the envelope alone. (No NATS headers: a message with headers costs
//!   the client several times as much to publish.)
//! - **Interest.** A process subscribes only to what its connections need:
//!   everything under `PREFIX.NAME.>` if one of them is unfiltered, else
//!   the subjects of their keys and named senders. Subscriptions follow
//!   connects and disconnects ([`Signal::watch_interest`](signal_dispatch::Signal::watch_interest)).
//!
//! # Delivery guarantees
//!
//! The bridge uses core NATS, which delivers **at most once**:
//!
//! - The sending process's own connections always get the send, at once,
//!   whatever the server's state: local delivery never waits for NATS.
//! - Other processes get it if they were subscribed when the server
//!   routed it. A process that attached later, or was disconnected at
//!   that moment, does not get it; nothing is replayed.
//! - **Server down or restarting:** the client reconnects by itself and
//!   the attachment's subscriptions are restored on reconnect. Sends
//!   published while disconnected wait in the client's outgoing buffer and
//!   go out after the reconnect if it does not overflow; if the client gives
//!   up on reconnecting they are lost. [`RemoteSend::publish`] waits only
//!   when that buffer is full.
//! - **Slow receiver:** a subscriber that falls too far behind is cut off
//!   by the server (a "slow consumer"), and what it missed is lost.
//! - Order is kept between the sends of one process to one subscriber;
//!   between processes there is no order.
//! - Callbacks run as the signal's mode says, in tasks: the bridge awaits
//!   no send, so a signal in [`Mode::Inline`](signal_dispatch::Mode::Inline)
//!   has each send's callbacks run as one task, as in `Mode::Batched`.
//!   None runs on the bridge's receiving task.
//! - A message on the signal's subjects that is not a send from a bridge,
//!   or can't be decoded, goes to the error hook
//!   ([`BridgeOptions::on_error`]) and is dropped; nothing crashes.
//!
//! # Security
//!
//! Authentication and TLS are the NATS client's: build the connection
//! with [`async_nats::ConnectOptions`] (`token`, `user_and_password`,
//! `credentials_file`, `require_tls`, `add_root_certificates`,
//! `add_client_certificate`) and pass it to [`Bridge::connect`], or pass
//! a connected [`async_nats::Client`] to [`Bridge::new`].
//!
//! Subjects are plain NATS subjects, so server permissions decide who may
//! send and who may listen. To let only the `billing` service send on
//! signal `orders` while every service listens (a server configuration):
//!
//! ```text
//! authorization {
//!   users = [
//!     { user: billing, password: "...",
//!       permissions: { publish: ["signal-dispatch.orders.>"], subscribe: ["signal-dispatch.>"] } }
//!     { user: web, password: "...",
//!       permissions: { publish: { deny: ["signal-dispatch.>"] }, subscribe: ["signal-dispatch.>"] } }
//!   ]
//! }
//! ```
//!
//! A client without publish permission on a subject can't inject sends
//! there; the server refuses them.

mod attachment;
mod bridge;
mod envelope;
mod error;
mod format;
mod named;
mod remote;
pub mod subject;

pub use bridge::{Bridge, BridgeOptions, ErrorHook};
pub use error::BridgeError;
pub use format::Format;
pub use named::NamedSender;
pub use remote::{RemoteSend, RemoteSignal};
