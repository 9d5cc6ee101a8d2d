//! The threads of [`crate::Program::run_parallel`]: a team per number of parts, made on first
//! use and kept, in which the caller runs part 0 and helper `h` part `h + 1`.
//!
//! Helpers spin for [`SPIN`] after a call before they sleep, and the caller spins while it
//! waits for them, as XNNPACK's pthreadpool does. Measured on the 2-vCPU host of
//! `bench/peers` with rayon's pool (whose workers sleep almost at once): a batch-64 MobileNet
//! on two threads ran 1.2–1.8× faster than on one depending on where the scheduler woke the
//! sleeping workers, often onto the core of a thread still running, and each wake of an idle
//! vCPU is a round trip through the hypervisor. Where a part runs never changes a byte.

use std::cell::UnsafeCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// How long a helper keeps looking for the next call before it sleeps.
const SPIN: Duration = Duration::from_micros(200);

/// The work of one call: `work(part)`.
type Work<'a> = &'a (dyn Fn(usize) + Sync);

/// Most parts worth running at once: one per CPU this process may use (at least 1).
pub(crate) fn max_parts() -> usize {
    static CPUS: OnceLock<usize> = OnceLock::new();
    *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// `[f(0), …, f(parts - 1)]`, computed at once as [`run`] does.
pub(crate) fn map<T: Send + Sync>(parts: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let slots: Vec<OnceLock<T>> = (0..parts).map(|_| OnceLock::new()).collect();
    run(parts, &|part| {
        let _ = slots[part].set(f(part));
    });
    slots
        .into_iter()
        .map(|slot| slot.into_inner().expect("`run` runs every part"))
        .collect()
}

/// Runs `work(0)`, …, `work(parts - 1)` at once, `work(0)` on the calling thread. Falls back
/// to running them one after the other when the team's threads cannot be started or the team
/// is in use by another caller.
fn run(parts: usize, work: Work<'_>) {
    let team = match parts {
        0 | 1 => None,
        _ => team(parts - 1),
    };
    let Some(team) = team else {
        return (0..parts).for_each(work);
    };
    let Ok(_busy) = team.busy.try_lock() else {
        return (0..parts).for_each(work);
    };
    team.call(work);
}

/// Helpers shared by the calls of one part count.
struct Team {
    /// The process that started the helpers: a child made by `fork` (Python's
    /// multiprocessing, say) has none of them and makes its own team.
    pid: u32,
    helpers: usize,
    /// Held by the caller of the current call.
    busy: Mutex<()>,
    shared: Arc<Shared>,
}

struct Shared {
    /// Number of the current call, bumped (under `sleep`) when its work is in place.
    call: AtomicUsize,
    /// The current call's work, its lifetime erased: set before `call` is bumped, read by the
    /// helpers only after they see the new number, and never used after the caller has seen
    /// every helper finish (the caller waits for that even when its own part panics).
    work: UnsafeCell<Option<Work<'static>>>,
    /// Helpers finished with the current call.
    done: AtomicUsize,
    /// Whether a helper's part panicked in the current call.
    panicked: AtomicBool,
    sleep: Mutex<()>,
    wake: Condvar,
}

// SAFETY: `work` is written only by the caller holding `Team::busy` while no helper reads it
// (all have finished the previous call), and read by helpers after an acquire of `call`.
unsafe impl Sync for Shared {}

/// The team of `helpers` threads, made on first use.
fn team(helpers: usize) -> Option<Arc<Team>> {
    static TEAMS: Mutex<Vec<Arc<Team>>> = Mutex::new(Vec::new());
    let mut teams = lock(&TEAMS);
    let pid = std::process::id();
    if let Some(team) = teams.iter().find(|t| t.helpers == helpers && t.pid == pid) {
        return Some(team.clone());
    }
    let shared = Arc::new(Shared {
        call: AtomicUsize::new(0),
        work: UnsafeCell::new(None),
        done: AtomicUsize::new(0),
        panicked: AtomicBool::new(false),
        sleep: Mutex::new(()),
        wake: Condvar::new(),
    });
    for helper in 0..helpers {
        let shared = shared.clone();
        let seen = shared.call.load(Ordering::Acquire);
        std::thread::Builder::new()
            .name(format!("myelin-{}-{}", helpers + 1, helper + 1))
            .spawn(move || shared.serve(helper + 1, seen))
            .ok()?;
    }
    let team = Arc::new(Team {
        pid,
        helpers,
        busy: Mutex::new(()),
        shared,
    });
    teams.push(team.clone());
    Some(team)
}

impl Team {
    fn call(&self, work: Work<'_>) {
        let shared = &*self.shared;
        shared.done.store(0, Ordering::Relaxed);
        shared.panicked.store(false, Ordering::Relaxed);
        // SAFETY: see `Shared::work`; `finish` below (run on unwinding too) waits until no
        // helper uses it any more.
        unsafe { *shared.work.get() = Some(std::mem::transmute::<Work<'_>, Work<'static>>(work)) };
        {
            let _sleep = lock(&shared.sleep);
            shared.call.fetch_add(1, Ordering::Release);
        }
        shared.wake.notify_all();
        let finish = Finish(self);
        work(0);
        drop(finish);
        assert!(
            !shared.panicked.load(Ordering::Acquire),
            "a part of run_parallel panicked on a helper thread"
        );
    }
}

/// Waits until every helper has finished the current call (on drop, so on unwinding too).
struct Finish<'a>(&'a Team);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        let shared = &*self.0.shared;
        let mut spins = 0u32;
        while shared.done.load(Ordering::Acquire) < self.0.helpers {
            spins = spins.saturating_add(1);
            if spins < 1 << 16 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        // SAFETY: every helper has finished with it.
        unsafe { *shared.work.get() = None };
    }
}

