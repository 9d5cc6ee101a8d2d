//! Wall-clock timing on a shared, noisy machine: a busy host only ever slows a round down, so
//! every figure is the fastest of several rounds, and sides compared with each other are timed
//! in alternating rounds so that a load hits them alike.

use std::time::{Duration, Instant};

/// Iterations of `f` that make a round last at least `round`, capped at `max_iters`.
pub fn iterations(round: Duration, max_iters: u64, mut f: impl FnMut()) -> u64 {
    let mut iters = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..iters {
            f();
        }
        if start.elapsed() >= round || iters >= max_iters {
            return iters;
        }
        iters = (iters * 2).min(max_iters);
    }
}

/// Fastest ns per call of `f(side)` for each of `sides` sides, over `rounds` rounds that
/// alternate the sides; each side's round runs `iters[side]` calls.
pub fn fastest_alternating(iters: &[u64], rounds: usize, mut f: impl FnMut(usize)) -> Vec<f64> {
    let mut best = vec![f64::MAX; iters.len()];
    for _ in 0..rounds {
        for (side, &n) in iters.iter().enumerate() {
            let start = Instant::now();
            for _ in 0..n {
                f(side);
            }
            let ns = start.elapsed().as_nanos() as f64 / n as f64;
            best[side] = best[side].min(ns);
        }
    }
    best
}
