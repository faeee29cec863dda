//! Cross-process delivery through NATS: the bridge against raw publish and
//! subscribe with the same client (the floor), in one run.
//!
//! Needs a running nats-server; `scripts/bench-nats.sh` starts one and runs
//! this. Two connections stand for two processes: every message crosses the
//! server.
//!
//! ```sh
//! cargo run --release -p signal-dispatch-nats --example bench -- nats://127.0.0.1:4222 [--smoke] [--json PATH]
//! ```
//!
//! - latency: a ping goes out, the other side answers, the clock stops when
//!   the answer is back (round trip; median and 99th percentile);
//! - throughput: one side sends N messages as fast as it can, the clock
//!   stops when the other side has received all of them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use signal_dispatch::{Event, Filter, Signal};
use signal_dispatch_nats::Bridge;
use tokio::sync::{Notify, mpsc};

#[derive(Clone, Default, Serialize, Deserialize)]
struct Tick {
    number: u64,
    text: String,
}

struct Sizes {
    pings: usize,
    messages: u64,
    rounds: usize,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args
        .first()
        .cloned()
        .unwrap_or_else(|| "nats://127.0.0.1:4222".into());
    let sizes = if args.iter().any(|arg| arg == "--smoke") {
        Sizes {
            pings: 20,
            messages: 200,
            rounds: 1,
        }
    } else {
        Sizes {
            pings: 2_000,
            messages: 100_000,
            rounds: 5,
        }
    };
    let json = args
        .iter()
        .position(|arg| arg == "--json")
        .and_then(|at| args.get(at + 1).cloned());

    let mut bridge_rtt = Vec::new();
    let mut raw_rtt = Vec::new();
    let mut bridge_rate = Vec::new();
    let mut raw_rate = Vec::new();
    for round in 0..sizes.rounds {
        bridge_rtt.extend(bridge_latency(&url, sizes.pings, round).await?);
        raw_rtt.extend(raw_latency(&url, sizes.pings, round).await?);
        bridge_rate.push(bridge_throughput(&url, sizes.messages, round).await?);
        raw_rate.push(raw_throughput(&url, sizes.messages, round).await?);
        eprintln!("round {}/{}", round + 1, sizes.rounds);
    }
    let (b50, b99) = percentiles(&mut bridge_rtt);
    let (r50, r99) = percentiles(&mut raw_rtt);
    let b_rate = median(&mut bridge_rate);
    let r_rate = median(&mut raw_rate);
    println!("| measure | bridge | raw publish/subscribe (floor) | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| round trip, median | {:.1} µs | {:.1} µs | {:.2}× |",
        b50,
        r50,
        b50 / r50
    );
    println!(
        "| round trip, 99th percentile | {:.1} µs | {:.1} µs | {:.2}× |",
        b99,
        r99,
        b99 / r99
    );
    println!(
        "| throughput, one sender | {:.0} k/s | {:.0} k/s | {:.2}× |",
        b_rate / 1e3,
        r_rate / 1e3,
        r_rate / b_rate
    );
    if let Some(path) = json {
        let text = format!(
            "{{\n  \"round_trip_us\": {{\"bridge\": {{\"p50\": {b50:.1}, \"p99\": {b99:.1}}}, \"raw\": {{\"p50\": {r50:.1}, \"p99\": {r99:.1}}}}},\n  \"throughput_per_s\": {{\"bridge\": {b_rate:.0}, \"raw\": {r_rate:.0}}}\n}}\n"
        );
        std::fs::write(path, text)?;
    }
    Ok(())
}

fn percentiles(samples: &mut [f64]) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}

fn median(samples: &mut [f64]) -> f64 {
    percentiles(samples).0
}

/// Round trips through two bridges: `ping` from A, `pong` back from B.
async fn bridge_latency(
    url: &str,
    pings: usize,
    round: usize,
) -> Result<Vec<f64>, Box<dyn std::error::Error>> {
    let name = format!("bench.latency{round}");
    let a = Bridge::connect(url, Default::default()).await?;
    let b = Bridge::connect(url, Default::default()).await?;
    let b_signal: Signal<Tick> = Signal::new();
    let (ping_tx, mut ping_rx) = mpsc::unbounded_channel::<Tick>();
    b_signal.connect_filtered(Filter::new().key("ping"), move |event: Event<Tick>| {
        let _ = ping_tx.send(event.args().clone());
    });
    let b_remote = b.attach(&name, &b_signal).await?;
    tokio::spawn(async move {
        while let Some(tick) = ping_rx.recv().await {
            let _ = b_remote.send().key("pong").args(tick).publish().await;
        }
    });
    let a_signal: Signal<Tick> = Signal::new();
    let (pong_tx, mut pong_rx) = mpsc::unbounded_channel::<u64>();
    a_signal.connect_filtered(Filter::new().key("pong"), move |event: Event<Tick>| {
        let _ = pong_tx.send(event.args().number);
    });
    let a_remote = a.attach(&name, &a_signal).await?;
    let mut times = Vec::with_capacity(pings);
    for number in 0..pings as u64 + 10 {
        let start = Instant::now();
        a_remote
            .send()
            .key("ping")
            .args(Tick {
                number,
                text: "ping".into(),
            })
            .publish()
            .await?;
        let back = tokio::time::timeout(Duration::from_secs(5), pong_rx.recv()).await?;
        assert_eq!(back, Some(number));
        if number >= 10 {
            times.push(start.elapsed().as_secs_f64() * 1e6);
        }
    }
    Ok(times)
}

