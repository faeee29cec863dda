//! The bridge: one NATS connection, shared by the signals attached to it.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_nats::{Client, ConnectOptions, ToServerAddrs};
use serde::Serialize;
use serde::de::DeserializeOwned;
use signal_dispatch::{Key, Signal};

use crate::attachment::{self, Attachment};
use crate::envelope;
use crate::error::BridgeError;
use crate::format::Format;
use crate::named::NamedSender;
use crate::remote::RemoteSignal;
use crate::subject::{Subjects, check_name};

/// The function that hears about failures nobody awaits: undecodable
/// messages, failed subscriptions, received sends that could not be
/// delivered locally.
pub type ErrorHook = Arc<dyn Fn(&BridgeError) + Send + Sync>;

/// How a [`Bridge`] names its subjects and encodes its sends.
///
/// # Examples
///
/// ```
/// use signal_dispatch_nats::{BridgeOptions, Format};
///
/// let options = BridgeOptions::new()
///     .prefix("shop.signals")
///     .format(Format::Json)
///     .on_error(|error| eprintln!("signal bridge: {error}"));
/// # let _ = options;
/// ```
#[derive(Clone)]
pub struct BridgeOptions {
    prefix: String,
    format: Format,
    on_error: ErrorHook,
}

impl BridgeOptions {
    /// Prefix `signal-dispatch`, JSON, failures logged as `tracing` warnings.
    pub fn new() -> Self {
        BridgeOptions {
            prefix: "signal-dispatch".to_owned(),
            format: Format::default(),
            on_error: Arc::new(|error| tracing::warn!(%error, "signal bridge")),
        }
    }

    /// The first tokens of every subject (default `signal-dispatch`): a
    /// signal `orders` lives under `PREFIX.orders.>`. Processes must agree
    /// on it; NATS permissions can be written for it.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The format sends are encoded in (receivers read any format they know).
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// Where failures nobody awaits are reported.
    pub fn on_error(mut self, hook: impl Fn(&BridgeError) + Send + Sync + 'static) -> Self {
        self.on_error = Arc::new(hook);
        self
    }
}

impl Default for BridgeOptions {
    fn default() -> Self {
        BridgeOptions::new()
    }
}

impl fmt::Debug for BridgeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BridgeOptions")
            .field("prefix", &self.prefix)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// Carries signals between processes over one NATS connection.
///
/// [`attach`](Self::attach) a [`Signal`] under a name in every process;
/// then a send made through the returned [`RemoteSignal`] reaches the
/// matching connections of that signal in every attached process, its own
/// included, each exactly once. Cloning a bridge is cheap and shares the
/// connection.
///
/// # Examples
///
/// ```no_run
/// use signal_dispatch::{Event, Filter, Signal};
/// use signal_dispatch_nats::Bridge;
///
/// # async fn demo() -> Result<(), signal_dispatch_nats::BridgeError> {
/// let bridge = Bridge::connect("nats://127.0.0.1:4222", Default::default()).await?;
/// let orders: Signal<String> = Signal::new();
/// orders.connect_filtered(Filter::new().key("eu"), |event: Event<String>| {
///     println!("order {}", event.args());
/// });
/// let remote = bridge.attach("orders", &orders).await?;
/// remote.send().key("eu").args("#1042".to_string()).publish().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Bridge {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) client: Client,
    pub(crate) prefix: String,
    pub(crate) format: Format,
    pub(crate) on_error: ErrorHook,
    /// This bridge's identity on the wire, to skip its own echoes.
    pub(crate) origin: String,
    next_sequence: AtomicU64,
    names: Mutex<HashMap<String, Arc<NamedSender>>>,
}

