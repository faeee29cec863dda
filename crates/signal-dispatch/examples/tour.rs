//! A tour of what signal-dispatch adds to the seed, one capability at a
//! time: awaiting sends, dispatch modes, backpressure, lifecycle controls,
//! streams, introspection, counters, and a second runtime.
//!
//! Run it with `cargo run -p signal-dispatch --example tour --all-features`.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use signal_dispatch::{Event, Filter, Lagged, Mode, Signal};

type Quote = Event<String, String, u32>;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    awaiting().await?;
    modes().await?;
    backpressure().await?;
    lifecycle().await?;
    streams().await?;
    introspection().await?;
    second_runtime()?;
    Ok(())
}

/// 1. Await a send: every callback's value, failures, and a deadline.
async fn awaiting() -> Result<(), Box<dyn std::error::Error>> {
    println!("== 1. awaiting a send");
    let quotes: Signal<String, String, u32> =
        Signal::builder("widget".to_string()).name("quotes").build();
    quotes.connect(|event: Quote| {
        println!("   acme quotes for {}", event.args());
        120
    });
    quotes.connect(|_: Quote| async {
        tokio::time::sleep(Duration::from_millis(5)).await;
        95
    });
    quotes.connect(|_: Quote| Err::<u32, _>("supplier offline"));

    let report = quotes.send().wait().await?;
    println!(
        "   {} quotes, {} failure(s): {}",
        report.values().len(),
        report.failures().len(),
        report.failures()[0]
    );
    println!("   best price: {}", report.fold(u32::MAX, u32::min));

    let slow = quotes.connect(|_: Quote| async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        1
    });
    let report = quotes
        .send()
        .wait_until(tokio::time::sleep(Duration::from_millis(50)))
        .await?;
    println!(
        "   with a 50 ms deadline: {} done, still running: {:?} (the slow one is {})",
        report.completed(),
        report.pending(),
        slow.id()
    );
    slow.disconnect();
    Ok(())
}

/// 2. Dispatch modes: a task per callback, one per send, or none; and a
///    synchronous call.
async fn modes() -> Result<(), Box<dyn std::error::Error>> {
    println!("== 2. dispatch modes");
    let signal: Signal<(), String, usize> = Signal::new();
    for n in 0..1000 {
        signal.connect(move |_: Event<(), String, usize>| n);
    }
    for mode in [Mode::Spawned, Mode::Batched, Mode::Inline] {
        let report = signal.send().mode(mode).wait().await?;
        println!(
            "   {mode:?}: {} callbacks, sum {}",
            report.completed(),
            report.fold(0, |a, b| a + b)
        );
    }
    // From synchronous code: the callbacks run before `call` returns.
    let report = std::thread::scope(|scope| scope.spawn(|| signal.send().call()).join())
        .expect("the calling thread panicked")?;
    println!(
        "   called from a plain thread: {} callbacks, sum {}",
        report.completed(),
        report.fold(0, |a, b| a + b)
    );
    Ok(())
}

/// 3. Backpressure: a bounded number of callbacks in flight.
async fn backpressure() -> Result<(), Box<dyn std::error::Error>> {
    println!("== 3. backpressure");
    let jobs: Signal<u32> = Signal::builder(0)
        .max_in_flight(NonZeroUsize::new(2).unwrap())
        .build();
    jobs.connect(|_: Event<u32>| tokio::time::sleep(Duration::from_millis(10)));
    jobs.send().args(1).schedule()?;
    jobs.send().args(2).schedule()?;
    match jobs.send().args(3).schedule() {
        Err(full) if full.is_full() => {
            let job = full.into_unsent().and_then(|unsent| unsent.into_args());
            println!("   job {job:?} refused: 2 already in flight; waiting for room instead");
            jobs.send().args(job.unwrap_or_default()).wait().await?;
        }
        other => println!("   unexpected: {other:?}"),
    }
    Ok(())
}

/// 4. Lifecycle: once, blocking, scoped connections, closing.
async fn lifecycle() -> Result<(), Box<dyn std::error::Error>> {
    println!("== 4. lifecycle");
    let ready: Signal = Signal::builder(()).name("ready").build();
    ready.connect_once(|_: Event| println!("   first ready: runs once"));
    println!(
        "   sends reach {} then {}",
        ready.send().schedule()?,
        ready.send().schedule()?
    );

    let connection = ready.connect(|_: Event| {});
    {
        let _quiet = connection.block();
        println!(
            "   while blocked, a send reaches {}",
            ready.send().schedule()?
        );
    }
    let during = ready.connected_to(|_: Event| {}, || ready.len());
    println!(
        "   connections inside connected_to: {during}, after: {}",
        ready.len()
    );

    ready.close();
    println!("   after close: {}", ready.send().schedule().unwrap_err());
    ready.drained().await;
    println!("   drained: {} sends in flight", ready.in_flight());
    Ok(())
}

/// 5. Streams: subscribe with a filter and a bounded buffer.
async fn streams() -> Result<(), Box<dyn std::error::Error>> {
    println!("== 5. streams");
    let prices: Signal<u32> = Signal::new();
    let mut ticks = prices.subscribe(Filter::new().key("ACME"), NonZeroUsize::new(3).unwrap());
    for price in 100..110 {
        prices.send().key("ACME").args(price).schedule()?;
    }
    prices.close();
    while let Some(item) = ticks.next().await {
        match item {
            Err(Lagged(missed)) => println!("   fell behind: missed {missed} ticks"),
            Ok(event) => println!("   tick {}", event.args()),
        }
    }
    Ok(())
}

/// 6 and 7. Introspection and counters.
async fn introspection() -> Result<(), Box<dyn std::error::Error>> {
    println!("== 6. introspection");
    let signal: Signal = Signal::builder(())
        .name("audit")
        .on_error(|_: &signal_dispatch::Failure| {})
        .build();
    let ops = Arc::new("ops team");
    signal.connect_filtered(Filter::new().sender(&ops).key("alert"), |_: Event| {});
    signal.connect(|_: Event| -> Result<(), &'static str> { Err("disk full") });
    println!(
        "   {} connections; {} for key alert, {} for the ops sender; a send keyed alert reaches {}",
        signal.len(),
        signal.count_key(&"alert".to_string()),
        signal.count_sender(&ops),
        signal.send().key("alert").receivers()
    );
    signal.send().key("alert").schedule()?;
    signal.drained().await;
    println!("== 7. counters");
    println!("   {:?}", signal.stats());
    println!("   {signal:?}");
    Ok(())
}

/// 8. The same signal on smol's executor (with `--features smol`).
fn second_runtime() -> Result<(), Box<dyn std::error::Error>> {
    println!("== 8. a second runtime");
    #[cfg(feature = "smol")]
    {
        let executor = Arc::new(async_executor::Executor::new());
        let signal: Signal = Signal::builder(()).spawner(executor.clone()).build();
        signal.connect(|_: Event| println!("   ran on async-executor"));
        let report = futures::executor::block_on(executor.run(signal.send().wait()))?;
        println!("   smol report: {} completed", report.completed());
    }
    #[cfg(not(feature = "smol"))]
    println!("   (run with --all-features to see it)");
    Ok(())
}