/// Round trips with raw publish and subscribe on the same client library.
async fn raw_latency(
    url: &str,
    pings: usize,
    round: usize,
) -> Result<Vec<f64>, Box<dyn std::error::Error>> {
    let a = async_nats::connect(url).await?;
    let b = async_nats::connect(url).await?;
    let ping = format!("raw.latency{round}.ping");
    let pong = format!("raw.latency{round}.pong");
    let mut b_sub = b.subscribe(ping.clone()).await?;
    let mut a_sub = a.subscribe(pong.clone()).await?;
    a.flush().await?;
    b.flush().await?;
    let answer = pong.clone();
    tokio::spawn(async move {
        while let Some(message) = b_sub.next().await {
            let _ = b.publish(answer.clone(), message.payload).await;
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut times = Vec::with_capacity(pings);
    for number in 0..pings as u64 + 10 {
        let start = Instant::now();
        let payload = serde_json::to_vec(&Tick {
            number,
            text: "ping".into(),
        })?;
        a.publish(ping.clone(), Bytes::from(payload)).await?;
        let back = tokio::time::timeout(Duration::from_secs(5), a_sub.next()).await?;
        let tick: Tick = serde_json::from_slice(&back.expect("pong").payload)?;
        assert_eq!(tick.number, number);
        if number >= 10 {
            times.push(start.elapsed().as_secs_f64() * 1e6);
        }
    }
    Ok(times)
}

/// Messages per second from one bridge to another.
async fn bridge_throughput(
    url: &str,
    messages: u64,
    round: usize,
) -> Result<f64, Box<dyn std::error::Error>> {
    let name = format!("bench.throughput{round}");
    let a = Bridge::connect(url, Default::default()).await?;
    let b = Bridge::connect(url, Default::default()).await?;
    let received = Arc::new(AtomicU64::new(0));
    let done = Arc::new(Notify::new());
    let b_signal: Signal<Tick> = Signal::new();
    {
        let received = received.clone();
        let done = done.clone();
        b_signal.connect_filtered(Filter::new().key("tick"), move |_: Event<Tick>| {
            if received.fetch_add(1, Ordering::Relaxed) + 1 == messages {
                done.notify_one();
            }
        });
    }
    let _b_remote = b.attach(&name, &b_signal).await?;
    let a_signal: Signal<Tick> = Signal::new();
    let a_remote = a.attach(&name, &a_signal).await?;
    let start = Instant::now();
    for number in 0..messages {
        a_remote
            .send()
            .key("tick")
            .args(Tick {
                number,
                text: "tick".into(),
            })
            .publish()
            .await?;
    }
    tokio::time::timeout(Duration::from_secs(120), done.notified()).await?;
    Ok(messages as f64 / start.elapsed().as_secs_f64())
}

/// Messages per second with raw publish and subscribe.
async fn raw_throughput(
    url: &str,
    messages: u64,
    round: usize,
) -> Result<f64, Box<dyn std::error::Error>> {
    let a = async_nats::connect(url).await?;
    let b = async_nats::connect(url).await?;
    let subject = format!("raw.throughput{round}");
    let mut sub = b.subscribe(subject.clone()).await?;
    b.flush().await?;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let receiver = tokio::spawn(async move {
        let mut count = 0;
        while let Some(message) = sub.next().await {
            let _tick: Tick = serde_json::from_slice(&message.payload).expect("a tick");
            count += 1;
            if count == messages {
                break;
            }
        }
    });
    let start = Instant::now();
    for number in 0..messages {
        let payload = serde_json::to_vec(&Tick {
            number,
            text: "tick".into(),
        })?;
        a.publish(subject.clone(), Bytes::from(payload)).await?;
    }
    tokio::time::timeout(Duration::from_secs(120), receiver).await??;
    Ok(messages as f64 / start.elapsed().as_secs_f64())
}
