//! The event callbacks receive, in the sends that lend it rather than
//! allocate it (sends with the default arguments to callbacks borrowing the
//! event: inline, from the send's stack frame; batched, or spawned to one
//! callback, from its task): what the callbacks see, what clones kept past the send hold,
//! and how such a send is accounted for when it runs, fails, or never runs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use signal_dispatch::{Event, Failure, Filter, Mode, Signal, SpawnError, Task, WeakSignal};

#[derive(Clone, Debug, Default, PartialEq)]
struct Args {
    level: u8,
}

type Seen = Event<Args, String, ()>;

fn inline_signal() -> Signal<Args> {
    Signal::builder(Args { level: 7 })
        .mode(Mode::Inline)
        .name("lent")
        .build()
}

/// Whether `event` holds what the sends of these tests hold: `signal`, the
/// key "news" and the sender "Ashley", and the default arguments.
fn is_the_sent_event(event: &Seen, signal: &Signal<Args>) -> bool {
    event.signal() == signal
        && event.keys() == ["news"]
        && event.senders().len() == 1
        && event.sender::<&str>().as_deref() == Some(&"Ashley")
        && event.args() == &Args { level: 7 }
}

/// The signal a callback compares with, held weakly: a callback holding
/// its own signal would keep it alive forever (a reference cycle).
fn upgrade(signal: &WeakSignal<Args>) -> Signal<Args> {
    signal.upgrade().expect("the test holds its signal")
}

#[test]
fn events_are_static_and_can_cross_threads() {
    fn assert_send_sync_static<T: Send + Sync + 'static>() {}
    assert_send_sync_static::<Event>();
    assert_send_sync_static::<Seen>();
}

#[test]
fn borrowing_callbacks_see_the_whole_event_in_keyed_and_unfiltered_sends() {
    let signal = inline_signal();
    let ashley = Arc::new("Ashley");
    let seen = Arc::new(Mutex::new(Vec::new()));
    {
        let (seen, this) = (seen.clone(), signal.downgrade());
        signal.connect_filtered(Filter::new().key("news"), move |event: &Seen| {
            seen.lock()
                .unwrap()
                .push(("keyed", is_the_sent_event(event, &upgrade(&this))));
        });
    }
    {
        let (seen, this) = (seen.clone(), signal.downgrade());
        signal.connect(move |event: &Seen| {
            let this = upgrade(&this);
            // Reached by both sends, keyed and not.
            let bare = event.signal() == &this
                && event.keys().is_empty()
                && event.senders().is_empty()
                && event.args().level == 7;
            let keyed = is_the_sent_event(event, &this);
            seen.lock().unwrap().push(("unfiltered", bare || keyed));
        });
    }
    let report = signal.send().key("news").sender(&ashley).call().unwrap();
    assert_eq!(report.scheduled(), 2);
    assert_eq!(signal.send().call().unwrap().scheduled(), 1);
    let mut seen = std::mem::take(&mut *seen.lock().unwrap());
    seen.sort();
    assert_eq!(
        seen,
        [("keyed", true), ("unfiltered", true), ("unfiltered", true)]
    );
}

/// Sends "news" from Ashley to `signal` and returns the events its
/// callbacks kept, checking each holds the send's data, and that they share
/// one copy of it (the sender is held by us and by that copy only).
fn kept_after_one_send(signal: &Signal<Args>, kept: &Mutex<Vec<Seen>>) -> usize {
    let ashley = Arc::new("Ashley");
    let report = signal.send().key("news").sender(&ashley).call().unwrap();
    assert!(report.is_success());
    let kept = std::mem::take(&mut *kept.lock().unwrap());
    assert!(kept.iter().all(|event| is_the_sent_event(event, signal)));
    assert_eq!(Arc::strong_count(&ashley), 2);
    let count = kept.len();
    drop(kept);
    assert_eq!(Arc::strong_count(&ashley), 1);
    count
}