impl Shared {
    pub(crate) fn next_sequence(&self) -> u64 {
        self.next_sequence.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn names(&self) -> MutexGuard<'_, HashMap<String, Arc<NamedSender>>> {
        self.names
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn report(&self, error: &BridgeError) {
        (self.on_error)(error);
    }
}

impl Bridge {
    /// A bridge over `client`, with default options.
    ///
    /// Authentication and TLS are the client's: build it with
    /// [`async_nats::ConnectOptions`] (token, user and password, credentials
    /// file, TLS certificates), as for any NATS application.
    pub fn new(client: Client) -> Self {
        Self::with_options(client, BridgeOptions::new()).expect("the default prefix is valid")
    }

    /// A bridge over `client` with `options`. Fails if the prefix can't be
    /// used in subjects.
    pub fn with_options(client: Client, options: BridgeOptions) -> Result<Self, BridgeError> {
        check_name("prefix", &options.prefix)?;
        // The last token of a fresh inbox: unique, and short (the client's
        // 22-character id).
        let inbox = client.new_inbox();
        let origin = envelope::fit_origin(inbox.rsplit('.').next().unwrap_or_default()).to_owned();
        Ok(Bridge {
            shared: Arc::new(Shared {
                client,
                prefix: options.prefix,
                format: options.format,
                on_error: options.on_error,
                origin,
                next_sequence: AtomicU64::new(0),
                names: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Connects to NATS and makes a bridge with default options.
    ///
    /// A server that can't be reached is [`BridgeError::Connect`] at once,
    /// unless `options` says
    /// [`retry_on_initial_connect`](async_nats::ConnectOptions::retry_on_initial_connect).
    pub async fn connect(
        addresses: impl ToServerAddrs,
        options: ConnectOptions,
    ) -> Result<Self, BridgeError> {
        let client = options
            .connect(addresses)
            .await
            .map_err(BridgeError::Connect)?;
        Ok(Bridge::new(client))
    }

    /// The NATS client.
    pub fn client(&self) -> &Client {
        &self.shared.client
    }

    /// The named sender called `name`: the same `Arc` every time, so that
    /// filters made with it match sends made with it, here or in another
    /// process.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(bridge: signal_dispatch_nats::Bridge) {
    /// use std::sync::Arc;
    /// let billing = bridge.named_sender("billing");
    /// assert!(Arc::ptr_eq(&billing, &bridge.named_sender("billing")));
    /// # }
    /// ```
    pub fn named_sender(&self, name: &str) -> Arc<NamedSender> {
        self.shared
            .names()
            .entry(name.to_owned())
            .or_insert_with(|| Arc::new(NamedSender::new(name)))
            .clone()
    }

    /// Attaches `signal` under `name` (dot-separated tokens, the same in
    /// every process). From now on:
    ///
    /// - sends made through the returned [`RemoteSignal`] reach this
    ///   signal's connections here at once, and every other process's
    ///   through NATS;
    /// - sends from other processes reach this signal's connections. The
    ///   bridge subscribes only to what they listen to (every send if one
    ///   is unfiltered, else their keys and named senders), and follows as
    ///   connections come and go.
    ///
    /// Returns once the first subscriptions are registered with the server.
    /// Keys travel with serde and appear in subjects through `Display`.
    /// Dropping every clone of the `RemoteSignal` detaches.
    pub async fn attach<A, K, R>(
        &self,
        name: &str,
        signal: &Signal<A, K, R>,
    ) -> Result<RemoteSignal<A, K, R>, BridgeError>
    where
        A: Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
        K: Key + fmt::Display + Serialize + DeserializeOwned,
        R: Send + 'static,
    {
        check_name("signal name", name)?;
        let subjects = Subjects::new(&self.shared.prefix, name);
        let attachment = Attachment::new(self.shared.clone(), subjects.clone(), signal);
        let task = attachment::start(attachment).await?;
        Ok(RemoteSignal::new(
            self.clone(),
            name.to_owned(),
            subjects,
            signal.clone(),
            task,
        ))
    }
}

impl fmt::Debug for Bridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bridge")
            .field("prefix", &self.shared.prefix)
            .field("format", &self.shared.format)
            .field("origin", &self.shared.origin)
            .finish_non_exhaustive()
    }
}
