//! What an emitter keeps on the heap, counted exactly: the promise behind
//! docs/BENCHMARKS.md's "10,000 emitters at 1 s in one process add less
//! than 16 MiB" (1,677 bytes an emitter, for everything: the heap, the
//! allocator's own words, the beat thread's queue), guarded here without
//! timing or resident-set noise. A counting allocator wraps the system's
//! in this test binary; the bytes live after the emitters started, minus
//! those before, divided by their number, must stay within the budget.

mod common;

use common::TempDir;
use lifesign::{Emitter, State};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::time::Duration;

/// Heap bytes an emitter may keep: its state, its paths, its record and
/// its share of the beat thread's queue. Measured at about 1,100 with the
/// paths of this test's folder; one buffer more per emitter (the encoding
/// of its record, as 0.2 kept) passes it.
const BUDGET_BYTES: isize = 1_400;

/// How many emitters are counted.
const EMITTERS: usize = 300;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only the
// counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Relaxed);
        // SAFETY: forwarded as given.
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Relaxed);
        // SAFETY: forwarded as given.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Relaxed);
        // SAFETY: forwarded as given.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Relaxed);
        // SAFETY: forwarded as given.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn an_emitter_keeps_no_more_heap_than_its_budget() {
    let dir = TempDir::new("memory");
    // The process's one-time costs (the beat and writer threads, the
    // identity, each thread's buffers) come first, outside the count.
    let warm = Emitter::start(dir.path("warm.json"), Duration::from_secs(1)).expect("start");
    std::thread::sleep(Duration::from_millis(1200));
    let paths: Vec<_> = (0..EMITTERS)
        .map(|i| dir.path(&format!("e{i:04}.json")))
        .collect();
    let mut emitters = Vec::with_capacity(EMITTERS);
    let before = LIVE.load(Relaxed);
    for p in &paths {
        let e = Emitter::start(p, Duration::from_secs(1)).expect("start");
        e.set_state(State::Ready, Some("serving")).expect("ready");
        emitters.push(e);
    }
    // Every emitter on the beat thread's queue, and written once more.
    std::thread::sleep(Duration::from_millis(1200));
    let per = (LIVE.load(Relaxed) - before) / EMITTERS as isize;
    eprintln!("an emitter keeps {per} heap bytes (budget {BUDGET_BYTES})");
    assert!(
        per <= BUDGET_BYTES,
        "an emitter keeps {per} heap bytes, over its budget of {BUDGET_BYTES}"
    );
    // The count sees what the emitters would keep with one buffer more
    // each, of the size their record encodes to.
    let len = std::fs::read(&paths[0]).expect("read").len();
    let buffers: Vec<Vec<u8>> = (0..EMITTERS).map(|_| Vec::with_capacity(len)).collect();
    let with_buffers = (LIVE.load(Relaxed) - before) / EMITTERS as isize;
    assert!(
        with_buffers > BUDGET_BYTES,
        "{with_buffers} bytes with a {len}-byte buffer each: the count would miss it"
    );
    drop(buffers);
    for e in emitters {
        e.stop().expect("stop");
    }
    warm.stop().expect("stop");
}
