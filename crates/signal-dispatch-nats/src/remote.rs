//! The sending side of an attached signal.

use std::any::Any;
use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde::Serialize;
use signal_dispatch::{Key, Sender, Signal};

use crate::attachment::{TaskGuard, scheduling};
use crate::bridge::Bridge;
use crate::envelope;
use crate::error::BridgeError;
use crate::format::Outgoing;
use crate::named::NamedSender;
use crate::subject::{Subjects, token};

/// A signal attached to a [`Bridge`]: sends made through it reach every
/// attached process. Made by [`Bridge::attach`]; cheap to clone. Dropping
/// every clone detaches the signal (its subscriptions end).
///
/// Sends made directly on the [`Signal`] stay local.
pub struct RemoteSignal<A, K, R> {
    bridge: Bridge,
    name: Arc<str>,
    subjects: Subjects,
    signal: Signal<A, K, R>,
    subscribed: Arc<Mutex<Vec<String>>>,
    _task: Arc<TaskGuard>,
}

impl<A, K, R> RemoteSignal<A, K, R> {
    pub(crate) fn new(
        bridge: Bridge,
        name: String,
        subjects: Subjects,
        signal: Signal<A, K, R>,
        (task, subscribed): (TaskGuard, Arc<Mutex<Vec<String>>>),
    ) -> Self {
        RemoteSignal {
            bridge,
            name: name.into(),
            subjects,
            signal,
            subscribed,
            _task: Arc::new(task),
        }
    }

    /// The subjects this process is subscribed to for the signal now,
    /// sorted: what its connections need (see the crate's "Interest").
    pub fn subjects(&self) -> Vec<String> {
        self.subscribed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The local signal.
    pub fn signal(&self) -> &Signal<A, K, R> {
        &self.signal
    }

    /// The name the signal is attached under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The bridge.
    pub fn bridge(&self) -> &Bridge {
        &self.bridge
    }
}

impl<A, K, R> RemoteSignal<A, K, R>
where
    A: Clone + Serialize + Send + Sync + 'static,
    K: Key + fmt::Display + Serialize,
    R: Send + 'static,
{
    /// Starts a send to every attached process.
    pub fn send(&self) -> RemoteSend<'_, A, K, R> {
        RemoteSend {
            remote: self,
            keys: Vec::new(),
            named: Vec::new(),
            local: Vec::new(),
            args: None,
        }
    }
}

impl<A, K, R> Clone for RemoteSignal<A, K, R> {
    fn clone(&self) -> Self {
        RemoteSignal {
            bridge: self.bridge.clone(),
            name: self.name.clone(),
            subjects: self.subjects.clone(),
            signal: self.signal.clone(),
            subscribed: self.subscribed.clone(),
            _task: self._task.clone(),
        }
    }
}

impl<A, K, R> fmt::Debug for RemoteSignal<A, K, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteSignal")
            .field("name", &self.name)
            .field("bridge", &self.bridge)
            .finish_non_exhaustive()
    }
}

/// A send being built, from [`RemoteSignal::send`]. Nothing happens until
/// [`publish`](Self::publish).
#[must_use = "a send does nothing until published"]
pub struct RemoteSend<'a, A, K, R> {
    remote: &'a RemoteSignal<A, K, R>,
    keys: Vec<K>,
    named: Vec<Arc<NamedSender>>,
    local: Vec<Sender>,
    args: Option<A>,
}