#[test]
fn clones_kept_past_a_lent_send_hold_its_data_and_share_one_copy() {
    // Borrowing callbacks only, each cloning the event twice: the send
    // lends it, and the first clone copies it to the heap.
    let signal = inline_signal();
    let kept: Arc<Mutex<Vec<Seen>>> = Arc::default();
    for _ in 0..3 {
        let kept = kept.clone();
        signal.connect_filtered(Filter::new().key("news"), move |event: &Seen| {
            let mut kept = kept.lock().unwrap();
            kept.push(event.clone());
            kept.push(event.clone());
        });
    }
    assert_eq!(kept_after_one_send(&signal, &kept), 6);
}

#[test]
fn clones_kept_past_a_send_naming_nothing_hold_its_signal_and_defaults() {
    // A send naming no key and no sender lends an event that borrows the
    // signal alone; each clone, here also made on other threads, copies
    // the signal handle and outlives the send.
    let signal = inline_signal();
    let kept: Arc<Mutex<Vec<Seen>>> = Arc::default();
    for _ in 0..2 {
        let kept = kept.clone();
        signal.connect(move |event: &Seen| {
            kept.lock().unwrap().push(event.clone());
            std::thread::scope(|scope| {
                scope.spawn(|| kept.lock().unwrap().push(event.clone()));
            });
        });
    }
    let report = signal.send().call().unwrap();
    assert!(report.is_success());
    assert_eq!(report.scheduled(), 2);
    let kept = std::mem::take(&mut *kept.lock().unwrap());
    assert_eq!(kept.len(), 4);
    for event in &kept {
        assert!(event.signal() == &signal);
        assert!(event.keys().is_empty() && event.senders().is_empty());
        assert_eq!(event.args(), &Args { level: 7 });
        assert!(event.sender::<&str>().is_none());
        assert!(event.clone().signal() == &signal);
    }
}

#[test]
fn callbacks_taking_the_event_by_value_share_it_with_borrowing_ones() {
    let signal = inline_signal();
    let kept: Arc<Mutex<Vec<Seen>>> = Arc::default();
    for _ in 0..3 {
        let by_value = kept.clone();
        signal.connect_filtered(Filter::new().key("news"), move |event: Seen| {
            by_value.lock().unwrap().push(event);
        });
        let kept = kept.clone();
        signal.connect_filtered(Filter::new().key("news"), move |event: &Seen| {
            kept.lock().unwrap().push(event.clone());
        });
    }
    assert_eq!(kept_after_one_send(&signal, &kept), 6);
}

#[test]
fn clones_made_on_several_threads_at_once_share_one_copy() {
    let signal = inline_signal();
    let ashley = Arc::new("Ashley");
    let kept: Arc<Mutex<Vec<Seen>>> = Arc::default();
    {
        let kept = kept.clone();
        signal.connect_filtered(Filter::new().key("news"), move |event: &Seen| {
            std::thread::scope(|scope| {
                for _ in 0..4 {
                    scope.spawn(|| kept.lock().unwrap().push(event.clone()));
                }
            });
        });
    }
    signal.send().key("news").sender(&ashley).call().unwrap();
    let kept = std::mem::take(&mut *kept.lock().unwrap());
    assert_eq!(kept.len(), 4);
    assert!(kept.iter().all(|event| is_the_sent_event(event, &signal)));
    assert_eq!(Arc::strong_count(&ashley), 2);
}

#[test]
fn a_lent_send_is_in_flight_while_its_callbacks_run_and_counted_after() {
    let signal = inline_signal();
    let in_flight = Arc::new(AtomicUsize::new(usize::MAX));
    {
        let in_flight = in_flight.clone();
        signal.connect(move |event: &Seen| {
            in_flight.store(event.signal().in_flight(), Ordering::SeqCst)
        });
    }
    signal.connect(|_: &Seen| Err::<(), _>(std::io::Error::other("refused")));
    signal.connect(|_: &Seen| -> () { panic!("boom") });
    let report = signal.send().call().unwrap();
    assert_eq!(in_flight.load(Ordering::SeqCst), 1);
    assert_eq!(signal.in_flight(), 0);
    assert_eq!(report.scheduled(), 3);
    assert_eq!(report.completed(), 3);
    let failures = report.failures();
    assert_eq!(failures.len(), 2);
    assert!(failures[0].is_error() && failures[1].is_panic());
    assert!(failures.iter().all(|f| f.signal_name() == Some("lent")));
    let stats = signal.stats();
    assert_eq!((stats.sends, stats.scheduled), (1, 3));
    assert_eq!((stats.completed, stats.failed), (3, 2));
}

