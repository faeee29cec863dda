//! Security: NATS authentication passes through, and server permissions
//! stop other clients from injecting signals.

mod common;

use std::time::Duration;

use common::{Message, NatsServer, drain, record};
use signal_dispatch::{Filter, Signal};
use signal_dispatch_nats::{Bridge, BridgeError};
use tokio::sync::mpsc;

#[tokio::test]
async fn user_and_password_are_required_and_wrong_ones_refused() {
    let server = NatsServer::start_with(&["--user", "alice", "--pass", "s3cret"]);
    let url = server.url();

    let anonymous = Bridge::connect(url.as_str(), Default::default()).await;
    assert!(
        matches!(anonymous, Err(BridgeError::Connect(_))),
        "no credentials: refused"
    );
    let wrong = async_nats::ConnectOptions::new().user_and_password("alice".into(), "guess".into());
    assert!(matches!(
        Bridge::connect(url.as_str(), wrong).await,
        Err(BridgeError::Connect(_))
    ));

    let login =
        || async_nats::ConnectOptions::new().user_and_password("alice".into(), "s3cret".into());
    let sender = Bridge::connect(url.as_str(), login())
        .await
        .expect("right credentials");
    let receiver = Bridge::connect(url.as_str(), login())
        .await
        .expect("right credentials");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let receiving: Signal<Message> = Signal::new();
    record(&receiving, Filter::new(), "delivered", &tx);
    let _attached = receiver.attach("secure", &receiving).await.unwrap();
    let sending: Signal<Message> = Signal::new();
    let remote = sender.attach("secure", &sending).await.unwrap();
    remote
        .send()
        .args(Message::default())
        .publish()
        .await
        .unwrap();
    assert_eq!(drain(&mut rx, Duration::from_millis(300)).await.len(), 1);
}

#[tokio::test]
async fn a_token_is_required() {
    let server = NatsServer::start_with(&["--auth", "t0ken"]);
    let url = server.url();
    assert!(
        Bridge::connect(url.as_str(), Default::default())
            .await
            .is_err()
    );
    let options = async_nats::ConnectOptions::new().token("t0ken".into());
    assert!(Bridge::connect(url.as_str(), options).await.is_ok());
}

#[tokio::test]
async fn permissions_stop_other_clients_from_injecting_signals() {
    // The configuration from the crate documentation: only `billing` may
    // publish on the `orders` signal; `web` may only listen.
    let server = NatsServer::start_with_config(
        r#"
        authorization {
          users = [
            { user: billing, password: "b",
              permissions: { publish: ["signal-dispatch.orders.>", "_INBOX.>"], subscribe: ["signal-dispatch.>", "_INBOX.>"] } }
            { user: web, password: "w",
              permissions: { publish: { allow: ["_INBOX.>"], deny: ["signal-dispatch.>"] }, subscribe: ["signal-dispatch.>", "_INBOX.>"] } }
          ]
        }
        "#,
    );
    let url = server.url();
    let as_user = |user: &str, password: &str| {
        async_nats::ConnectOptions::new().user_and_password(user.into(), password.into())
    };
    let billing = Bridge::connect(url.as_str(), as_user("billing", "b"))
        .await
        .unwrap();
    let web = Bridge::connect(url.as_str(), as_user("web", "w"))
        .await
        .unwrap();

    let (tx, mut rx) = mpsc::unbounded_channel();
    let listening: Signal<Message> = Signal::new();
    record(&listening, Filter::new(), "web heard", &tx);
    let web_orders = web.attach("orders", &listening).await.unwrap();

    let billing_signal: Signal<Message> = Signal::new();
    let billing_orders = billing.attach("orders", &billing_signal).await.unwrap();
    billing_orders
        .send()
        .args(Message {
            text: "from billing".into(),
            number: 1,
        })
        .publish()
        .await
        .unwrap();
    let heard = drain(&mut rx, Duration::from_millis(300)).await;
    assert_eq!(heard.len(), 1);
    assert_eq!(heard[0].message.text, "from billing");

    // `web` sends on the same signal: its own listener hears it (local
    // delivery), but the server refuses to route it anywhere.
    let billing_heard = {
        let (tx, rx) = mpsc::unbounded_channel();
        record(&billing_signal, Filter::new(), "billing heard", &tx);
        rx
    };
    web_orders
        .send()
        .args(Message {
            text: "injected".into(),
            number: 2,
        })
        .publish()
        .await
        .unwrap();
    let mut billing_heard = billing_heard;
    assert!(
        drain(&mut billing_heard, Duration::from_millis(500))
            .await
            .is_empty(),
        "injection refused by the server"
    );
    let local = drain(&mut rx, Duration::from_millis(100)).await;
    assert_eq!(local.len(), 1, "web's own local delivery");
}
