//! Signals crossing processes through a real nats-server: keys, named
//! senders, interest, and exactly-once delivery.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Delivery, Message, NatsServer, bridge, drain, labels, next, pair, record, say};
use signal_dispatch::{Filter, Mode, Signal};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(10);
const QUIET: Duration = Duration::from_millis(300);

/// The other process of `two_processes_exchange_signals`: answers each
/// `ping` with a `pong` from the named sender `child`, and reports what it
/// received when told `bye`. Run only by that test (it needs PEER_NATS_URL).
#[tokio::test]
#[ignore = "run as a child process by two_processes_exchange_signals"]
async fn child_peer() {
    let url = std::env::var("PEER_NATS_URL").expect("PEER_NATS_URL");
    let bridge = bridge(&url).await;
    let signal: Signal<Message> = Signal::new();
    let (tx, mut rx) = mpsc::unbounded_channel();
    record(&signal, Filter::new().key("ping"), "ping", &tx);
    let remote = bridge.attach("chat", &signal).await.expect("attach");
    say("ready");
    let child = bridge.named_sender("child");
    let mut pings = 0;
    while let Some(delivery) = next(&mut rx, Duration::from_secs(60)).await {
        if delivery.message.text == "bye" {
            break;
        }
        pings += 1;
        remote
            .send()
            .key("pong")
            .sender(&child)
            .args(delivery.message)
            .publish()
            .await
            .expect("publish pong");
    }
    say(&format!("child received {pings} pings"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_exchange_signals_with_keys_and_named_senders() {
    let server = NatsServer::start();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_peer",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("PEER_NATS_URL", server.url())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the child process");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = tokio::task::spawn_blocking(move || {
        // The test harness may print on the same line first.
        let line = lines.find(|line| line.as_deref().map_or(true, |l| l.ends_with("ready")));
        (line, lines)
    });
    let (line, mut lines) = tokio::time::timeout(WAIT, ready)
        .await
        .expect("child ready")
        .unwrap();
    assert!(line.unwrap().unwrap().ends_with("ready"));

    let bridge = bridge(&server.url()).await;
    let signal: Signal<Message> = Signal::new();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let child_sender = bridge.named_sender("child");
    record(
        &signal,
        Filter::new().sender(&child_sender),
        "from child",
        &tx,
    );
    record(&signal, Filter::new().key("ping"), "own ping", &tx);
    let remote = bridge.attach("chat", &signal).await.expect("attach");

    const PINGS: u32 = 100;
    for number in 0..PINGS {
        let scheduled = remote
            .send()
            .key("ping")
            .args(Message {
                text: "ping".into(),
                number,
            })
            .publish()
            .await
            .expect("publish");
        assert_eq!(scheduled, 1, "our own ping listener, once");
    }
    let mut pongs = BTreeSet::new();
    let mut own = BTreeSet::new();
    while pongs.len() < PINGS as usize || own.len() < PINGS as usize {
        let delivery: Delivery = next(&mut rx, WAIT).await.expect("every pong arrives");
        match delivery.label {
            "from child" => {
                assert_eq!(delivery.keys, ["pong"]);
                assert_eq!(delivery.senders, ["child"]);
                assert!(
                    pongs.insert(delivery.message.number),
                    "pong {} twice",
                    delivery.message.number
                );
            }
            "own ping" => {
                assert!(
                    own.insert(delivery.message.number),
                    "own ping {} twice (echo?)",
                    delivery.message.number
                );
            }
            other => panic!("unexpected delivery {other}"),
        }
    }
    assert!(
        drain(&mut rx, QUIET).await.is_empty(),
        "nothing delivered twice"
    );

    remote
        .send()
        .key("ping")
        .args(Message {
            text: "bye".into(),
            number: 0,
        })
        .publish()
        .await
        .unwrap();
    let report = tokio::task::spawn_blocking(move || {
        let report = lines.find(|line| {
            line.as_deref()
                .map_or(true, |l| l.contains("child received"))
        });
        lines.for_each(drop); // read to the end, so the child can finish writing
        report
    });
    let report = tokio::time::timeout(WAIT, report)
        .await
        .expect("child reports")
        .unwrap();
    assert!(
        report
            .unwrap()
            .unwrap()
            .ends_with(&format!("child received {PINGS} pings"))
    );
    assert!(child.wait().unwrap().success());
}

#[tokio::test]
async fn a_send_reaches_everyattached_process_once_including_its_own() {
    let server = NatsServer::start();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut remotes = Vec::new();
    let mut signals = Vec::new();
    for label in ["first", "second", "third"] {
        let bridge = bridge(&server.url()).await;
        let signal: Signal<Message> = Signal::new();
        record(&signal, Filter::new(), label, &tx);
        remotes.push(bridge.attach("news", &signal).await.unwrap());
        signals.push(signal);
    }
    remotes[0]
        .send()
        .args(Message {
            text: "hello".into(),
            number: 1,
        })
        .publish()
        .await
        .unwrap();
    let mut labels: Vec<_> = drain(&mut rx, QUIET)
        .await
        .into_iter()
        .map(|d| d.label)
        .collect();
    labels.sort();
    assert_eq!(labels, ["first", "second", "third"]);
}

#[tokio::test]
async fn signals_in_inline_mode_send_and_receive_across_processes() {
    // The bridge awaits no send: an inline signal's deliveries, local and
    // remote, run as one task per send.
    let server = NatsServer::start();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut remotes = Vec::new();
    let mut signals = Vec::new();
    for label in ["sending", "receiving"] {
        let bridge = bridge(&server.url()).await;
        let signal: Signal<Message> = Signal::builder(Message::default())
            .mode(Mode::Inline)
            .build();
        record(&signal, Filter::new().key("k"), label, &tx);
        remotes.push(bridge.attach("inline", &signal).await.unwrap());
        signals.push(signal);
    }
    let message = Message {
        text: "inline".into(),
        number: 3,
    };
    let send = remotes[0].send().key("k").args(message.clone());
    assert_eq!(send.publish().await.unwrap(), 1);
    let mut seen: Vec<_> = drain(&mut rx, QUIET)
        .await
        .into_iter()
        .map(|d| (d.label, d.message))
        .collect();
    seen.sort_by_key(|(label, _)| *label);
    assert_eq!(seen, [("receiving", message.clone()), ("sending", message)]);
}

#[tokio::test]
async fn a_send_naming_several_matching_keys_runs_each_callback_once() {
    let server = NatsServer::start();
    let mut pair = pair(&server.url(), "multi", |receiver, receiving, tx| {
        record(receiving, Filter::new().keys(["a", "b"]), "keyed a+b", tx);
        let svc = receiver.named_sender("svc");
        record(receiving, Filter::new().sender(&svc), "by name", tx);
        record(receiving, Filter::new(), "unfiltered", tx);
    })
    .await;
    let message = Message {
        text: "once".into(),
        number: 7,
    };
    let send = pair.remote.send().keys(["a", "b", "c"]).named("svc");
    send.args(message).publish().await.unwrap();
    assert_eq!(
        labels(&mut pair.rx, QUIET).await,
        ["by name", "keyed a+b", "unfiltered"]
    );
}

#[tokio::test]
async fn filters_decide_across_processes_as_they_do_locally() {
    let server = NatsServer::start();
    let mut pair = pair(&server.url(), "orders", |receiver, receiving, tx| {
        record(receiving, Filter::new().key("eu"), "eu", tx);
        let billing = receiver.named_sender("billing");
        record(receiving, Filter::new().sender(&billing), "billing", tx);
    })
    .await;
    for (key, name) in [
        (None, None), // nobody listens to everything
        (Some("us"), None),
        (None, Some("shipping")),
        (Some("eu"), None),
        (None, Some("billing")),
    ] {
        let mut send = pair.remote.send().args(Message::default());
        if let Some(key) = key {
            send = send.key(key);
        }
        if let Some(name) = name {
            send = send.named(name);
        }
        send.publish().await.unwrap();
    }
    let delivered: Vec<_> = drain(&mut pair.rx, QUIET)
        .await
        .into_iter()
        .map(|d| d.label)
        .collect();
    assert_eq!(delivered, ["eu", "billing"]);
}

#[tokio::test]
async fn subscriptions_follow_interest() {
    let server = NatsServer::start();
    let sender = bridge(&server.url()).await;
    let receiver = bridge(&server.url()).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let receiving: Signal<Message> = Signal::new();
    let attached = receiver.attach("late", &receiving).await.unwrap();
    let sending: Signal<Message> = Signal::new();
    let remote = sender.attach("late", &sending).await.unwrap();

    // Connected after attaching: the bridge subscribes to the new key.
    let tx2 = tx.clone();
    let connection = receiving.connect_filtered(
        Filter::new().key("k"),
        move |event: signal_dispatch::Event<Message>| {
            let _ = tx2.send(Delivery {
                label: "late",
                message: event.args().clone(),
                keys: event.keys().to_vec(),
                senders: Vec::new(),
            });
        },
    );
    let mut delivered = false;
    for _ in 0..50 {
        remote
            .send()
            .key("k")
            .args(Message::default())
            .publish()
            .await
            .unwrap();
        if next(&mut rx, Duration::from_millis(100)).await.is_some() {
            delivered = true;
            break;
        }
    }
    assert!(delivered, "the new connection's key was subscribed");
    drain(&mut rx, QUIET).await;

    assert_eq!(attached.subjects(), ["signal-dispatch.late.key.k"]);

    // Disconnected: the subscription goes, so the server stops routing the
    // key here.
    connection.disconnect();
    let mut subjects = attached.subjects();
    for _ in 0..100 {
        if subjects.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        subjects = attached.subjects();
    }
    assert!(subjects.is_empty(), "still subscribed to {subjects:?}");

    // An unfiltered connection needs every send: one subscription covers all.
    let tx3 = tx.clone();
    receiving.connect(move |_: signal_dispatch::Event<Message>| {
        let _ = tx3.send(Delivery {
            label: "all",
            message: Message::default(),
            keys: Vec::new(),
            senders: Vec::new(),
        });
    });
    for _ in 0..100 {
        if attached.subjects() == ["signal-dispatch.late.>"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(attached.subjects(), ["signal-dispatch.late.>"]);
}

#[cfg(feature = "msgpack")]
#[tokio::test]
async fn processes_using_different_formats_understand_each_other() {
    use signal_dispatch_nats::{Bridge, BridgeOptions, Format};
    let server = NatsServer::start();
    let client = async_nats::connect(server.url()).await.unwrap();
    let compact =
        Bridge::with_options(client, BridgeOptions::new().format(Format::MessagePack)).unwrap();
    let plain = bridge(&server.url()).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let receiving: Signal<Message> = Signal::new();
    record(&receiving, Filter::new().key("k"), "json side", &tx);
    let _attached = plain.attach("formats", &receiving).await.unwrap();
    let sending: Signal<Message> = Signal::new();
    let remote = compact.attach("formats", &sending).await.unwrap();
    let message = Message {
        text: "packed".into(),
        number: 9,
    };
    remote
        .send()
        .key("k")
        .args(message.clone())
        .publish()
        .await
        .unwrap();
    let delivery = next(&mut rx, WAIT).await.expect("delivered");
    assert_eq!(delivery.message, message);
}