#[test]
fn a_callback_sending_again_gets_an_event_of_its_own() {
    let signal = inline_signal();
    let levels = Arc::new(Mutex::new(Vec::new()));
    {
        let levels = levels.clone();
        signal.connect(move |event: &Seen| {
            let level = event.args().level;
            levels.lock().unwrap().push(level);
            if level == 7 {
                // Given arguments: this send's event is not lent.
                let signal = event.signal();
                signal.send().args(Args { level: 8 }).call().unwrap();
                assert_eq!(event.args().level, 7);
            }
        });
    }
    signal.send().call().unwrap();
    assert_eq!(*levels.lock().unwrap(), [7, 8]);
}

/// The failures an error hook saw: whether each was a panic, and the
/// signal's name.
type Failures = Arc<Mutex<Vec<(bool, Option<String>)>>>;

/// A spawned signal whose tasks are kept in `tasks`, to be run (or dropped)
/// by the test, and whose failures go to `failures`.
fn spawned_signal(tasks: &Arc<Mutex<Vec<Task>>>, failures: &Failures) -> Signal<Args> {
    signal_in(Mode::Spawned, tasks, failures)
}

/// [`spawned_signal`] in `mode`.
fn signal_in(mode: Mode, tasks: &Arc<Mutex<Vec<Task>>>, failures: &Failures) -> Signal<Args> {
    let (tasks, failures) = (tasks.clone(), failures.clone());
    Signal::builder(Args { level: 7 })
        .mode(mode)
        .name("lent")
        .spawner(move |task: Task| {
            tasks.lock().unwrap().push(task);
            Ok(())
        })
        .on_error(move |failure: &Failure| {
            let name = failure.signal_name().map(str::to_owned);
            failures.lock().unwrap().push((failure.is_panic(), name));
        })
        .build()
}

#[test]
fn a_spawned_send_to_one_borrowing_callback_lends_it_the_whole_event() {
    let tasks = Arc::default();
    let failures = Failures::default();
    let signal = spawned_signal(&tasks, &failures);
    let kept: Arc<Mutex<Vec<Seen>>> = Arc::default();
    {
        let (kept, this) = (kept.clone(), signal.downgrade());
        signal.connect_filtered(Filter::new().key("news"), move |event: &Seen| {
            assert!(is_the_sent_event(event, &upgrade(&this)));
            kept.lock().unwrap().push(event.clone());
        });
    }
    let ashley = Arc::new("Ashley");
    let sent = signal.send().key("news").sender(&ashley).schedule();
    assert_eq!(sent.unwrap(), 1);
    // The task holds the send's sender until it runs, and the send is in
    // flight.
    assert_eq!((Arc::strong_count(&ashley), signal.in_flight()), (2, 1));
    let task = tasks.lock().unwrap().pop().unwrap();
    futures::executor::block_on(task);
    assert_eq!(signal.in_flight(), 0);
    let kept = std::mem::take(&mut *kept.lock().unwrap());
    assert_eq!(kept.len(), 1);
    assert!(is_the_sent_event(&kept[0], &signal));
    // The task is gone; the kept clone holds the one copy.
    assert_eq!(Arc::strong_count(&ashley), 2);
    drop(kept);
    assert_eq!(Arc::strong_count(&ashley), 1);
    let stats = signal.stats();
    assert_eq!((stats.sends, stats.scheduled, stats.completed), (1, 1, 1));
    assert!(failures.lock().unwrap().is_empty());
}

