//! Which clock measures an age.
//!
//! A heartbeat carries two timestamps of every write: the wall clock
//! (`updated_at_ms`, Unix milliseconds, readable anywhere) and
//! `CLOCK_MONOTONIC` (`updated_mono_ms`), with what a checker needs to know
//! whether that monotonic reading means anything to it: the writer's
//! `boot_id` and `time_ns` (the inode of its time namespace).
//!
//! A checker on the same boot and in the same time namespace measures ages,
//! the `future` rule and the stall rule on `CLOCK_MONOTONIC`, so a wall-clock
//! step (NTP, an administrator fixing the date) changes no verdict. Anywhere
//! else (another boot, another time namespace, a writer that does not record
//! the field) it falls back to the wall clock.
//!
//! Why `CLOCK_MONOTONIC` and not `CLOCK_BOOTTIME`: while the machine is
//! suspended, neither the emitter nor the checker runs. `CLOCK_BOOTTIME`
//! counts the suspended time, so right after a resume every healthy emitter
//! would read as old as the suspend was long (stale) until its next beat:
//! the false kills after suspend that users of systemd's watchdog report.
//! `CLOCK_MONOTONIC` stops during a suspend, as the emitter's own beat timer
//! does (Rust's `Instant` is `CLOCK_MONOTONIC`), so an age counts only time
//! in which the emitter could have written. Both clocks restart at boot and
//! both are shifted by a time namespace's offsets, hence the two checks.

use crate::process::Identity;
use crate::protocol::Record;

/// `CLOCK_MONOTONIC` in milliseconds.
pub fn mono_ms() -> u64 {
    mono_us() / 1000
}

/// `CLOCK_MONOTONIC` in microseconds (systemd's `MONOTONIC_USEC`).
pub fn mono_us() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64).saturating_mul(1_000_000) + (ts.tv_nsec as u64) / 1000
}

/// The wall clock, Unix milliseconds (0 before the epoch).
pub fn wall_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid, writable timespec; CLOCK_REALTIME always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    match u64::try_from(ts.tv_sec) {
        Ok(s) => s.saturating_mul(1000) + (ts.tv_nsec as u64) / 1_000_000,
        Err(_) => 0,
    }
}

/// Stamps a write: both clocks into `updated_*`, and into `progress_*`
/// when the work-progress counter moved.
pub fn stamp(r: &mut Record, progressed: bool) {
    let (wall, mono) = (wall_ms(), mono_ms());
    r.updated_at_ms = wall;
    r.updated_mono_ms = Some(mono);
    r.time_ns = crate::process::time_ns();
    if progressed {
        r.progress_at_ms = Some(wall);
        r.progress_mono_ms = Some(mono);
    }
}

/// The ages of a record as seen by one checker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ages {
    /// How old the write is (0 when it is dated ahead).
    pub age_ms: u64,
    /// How far ahead of the checker the write is dated (0 when it is not).
    pub ahead_ms: u64,
    /// How long ago progress last moved, when the record says.
    pub progress_age_ms: Option<u64>,
    /// Whether the ages were measured on `CLOCK_MONOTONIC`.
    pub monotonic: bool,
}

/// Whether the record's monotonic stamps are on the checker's clock: the
/// same boot and the same time namespace, both known on both sides.
pub fn same_clock(r: &Record, id: &Identity) -> bool {
    let same_boot = id.same_boot(r.boot_id.as_deref()) == Some(true);
    let same_ns = matches!((r.time_ns, id.time_ns), (Some(a), Some(b)) if a == b);
    same_boot && same_ns
}

