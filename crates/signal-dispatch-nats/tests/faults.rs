//! Faults: no server, a server restart mid-stream, foreign and malformed
//! payloads, oversize sends, and keys that look like wildcards.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{
    Message, NatsServer, bridge, bridge_with_errors, drain, free_port, labels, next, pair, record,
};
use signal_dispatch::{Filter, Signal};
use signal_dispatch_nats::{Bridge, BridgeError};
use tokio::sync::mpsc;

const QUIET: Duration = Duration::from_millis(300);

#[tokio::test]
async fn no_server_at_start_is_a_clear_error() {
    let url = format!("nats://127.0.0.1:{}", free_port());
    let error = Bridge::connect(url.as_str(), Default::default())
        .await
        .expect_err("nothing listens there");
    assert!(matches!(error, BridgeError::Connect(_)));
    assert!(
        error.to_string().starts_with("could not connect to NATS"),
        "{error}"
    );
}

#[tokio::test]
async fn no_server_at_start_can_be_waited_for_when_configured() {
    let port = free_port();
    let url = format!("nats://127.0.0.1:{port}");
    let connecting = tokio::spawn(async move {
        let options = async_nats::ConnectOptions::new().retry_on_initial_connect();
        Bridge::connect(url.as_str(), options).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let server = NatsServer::start_on(port, &[]);
    let bridge = tokio::time::timeout(Duration::from_secs(20), connecting)
        .await
        .expect("connected once the server came")
        .unwrap()
        .expect("connected");
    drop((bridge, server));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_mid_stream_is_survived() {
    let mut server = NatsServer::start();
    let pair = pair(&server.url(), "restart", |_, receiving, tx| {
        record(receiving, Filter::new().key("k"), "remote", tx);
    })
    .await;
    let (remote, mut rx) = (pair.remote, pair.rx);
    record(remote.signal(), Filter::new().key("k"), "local", &pair.tx);
    let _attached = pair.attached;

    let message = |number| Message {
        text: "m".into(),
        number,
    };
    remote
        .send()
        .key("k")
        .args(message(1))
        .publish()
        .await
        .unwrap();
    assert_eq!(labels(&mut rx, QUIET).await, ["local", "remote"]);

    server.stop();
    // While the server is down, local delivery goes on, and publishing
    // does not block (the client buffers).
    for number in 2..5 {
        let published = tokio::time::timeout(
            Duration::from_secs(2),
            remote.send().key("k").args(message(number)).publish(),
        )
        .await
        .expect("publishing does not block while the server is down");
        assert_eq!(published.unwrap(), 1);
    }
    let during: Vec<_> = drain(&mut rx, QUIET).await;
    assert!(during.iter().filter(|d| d.label == "local").count() == 3);

    server.restart();
    // Both clients reconnect and the receiver's subscription is restored:
    // new sends arrive again.
    let mut resumed = false;
    for number in 100..300 {
        remote
            .send()
            .key("k")
            .args(message(number))
            .publish()
            .await
            .unwrap();
        let deliveries = drain(&mut rx, Duration::from_millis(100)).await;
        if deliveries
            .iter()
            .any(|d| d.label == "remote" && d.message.number >= 100)
        {
            resumed = true;
            break;
        }
    }
    assert!(resumed, "remote delivery resumed after the restart");
}

#[tokio::test]
async fn foreign_and_malformed_payloads_go_to_the_error_hook() {
    let server = NatsServer::start();
    let (receiver, errors) = bridge_with_errors(&server.url()).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let receiving: Signal<Message> = Signal::new();
    record(&receiving, Filter::new().key("k"), "delivered", &tx);
    let _attached = receiver.attach("robust", &receiving).await.unwrap();

    let raw = async_nats::connect(server.url()).await.unwrap();
    let subject = "signal-dispatch.robust.key.k";
    // An envelope as the crate documents it (`b"SD" 1`, format, origin,
    // sequence), then `body`.
    let envelope = |format: u8, sequence: u64, body: &[u8]| {
        let mut message = b"SD\x01".to_vec();
        message.push(format);
        message.push(8);
        message.extend_from_slice(b"intruder");
        message.extend_from_slice(&sequence.to_le_bytes());
        message.extend_from_slice(body);
        Bytes::from(message)
    };
    // No envelope at all: not a bridge send.
    raw.publish(subject, Bytes::from_static(b"hello"))
        .await
        .unwrap();
    // An envelope, but a body that is not JSON.
    raw.publish(subject, envelope(b'j', 1, b"\xff\x00{"))
        .await
        .unwrap();
    // Valid JSON of the wrong shape.
    raw.publish(subject, envelope(b'j', 2, b"{\"args\": 5}"))
        .await
        .unwrap();
    // A format this build does not know.
    raw.publish(subject, envelope(b'y', 3, b"args: 1"))
        .await
        .unwrap();
    // An envelope cut short.
    raw.publish(subject, Bytes::from_static(b"SD\x01j\x08intr"))
        .await
        .unwrap();
    raw.flush().await.unwrap();

    assert!(
        next(&mut rx, QUIET).await.is_none(),
        "nothing was delivered"
    );
    let mut reported = Vec::new();
    for _ in 0..50 {
        reported = errors.lock().unwrap().clone();
        if reported.len() == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(reported.len(), 5, "{reported:#?}");
    assert!(
        reported
            .iter()
            .all(|e| e.contains("signal-dispatch.robust.key.k")),
        "{reported:#?}"
    );
    assert!(reported[0].contains("not a bridge send"), "{reported:#?}");
    assert!(
        reported[3].contains("unknown format code 'y'"),
        "{reported:#?}"
    );
    assert!(reported[4].contains("cut short"), "{reported:#?}");

    // And the bridge still works.
    let sender = bridge(&server.url()).await;
    let sending: Signal<Message> = Signal::new();
    let remote = sender.attach("robust", &sending).await.unwrap();
    remote
        .send()
        .key("k")
        .args(Message::default())
        .publish()
        .await
        .unwrap();
    assert_eq!(
        next(&mut rx, Duration::from_secs(5)).await.unwrap().label,
        "delivered"
    );
}

#[tokio::test]
async fn an_oversize_send_is_a_clear_error_and_sends_nothing() {
    let server = NatsServer::start_with_config("max_payload: 1024\n");
    let sender = bridge(&server.url()).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let sending: Signal<Message> = Signal::new();
    record(&sending, Filter::new().key("k"), "local", &tx);
    let remote = sender.attach("big", &sending).await.unwrap();

    let big = Message {
        text: "x".repeat(4096),
        number: 0,
    };
    let error = remote
        .send()
        .key("k")
        .args(big)
        .publish()
        .await
        .expect_err("too big");
    match &error {
        BridgeError::PayloadTooLarge { size, max } => {
            assert_eq!(*max, 1024);
            assert!(*size > 4096);
        }
        other => panic!("unexpected error {other}"),
    }
    assert!(error.to_string().contains("nothing was sent"));
    assert!(next(&mut rx, QUIET).await.is_none(), "not even locally");

    let small = Message {
        text: "fits".into(),
        number: 1,
    };
    assert_eq!(
        remote.send().key("k").args(small).publish().await.unwrap(),
        1
    );
}

#[tokio::test]
async fn keys_that_look_like_wildcards_are_encoded_and_match_only_themselves() {
    const KEYS: [(&str, &str); 6] = [
        (">", "gt"),
        ("*", "star"),
        ("a.b", "dotted"),
        ("", "empty"),
        ("two words", "spaced"),
        ("a", "a"),
    ];
    let server = NatsServer::start();
    let pair = pair(&server.url(), "wild", |_, receiving, tx| {
        for (key, label) in KEYS {
            record(receiving, Filter::new().key(key), label, tx);
        }
    })
    .await;
    let (remote, mut rx) = (pair.remote, pair.rx);
    let subjects = pair.attached.subjects();
    assert!(
        subjects
            .iter()
            .all(|s| !s.contains('>') && !s.contains('*')),
        "{subjects:?}"
    );

    for (key, label) in KEYS.into_iter().chain([("b", "")]) {
        remote
            .send()
            .key(key)
            .args(Message::default())
            .publish()
            .await
            .unwrap();
        let got: Vec<_> = drain(&mut rx, Duration::from_millis(150))
            .await
            .into_iter()
            .map(|d| d.label)
            .collect();
        let expected: Vec<&str> = if label.is_empty() {
            vec![]
        } else {
            vec![label]
        };
        assert_eq!(got, expected, "key {key:?}");
    }
}

#[tokio::test]
async fn names_that_cannot_be_subjects_are_rejected() {
    let server = NatsServer::start();
    let bridge = bridge(&server.url()).await;
    let signal: Signal<Message> = Signal::new();
    for name in ["", "a..b", "orders.*", "orders.>", "with space"] {
        let error = bridge.attach(name, &signal).await.expect_err(name);
        assert!(
            matches!(error, BridgeError::InvalidName { .. }),
            "{name:?}: {error}"
        );
    }
    let client = async_nats::connect(server.url()).await.unwrap();
    let options = signal_dispatch_nats::BridgeOptions::new().prefix("bad prefix");
    assert!(matches!(
        Bridge::with_options(client, options),
        Err(BridgeError::InvalidName { .. })
    ));
    let remote = bridge.attach("ok", &signal).await.unwrap();
    let long = "k".repeat(10_000);
    let error = remote
        .send()
        .key(long)
        .publish()
        .await
        .expect_err("too long");
    assert!(matches!(error, BridgeError::TooLong { .. }), "{error}");
}
