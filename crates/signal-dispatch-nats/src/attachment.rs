//! An attached signal's receiving side: subscriptions that follow the
//! local connections' interest, and delivery of what arrives.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Display;
use std::sync::{Arc, Mutex};

use async_nats::Message;
use futures::StreamExt;
use futures::stream::{AbortHandle, Abortable, SelectAll};
use serde::de::DeserializeOwned;
use signal_dispatch::{Interest, Key, Mode, Signal, WeakSignal};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::bridge::Shared;
use crate::envelope;
use crate::error::BridgeError;
use crate::format::Incoming;
use crate::named::NamedSender;
use crate::subject::{Subjects, token};

/// How many recent sends a receiver remembers to drop the second copy of a
/// send that reached it on two subjects.
const REMEMBERED: usize = 4096;

/// Every subscription's messages, merged, polled by the attachment's task.
type Streams = SelectAll<Abortable<async_nats::Subscriber>>;

/// Ends a subscription's stream when dropped.
#[derive(Debug)]
struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Aborts a task when dropped.
#[derive(Debug)]
pub(crate) struct TaskGuard(JoinHandle<()>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(crate) struct Attachment<A, K, R> {
    shared: Arc<Shared>,
    subjects: Subjects,
    signal: WeakSignal<A, K, R>,
    watch: Option<signal_dispatch::InterestWatch<A, K, R>>,
    /// Live subscriptions by subject. Aborting one ends its stream, which
    /// drops the subscriber (unsubscribing).
    subscribed: HashMap<String, AbortOnDrop>,
    /// The subjects of `subscribed`, for [`RemoteSignal::subjects`](crate::RemoteSignal::subjects).
    pub(crate) published: Arc<Mutex<Vec<String>>>,
    seen: Recent,
}

impl<A, K, R> Attachment<A, K, R>
where
    A: Clone + DeserializeOwned + Send + Sync + 'static,
    K: Key + Display + DeserializeOwned,
    R: Send + 'static,
{
    pub(crate) fn new(shared: Arc<Shared>, subjects: Subjects, signal: &Signal<A, K, R>) -> Self {
        Attachment {
            shared,
            subjects,
            signal: signal.downgrade(),
            watch: Some(signal.watch_interest()),
            subscribed: HashMap::new(),
            published: Arc::new(Mutex::new(Vec::new())),
            seen: Recent::default(),
        }
    }

    /// The subjects the local connections need.
    fn wanted(&self, signal: &Signal<A, K, R>, interest: Interest<K>) -> HashSet<String> {
        let mut wanted = HashSet::new();
        if interest.unfiltered {
            wanted.insert(self.subjects.everything());
            return wanted;
        }
        for key in interest.keys {
            match token(&key.to_string()) {
                Ok(token) => {
                    wanted.insert(self.subjects.key(&token));
                }
                Err(error) => self.shared.report(&error),
            }
        }
        for (name, sender) in self.shared.names().iter() {
            if signal.count_sender(sender) > 0 {
                match token(name) {
                    Ok(token) => {
                        wanted.insert(self.subjects.sender(&token));
                    }
                    Err(error) => self.shared.report(&error),
                }
            }
        }
        wanted
    }

    /// Subscribes to what is wanted and not subscribed, and unsubscribes
    /// from the rest.
    async fn follow(
        &mut self,
        interest: Interest<K>,
        streams: &mut Streams,
    ) -> Result<(), BridgeError> {
        let Some(signal) = self.signal.upgrade() else {
            return Ok(());
        };
        let wanted = self.wanted(&signal, interest);
        drop(signal);
        self.subscribed
            .retain(|subject, _| wanted.contains(subject));
        let mut failure = None;
        for subject in wanted {
            if self.subscribed.contains_key(&subject) {
                continue;
            }
            match self.shared.client.subscribe(subject.clone()).await {
                Ok(subscriber) => {
                    let (handle, registration) = AbortHandle::new_pair();
                    streams.push(Abortable::new(subscriber, registration));
                    self.subscribed.insert(subject, AbortOnDrop(handle));
                }
                Err(error) => failure = Some(BridgeError::Subscribe(error)),
            }
        }
        let mut subjects: Vec<String> = self.subscribed.keys().cloned().collect();
        subjects.sort();
        *self
            .published
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = subjects;
        failure.map_or(Ok(()), Err)
    }

    /// Delivers one received message to the local connections.
    fn receive(&mut self, message: Message) {
        let report = |reason: String| {
            self.shared.report(&BridgeError::Decode {
                subject: message.subject.to_string(),
                reason,
            });
        };
        let envelope = match envelope::read(&message.payload) {
            Ok(envelope) => envelope,
            Err(reason) => return report(reason),
        };
        if envelope.origin == self.shared.origin {
            return; // our own send, delivered locally when it was made
        }
        if !self.seen.insert(envelope.origin, envelope.sequence) {
            return; // the same send, received on a second subject
        }
        let incoming: Incoming<A, K> = match envelope.format.decode(envelope.body) {
            Ok(incoming) => incoming,
            Err(reason) => return report(reason),
        };
        let Some(signal) = self.signal.upgrade() else {
            return;
        };
        let senders: Vec<Arc<NamedSender>> = if incoming.senders.is_empty() {
            Vec::new()
        } else {
            let names = self.shared.names();
            incoming
                .senders
                .into_iter()
                .map(|name| {
                    // A name no local filter uses can match nothing: it is
                    // not interned (so foreign names can't grow memory).
                    names
                        .get(&name)
                        .cloned()
                        .unwrap_or_else(|| Arc::new(NamedSender::new(name)))
                })
                .collect()
        };
        let sent = signal
            .send()
            .mode(scheduling(signal.mode()))
            .keys(incoming.keys)
            .senders(senders.iter())
            .args(incoming.args)
            .schedule();
        if let Err(error) = sent {
            self.shared.report(&BridgeError::Deliver(error.to_string()));
        }
    }
}

/// The mode the bridge delivers a send in, for a signal in `mode`. The
/// bridge schedules its deliveries and awaits none, while
/// [`Mode::Inline`] runs callbacks in the task awaiting a send: an inline
/// signal's callbacks run as one task per send instead, as in
/// [`Mode::Batched`]. (Never on the bridge's own receiving task, which a
/// slow callback would hold up.)
pub(crate) fn scheduling(mode: Mode) -> Mode {
    match mode {
        Mode::Inline => Mode::Batched,
        other => other,
    }
}

/// Starts the attachment's task; returns once its first subscriptions are
/// registered with the server.
pub(crate) async fn start<A, K, R>(
    mut attachment: Attachment<A, K, R>,
) -> Result<(TaskGuard, Arc<Mutex<Vec<String>>>), BridgeError>
where
    A: Clone + DeserializeOwned + Send + Sync + 'static,
    K: Key + Display + DeserializeOwned,
    R: Send + 'static,
{
    let (ready, started) = oneshot::channel();
    let subjects = attachment.published.clone();
    let task = tokio::spawn(async move {
        let mut streams = Streams::new();
        let mut watch = attachment.watch.take().expect("made with a watch");
        let mut ready = Some(ready);
        loop {
            tokio::select! {
                changed = watch.changed() => {
                    let Some(interest) = changed else { break };
                    let followed = attachment.follow(interest, &mut streams).await;
                    if let Some(ready) = ready.take() {
                        let flushed = match followed {
                            Ok(()) => round_trip(&attachment.shared.client).await,
                            Err(error) => Err(error),
                        };
                        let _ = ready.send(flushed);
                    } else if let Err(error) = followed {
                        attachment.shared.report(&error);
                    }
                }
                Some(message) = streams.next() => attachment.receive(message),
            }
        }
    });
    match started.await {
        Ok(Ok(())) => Ok((TaskGuard(task), subjects)),
        Ok(Err(error)) => {
            task.abort();
            Err(error)
        }
        Err(_) => Err(BridgeError::Detached),
    }
}

/// Returns once the server has processed everything this client sent
/// before (its subscriptions among it): a message to a fresh inbox comes
/// back only after the server has read what preceded it on the connection.
/// (`Client::flush` only empties the client's buffer.)
async fn round_trip(client: &async_nats::Client) -> Result<(), BridgeError> {
    let inbox = client.new_inbox();
    let mut echo = client
        .subscribe(inbox.clone())
        .await
        .map_err(BridgeError::Subscribe)?;
    client
        .publish(inbox, bytes::Bytes::new())
        .await
        .map_err(BridgeError::Publish)?;
    client.flush().await.map_err(BridgeError::Flush)?;
    match tokio::time::timeout(ROUND_TRIP, echo.next()).await {
        Ok(Some(_)) => Ok(()),
        _ => Err(BridgeError::Unconfirmed(ROUND_TRIP)),
    }
}

/// How long [`round_trip`] waits for the server.
const ROUND_TRIP: std::time::Duration = std::time::Duration::from_secs(10);

/// The most recent sends received, by origin and sequence number: enough to
/// drop the second copy of a send that came on two subjects (the copies are
/// published back to back, so they arrive close together).
#[derive(Default)]
struct Recent {
    origins: HashMap<String, Window>,
    /// Origins in the order they were first seen, to forget the oldest.
    order: VecDeque<String>,
}

/// One origin's recent sequence numbers.
#[derive(Default)]
struct Window {
    set: HashSet<u64>,
    order: VecDeque<u64>,
}

/// How many origins [`Recent`] keeps windows for.
const ORIGINS: usize = 1024;

impl Recent {
    /// Records a send; `false` if it was already recorded.
    fn insert(&mut self, origin: &str, sequence: u64) -> bool {
        let window = match self.origins.get_mut(origin) {
            Some(window) => window,
            None => {
                if self.order.len() == ORIGINS
                    && let Some(oldest) = self.order.pop_front()
                {
                    self.origins.remove(&oldest);
                }
                self.order.push_back(origin.to_owned());
                self.origins.entry(origin.to_owned()).or_default()
            }
        };
        if !window.set.insert(sequence) {
            return false;
        }
        window.order.push_back(sequence);
        if window.order.len() > REMEMBERED
            && let Some(oldest) = window.order.pop_front()
        {
            window.set.remove(&oldest);
        }
        true
    }
}