/// Measures a record's ages on `CLOCK_MONOTONIC` when [`same_clock`] holds
/// and the checker read that clock, else on the wall clock, which `now_ms`
/// reads only then: a checker of a record on its own monotonic clock reads
/// one clock, not two.
pub fn ages(
    r: &Record,
    now_ms: impl FnOnce() -> u64,
    now_mono_ms: Option<u64>,
    id: &Identity,
) -> Ages {
    let since = |now: u64, at: u64| now.saturating_sub(at);
    if let (Some(now), Some(at)) = (now_mono_ms, r.updated_mono_ms) {
        if same_clock(r, id) {
            return Ages {
                age_ms: since(now, at),
                ahead_ms: since(at, now),
                // progress_at_ms says whether progress is recorded at all
                // (rule 8): progress_mono_ms alone decides nothing.
                progress_age_ms: r.progress_at_ms.map(|at| {
                    r.progress_mono_ms
                        .map_or_else(|| since(now_ms(), at), |p| since(now, p))
                }),
                monotonic: true,
            };
        }
    }
    let now_ms = now_ms();
    Ages {
        age_ms: since(now_ms, r.updated_at_ms),
        ahead_ms: since(r.updated_at_ms, now_ms),
        progress_age_ms: r.progress_at_ms.map(|p| since(now_ms, p)),
        monotonic: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> Identity {
        Identity {
            boot_id: Some("b".into()),
            time_ns: Some(7),
            ..Identity::default()
        }
    }

    fn rec() -> Record {
        Record {
            updated_at_ms: 10_000,
            updated_mono_ms: Some(500),
            progress_at_ms: Some(9_000),
            progress_mono_ms: Some(400),
            boot_id: Some("b".into()),
            time_ns: Some(7),
            ..Record::default()
        }
    }

    #[test]
    fn same_boot_and_time_namespace_measure_on_the_monotonic_clock() {
        // The wall clock jumped an hour ahead; the monotonic one did not.
        let a = ages(&rec(), || 10_000 + 3_600_000, Some(600), &id());
        assert_eq!(
            a,
            Ages {
                age_ms: 100,
                ahead_ms: 0,
                progress_age_ms: Some(200),
                monotonic: true
            }
        );
        let ahead = ages(&rec(), || 0, Some(200), &id());
        assert_eq!((ahead.age_ms, ahead.ahead_ms), (0, 300));
    }

    #[test]
    fn another_boot_another_time_namespace_or_no_field_fall_back_to_the_wall_clock() {
        let wall = |r: &Record, i: &Identity| ages(r, || 12_000, Some(600), i);
        let other_boot = Identity {
            boot_id: Some("c".into()),
            ..id()
        };
        let other_ns = Identity {
            time_ns: Some(8),
            ..id()
        };
        let no_ns = Identity {
            time_ns: None,
            ..id()
        };
        let old_writer = Record {
            updated_mono_ms: None,
            ..rec()
        };
        for (r, i) in [
            (rec(), other_boot),
            (rec(), other_ns),
            (rec(), no_ns),
            (old_writer, id()),
        ] {
            let a = wall(&r, &i);
            assert!(!a.monotonic);
            assert_eq!((a.age_ms, a.progress_age_ms), (2_000, Some(3_000)));
        }
        assert!(!ages(&rec(), || 12_000, None, &id()).monotonic);
    }

    #[test]
    fn the_wall_clock_is_read_only_for_an_age_measured_on_it() {
        let unread = || -> u64 { panic!("the wall clock was read") };
        assert!(ages(&rec(), unread, Some(600), &id()).monotonic);
        // Progress with no monotonic stamp is measured on the wall clock.
        let wall_progress = Record {
            progress_mono_ms: None,
            ..rec()
        };
        let reads = std::cell::Cell::new(0);
        let wall = || {
            reads.set(reads.get() + 1);
            12_000
        };
        let a = ages(&wall_progress, wall, Some(600), &id());
        assert_eq!((a.age_ms, a.progress_age_ms, reads.get()), (100, Some(3_000), 1));
        let a = ages(&rec(), wall, None, &id());
        assert_eq!((a.monotonic, a.age_ms, reads.get()), (false, 2_000, 2));
    }

    #[test]
    fn progress_on_the_monotonic_clock_alone_is_no_progress_record() {
        let r = Record {
            progress_at_ms: None,
            ..rec()
        };
        assert_eq!(ages(&r, || 10_000, Some(600), &id()).progress_age_ms, None);
        assert_eq!(ages(&r, || 10_000, None, &id()).progress_age_ms, None);
    }

    #[test]
    fn monotonic_clock_reads_and_time_namespace_is_known_on_linux() {
        let (a, b) = (mono_ms(), mono_ms());
        assert!(b >= a);
        assert!(std::path::Path::new("/proc/self/ns/time").exists() <= crate::process::time_ns().is_some());
    }
}
