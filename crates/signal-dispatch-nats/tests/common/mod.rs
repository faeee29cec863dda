//! A real `nats-server` for the tests, on a free loopback port.
#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use signal_dispatch::{Event, Filter, Signal};
use signal_dispatch_nats::{Bridge, BridgeError, BridgeOptions};
use tokio::sync::mpsc;

/// A `nats-server` process, killed when dropped.
pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    args: Vec<String>,
    _config: Option<tempfile_lite::TempFile>,
}

impl NatsServer {
    /// A server with no authentication.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// A server started with extra command-line arguments.
    pub fn start_with(args: &[&str]) -> Self {
        Self::start_on(free_port(), args)
    }

    /// A server on `port`, with extra command-line arguments.
    pub fn start_on(port: u16, args: &[&str]) -> Self {
        let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
        let child = spawn(port, &args);
        NatsServer {
            child: Some(child),
            port,
            args,
            _config: None,
        }
    }

    /// A server started with this configuration file text.
    pub fn start_with_config(config: &str) -> Self {
        let file = tempfile_lite::TempFile::new("nats.conf", config);
        let path = file.path().to_string_lossy().into_owned();
        let mut server = Self::start_with(&["-c", &path]);
        server._config = Some(file);
        server
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.child = Some(spawn(self.port, &self.args));
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER") {
        return path.into();
    }
    for candidate in [
        "/usr/sbin/nats-server",
        "/usr/bin/nats-server",
        "/usr/local/bin/nats-server",
    ] {
        if std::path::Path::new(candidate).exists() {
            return candidate.into();
        }
    }
    "nats-server".into()
}

fn spawn(port: u16, args: &[String]) -> Child {
    let child = Command::new(binary())
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdout(Stdio::null())
        .stderr(if std::env::var_os("NATS_SERVER_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .expect(
            "could not start nats-server: install it (`apt-get install nats-server`; \
             scripts/test-all.sh does) or set NATS_SERVER",
        );
    let mut child = child;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !greets(port) {
        assert!(
            Instant::now() < deadline,
            "nats-server did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    if let Ok(Some(status)) = child.try_wait() {
        panic!("nats-server exited ({status}): is port {port} taken?");
    }
    child
}

/// Whether a NATS server answers on `port`: it greets a new connection
/// with `INFO`. Accepting the connection is not enough: probing a port no
/// one listens on yet can connect the probe to itself (TCP simultaneous
/// open, when the kernel picks that very port as the probe's own), which
/// once let a test connect before its server was up.
fn greets(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut greeting = [0_u8; 4];
    std::io::Read::read_exact(&mut stream, &mut greeting).is_ok() && &greeting == b"INFO"
}

/// A port nothing listens on now, and never handed out before in this
/// process (tests run in parallel: two servers must not get one port).
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|address| address.port())
            .expect("a free loopback port");
        let mut given = GIVEN
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// A tiny temporary file, removed on drop (no crate needed for one file).
mod tempfile_lite {
    use std::path::{Path, PathBuf};

    pub struct TempFile(PathBuf);

    impl TempFile {
        pub fn new(name: &str, contents: &str) -> Self {
            static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let unique = format!(
                "signal-dispatch-nats-{}-{}-{name}",
                std::process::id(),
                NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            );
            let path = std::env::temp_dir().join(unique);
            std::fs::write(&path, contents).expect("write a temporary file");
            TempFile(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// The arguments of the test signals.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub text: String,
    pub number: u32,
}

/// One delivery, as a callback saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub label: &'static str,
    pub message: Message,
    pub keys: Vec<String>,
    pub senders: Vec<String>,
}

/// Connects a callback that reports each delivery on `tx`.
pub fn record(
    signal: &Signal<Message>,
    filter: Filter,
    label: &'static str,
    tx: &mpsc::UnboundedSender<Delivery>,
) {
    let tx = tx.clone();
    signal.connect_filtered(filter, move |event: Event<Message>| {
        let senders = event
            .senders()
            .iter()
            .filter_map(|sender| {
                sender
                    .downcast_ref::<signal_dispatch_nats::NamedSender>()
                    .map(|named| named.name().to_owned())
            })
            .collect();
        let _ = tx.send(Delivery {
            label,
            message: event.args().clone(),
            keys: event.keys().to_vec(),
            senders,
        });
    });
}

/// The next delivery, or `None` after `wait`.
pub async fn next(rx: &mut mpsc::UnboundedReceiver<Delivery>, wait: Duration) -> Option<Delivery> {
    tokio::time::timeout(wait, rx.recv()).await.ok().flatten()
}

/// Everything delivered within `wait`.
pub async fn drain(rx: &mut mpsc::UnboundedReceiver<Delivery>, wait: Duration) -> Vec<Delivery> {
    let mut all = Vec::new();
    while let Some(delivery) = next(rx, wait).await {
        all.push(delivery);
    }
    all
}

/// A bridge whose error hook records what it reports.
pub async fn bridge_with_errors(url: &str) -> (Bridge, Arc<Mutex<Vec<String>>>) {
    let errors = Arc::new(Mutex::new(Vec::new()));
    let seen = errors.clone();
    let client = async_nats::connect(url).await.expect("connect");
    let bridge = Bridge::with_options(
        client,
        BridgeOptions::new().on_error(move |error: &BridgeError| {
            seen.lock().unwrap().push(error.to_string());
        }),
    )
    .expect("valid options");
    (bridge, errors)
}

/// A bridge with default options.
pub async fn bridge(url: &str) -> Bridge {
    Bridge::connect(url, Default::default())
        .await
        .expect("connect")
}

/// Writes a line to stdout at once (the parent process reads it).
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").unwrap();
    out.flush().unwrap();
}

/// Two bridges on one server, as two processes would have them: one
/// attaches a receiving signal (its connections made first by `listen`),
/// the other a sending one, both under `name`.
pub struct Pair {
    pub sender: Bridge,
    pub receiver: Bridge,
    /// The sending side's attachment.
    pub remote: signal_dispatch_nats::RemoteSignal<Message, String, ()>,
    /// The receiving side's attachment.
    pub attached: signal_dispatch_nats::RemoteSignal<Message, String, ()>,
    pub receiving: Signal<Message>,
    pub tx: mpsc::UnboundedSender<Delivery>,
    pub rx: mpsc::UnboundedReceiver<Delivery>,
}

pub async fn pair(
    url: &str,
    name: &str,
    listen: impl FnOnce(&Bridge, &Signal<Message>, &mpsc::UnboundedSender<Delivery>),
) -> Pair {
    let sender = bridge(url).await;
    let receiver = bridge(url).await;
    let (tx, rx) = mpsc::unbounded_channel();
    let receiving: Signal<Message> = Signal::new();
    listen(&receiver, &receiving, &tx);
    let attached = receiver.attach(name, &receiving).await.expect("attach");
    let sending: Signal<Message> = Signal::new();
    let remote = sender.attach(name, &sending).await.expect("attach");
    Pair {
        sender,
        receiver,
        remote,
        attached,
        receiving,
        tx,
        rx,
    }
}

/// The labels of everything delivered within `wait`, sorted.
pub async fn labels(
    rx: &mut mpsc::UnboundedReceiver<Delivery>,
    wait: Duration,
) -> Vec<&'static str> {
    let mut labels: Vec<_> = drain(rx, wait).await.into_iter().map(|d| d.label).collect();
    labels.sort();
    labels
}