#[test]
fn a_spawned_lent_send_reports_its_failure_to_the_error_hook() {
    let tasks = Arc::default();
    let failures = Failures::default();
    let signal = spawned_signal(&tasks, &failures);
    signal.connect(|_: &Seen| -> () { panic!("boom") });
    assert_eq!(signal.send().schedule().unwrap(), 1);
    let task = tasks.lock().unwrap().pop().unwrap();
    futures::executor::block_on(task);
    assert_eq!(*failures.lock().unwrap(), [(true, Some("lent".into()))]);
    let stats = signal.stats();
    assert_eq!((stats.completed, stats.failed), (1, 1));
    assert_eq!(signal.in_flight(), 0);
}

#[test]
fn a_spawned_lent_send_whose_task_never_runs_ends_all_the_same() {
    let tasks: Arc<Mutex<Vec<Task>>> = Arc::default();
    let failures = Failures::default();
    let signal = spawned_signal(&tasks, &failures);
    let ran = Arc::new(AtomicUsize::new(0));
    {
        let ran = ran.clone();
        signal.connect(move |_: &Seen| {
            ran.fetch_add(1, Ordering::SeqCst);
        });
    }
    assert_eq!(signal.send().schedule().unwrap(), 1);
    assert_eq!(signal.in_flight(), 1);
    // The executor drops the task unrun (as a runtime shutting down does).
    tasks.lock().unwrap().clear();
    assert_eq!(signal.in_flight(), 0);
    futures::executor::block_on(signal.drained());
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    let stats = signal.stats();
    assert_eq!((stats.sends, stats.scheduled, stats.completed), (1, 1, 0));
}

#[test]
fn a_spawned_lent_send_refused_by_the_executor_ends_at_once() {
    let signal: Signal<Args> = Signal::builder(Args::default())
        .mode(Mode::Spawned)
        .spawner(|_: Task| Err(SpawnError::new("no room")))
        .build();
    signal.connect(|_: &Seen| {});
    let ashley = Arc::new("Ashley");
    let error = signal.send().sender(&ashley).schedule().unwrap_err();
    assert!(error.is_spawn());
    assert_eq!(error.scheduled(), 0);
    assert_eq!(signal.in_flight(), 0);
    assert_eq!(Arc::strong_count(&ashley), 1);
}

#[test]
fn a_batched_lent_send_runs_every_callback_in_one_task_and_ends_once() {
    let tasks: Arc<Mutex<Vec<Task>>> = Arc::default();
    let failures = Failures::default();
    let signal = signal_in(Mode::Batched, &tasks, &failures);
    let order = Arc::new(Mutex::new(Vec::new()));
    for n in 0..3 {
        let (order, this) = (order.clone(), signal.downgrade());
        signal.connect(move |event: &Seen| {
            assert!(event.signal() == &upgrade(&this) && event.keys().is_empty());
            assert_eq!(event.args().level, 7);
            order.lock().unwrap().push(n);
        });
    }
    signal.connect(|_: &Seen| Err::<(), _>(std::io::Error::other("refused")));
    assert_eq!(signal.send().schedule().unwrap(), 4);
    assert_eq!(signal.send().schedule().unwrap(), 4);
    assert_eq!(tasks.lock().unwrap().len(), 2);
    assert_eq!(signal.in_flight(), 2);
    let first = tasks.lock().unwrap().remove(0);
    futures::executor::block_on(first);
    assert_eq!(*order.lock().unwrap(), [0, 1, 2]);
    assert_eq!(*failures.lock().unwrap(), [(false, Some("lent".into()))]);
    assert_eq!(signal.in_flight(), 1);
    // The second send's task is dropped unrun: the send ends, nothing ran.
    tasks.lock().unwrap().clear();
    assert_eq!(signal.in_flight(), 0);
    assert_eq!(order.lock().unwrap().len(), 3);
    let stats = signal.stats();
    assert_eq!((stats.sends, stats.scheduled), (2, 8));
    assert_eq!((stats.completed, stats.failed), (4, 1));
}