impl<A, K, R> RemoteSend<'_, A, K, R>
where
    A: Clone + Serialize + Send + Sync + 'static,
    K: Key + fmt::Display + Serialize,
    R: Send + 'static,
{
    /// Names a key.
    pub fn key(mut self, key: impl Into<K>) -> Self {
        self.keys.push(key.into());
        self
    }

    /// Names several keys.
    pub fn keys<I>(mut self, keys: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<K>,
    {
        self.keys.extend(keys.into_iter().map(Into::into));
        self
    }

    /// Names a named sender; it travels to every process.
    pub fn sender(mut self, sender: &Arc<NamedSender>) -> Self {
        self.named.push(sender.clone());
        self
    }

    /// Names the named sender called `name` (see
    /// [`Bridge::named_sender`]).
    pub fn named(mut self, name: &str) -> Self {
        self.named.push(self.remote.bridge.named_sender(name));
        self
    }

    /// Names an object-identity sender. It matches this process's filters
    /// only: an object's identity means nothing elsewhere.
    pub fn local_sender<T: Any + Send + Sync>(mut self, sender: &Arc<T>) -> Self {
        self.local.push(Sender::new(sender));
        self
    }

    /// The arguments (the signal's defaults if not given).
    pub fn args(mut self, args: A) -> Self {
        self.args = Some(args);
        self
    }

    /// Changes a copy of the arguments (or of the defaults).
    pub fn with(mut self, change: impl FnOnce(&mut A)) -> Self {
        let mut args = self
            .args
            .take()
            .unwrap_or_else(|| self.remote.signal.defaults().clone());
        change(&mut args);
        self.args = Some(args);
        self
    }

    /// Delivers the send to this process's matching connections, then
    /// publishes it for every other attached process. Returns how many
    /// local callbacks were scheduled.
    ///
    /// The checks come first, so a failed one changes nothing anywhere: a
    /// key or name too long for a subject, arguments that can't be
    /// encoded, or an encoded send larger than the server's `max_payload`
    /// ([`BridgeError::PayloadTooLarge`]). A failure to deliver locally
    /// (the signal closed or full) is returned before anything is
    /// published. A failure to publish ([`BridgeError::Publish`]) comes
    /// after the local delivery. Local delivery never waits for the server;
    /// publishing waits only when the client's outgoing buffer is full (for
    /// instance while it reconnects).
    pub async fn publish(self) -> Result<usize, BridgeError> {
        let remote = self.remote;
        let shared = &remote.bridge.shared;
        let args = self
            .args
            .unwrap_or_else(|| remote.signal.defaults().clone());

        let mut subjects = BTreeSet::new();
        for key in &self.keys {
            subjects.insert(remote.subjects.key(&token(&key.to_string())?));
        }
        for sender in &self.named {
            subjects.insert(remote.subjects.sender(&token(sender.name())?));
        }
        if subjects.is_empty() {
            subjects.insert(remote.subjects.unfiltered());
        }
        let names: Vec<&str> = self.named.iter().map(|sender| sender.name()).collect();
        // One number per send, shared by its copies on several subjects.
        let mut payload =
            envelope::start(&shared.origin, shared.next_sequence(), shared.format, 64);
        shared
            .format
            .encode_into(
                &Outgoing {
                    keys: &self.keys,
                    senders: &names,
                    args: &args,
                },
                &mut payload,
            )
            .map_err(BridgeError::Encode)?;
        let max = shared.client.max_payload();
        if max > 0 && payload.len() > max {
            return Err(BridgeError::PayloadTooLarge {
                size: payload.len(),
                max,
            });
        }

        let mut local = remote
            .signal
            .send()
            .mode(scheduling(remote.signal.mode()))
            .keys(self.keys)
            .senders(self.named.iter())
            .args(args);
        for sender in &self.local {
            local = local.sender_erased(sender.clone());
        }
        let scheduled = local
            .schedule()
            .map_err(|error| BridgeError::Deliver(error.to_string()))?;

        let payload = Bytes::from(payload);
        for subject in subjects {
            shared
                .client
                .publish(subject, payload.clone())
                .await
                .map_err(BridgeError::Publish)?;
        }
        Ok(scheduled)
    }
}

impl<A, K, R> fmt::Debug for RemoteSend<'_, A, K, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteSend")
            .field("signal", &self.remote.name)
            .field("keys", &self.keys.len())
            .field("named", &self.named)
            .finish_non_exhaustive()
    }
}