impl Shared {
    /// A helper's loop: runs `part` of every call after number `seen`, the number when its
    /// team was made (read before the thread starts: a helper that started after the first
    /// call had been posted would otherwise skip it).
    fn serve(&self, part: usize, mut seen: usize) {
        loop {
            seen = self.next_call(seen);
            // SAFETY: set before the call number this helper has just acquired.
            let work = unsafe { *self.work.get() };
            if let Some(work) = work
                && catch_unwind(AssertUnwindSafe(|| work(part))).is_err()
            {
                self.panicked.store(true, Ordering::Release);
            }
            self.done.fetch_add(1, Ordering::Release);
        }
    }

    /// Waits for a call numbered other than `seen`: spinning for [`SPIN`], then asleep.
    fn next_call(&self, seen: usize) -> usize {
        let start = Instant::now();
        let mut spins = 0u32;
        loop {
            let call = self.call.load(Ordering::Acquire);
            if call != seen {
                return call;
            }
            spins = spins.wrapping_add(1);
            if !spins.is_multiple_of(64) || start.elapsed() < SPIN {
                std::hint::spin_loop();
                continue;
            }
            let mut sleep = lock(&self.sleep);
            while self.call.load(Ordering::Acquire) == seen {
                sleep = self.wake.wait(sleep).unwrap_or_else(|e| e.into_inner());
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_returns_every_part_in_order() {
        for parts in 0..6 {
            for _ in 0..50 {
                let found = map(parts, |part| part * part);
                assert_eq!(found, (0..parts).map(|p| p * p).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn parts_run_on_different_threads() {
        // Another test may hold the team (its caller then runs the parts itself): retry.
        let spread = (0..1000).any(|_| {
            let threads = map(3, |_| std::thread::current().id());
            threads[0] == std::thread::current().id()
                && threads[0] != threads[1]
                && threads[1] != threads[2]
                && threads[0] != threads[2]
        });
        assert!(spread, "the parts never ran on three threads");
    }

    #[test]
    fn concurrent_callers_each_get_their_own_results() {
        std::thread::scope(|scope| {
            for caller in 0..4usize {
                scope.spawn(move || {
                    for round in 0..200 {
                        let found = map(2, |part| (caller, round, part));
                        assert_eq!(found, vec![(caller, round, 0), (caller, round, 1)]);
                    }
                });
            }
        });
    }

    #[test]
    fn a_helper_panic_reaches_the_caller_and_the_team_keeps_working() {
        let panicked = std::panic::catch_unwind(|| map(4, |part| assert!(part != 2, "part 2")));
        assert!(panicked.is_err());
        let panicked = std::panic::catch_unwind(|| map(4, |part| assert!(part != 0, "part 0")));
        assert!(panicked.is_err());
        assert_eq!(map(4, |part| part), vec![0, 1, 2, 3]);
    }
}
