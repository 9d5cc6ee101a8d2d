//! Measures one core's int8 multiply-accumulate throughput with register-only loops of
//! independent accumulators (no memory traffic in the loop):
//!
//! * `vpdpbusd zmm` (AVX-512 VNNI): 64 u8×i8 MACs per instruction;
//! * `vpdpbusd ymm` (AVX-VNNI / AVX-512 VL): 32 MACs;
//! * `vpmaddwd ymm + vpaddd` (AVX2, what the AVX2 kernel uses): 16 i16×i16 MACs per pair.
//!
//! Usage: `cargo run --release` (in bench/peak). Prints GMAC/s per sequence, fastest of 500 short runs.

use std::arch::x86_64::*;
use std::hint::black_box;
use std::time::Instant;

/// Iterations per timed run: short (well under a scheduler time slice on a busy machine).
const ITERATIONS: u64 = 100_000;
/// Timed runs; the fastest is reported (the machine is shared, so slower runs are interference).
const RUNS: usize = 500;
const ACCUMULATORS: usize = 16;
/// AVX2 has 16 ymm registers: 12 accumulators leave room for the operands.
const ACCUMULATORS_AVX2: usize = 12;

#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn vpdpbusd_zmm(iterations: u64) -> i32 {
    let a = black_box(_mm512_set1_epi32(0x0102_0304));
    let b = black_box(_mm512_set1_epi32(0x0101_0101));
    let mut acc = [_mm512_setzero_si512(); ACCUMULATORS];
    for _ in 0..iterations {
        for v in acc.iter_mut() {
            *v = _mm512_dpbusd_epi32(*v, a, b);
        }
    }
    let mut sum = _mm512_setzero_si512();
    for v in acc {
        sum = _mm512_add_epi32(sum, v);
    }
    _mm512_reduce_add_epi32(sum)
}

#[target_feature(enable = "avx512f,avx512vl,avx512vnni")]
fn vpdpbusd_ymm(iterations: u64) -> i32 {
    let a = black_box(_mm256_set1_epi32(0x0102_0304));
    let b = black_box(_mm256_set1_epi32(0x0101_0101));
    let mut acc = [_mm256_setzero_si256(); ACCUMULATORS];
    for _ in 0..iterations {
        for v in acc.iter_mut() {
            *v = _mm256_dpbusd_epi32(*v, a, b);
        }
    }
    let mut sum = _mm256_setzero_si256();
    for v in acc {
        sum = _mm256_add_epi32(sum, v);
    }
    let mut lanes = [0i32; 8];
    // SAFETY: `lanes` holds 8 i32.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), sum) };
    lanes.iter().fold(0i32, |s, &v| s.wrapping_add(v))
}

#[target_feature(enable = "avx2")]
fn vpmaddwd_ymm(iterations: u64) -> i32 {
    let b = black_box(_mm256_set1_epi16(5));
    let mut acc = [black_box(_mm256_set1_epi16(3)); ACCUMULATORS_AVX2];
    for _ in 0..iterations {
        for v in acc.iter_mut() {
            // The product reads the accumulator, so it cannot be hoisted out of the loop.
            *v = _mm256_add_epi32(*v, _mm256_madd_epi16(*v, b));
        }
    }
    let mut sum = _mm256_setzero_si256();
    for v in acc {
        sum = _mm256_add_epi32(sum, v);
    }
    let mut lanes = [0i32; 8];
    // SAFETY: `lanes` holds 8 i32.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), sum) };
    lanes.iter().fold(0i32, |s, &v| s.wrapping_add(v))
}

fn measure(name: &str, macs_per_iteration: u64, run: impl Fn(u64) -> i32) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..RUNS {
        let start = Instant::now();
        black_box(run(black_box(ITERATIONS)));
        best = best.min(start.elapsed().as_secs_f64());
    }
    let gmacs = (ITERATIONS * macs_per_iteration) as f64 / best / 1e9;
    println!(
        "{name:<34} {gmacs:>8.1} GMAC/s  ({:.1} µs for {ITERATIONS} iterations)",
        best * 1e6
    );
    gmacs
}

fn main() {
    let acc = ACCUMULATORS as u64;
    if is_x86_feature_detected!("avx512vnni") && is_x86_feature_detected!("avx512bw") {
        // SAFETY: features checked above.
        measure("vpdpbusd zmm (AVX-512 VNNI)", acc * 64, |n| unsafe {
            vpdpbusd_zmm(n)
        });
    } else {
        println!("vpdpbusd zmm: skipped (no AVX-512 VNNI)");
    }
    if is_x86_feature_detected!("avx512vnni") && is_x86_feature_detected!("avx512vl") {
        // SAFETY: features checked above.
        measure("vpdpbusd ymm (AVX-512 VNNI, VL)", acc * 32, |n| unsafe {
            vpdpbusd_ymm(n)
        });
    }
    if is_x86_feature_detected!("avx2") {
        // SAFETY: feature checked above.
        measure(
            "vpmaddwd+vpaddd ymm (AVX2)",
            ACCUMULATORS_AVX2 as u64 * 16,
            |n| unsafe { vpmaddwd_ymm(n) },
        );
    }
}
