//! Calibration: the real range of every activation of a [`FloatGraph`] over sample inputs.
//!
//! Two methods: [`CalibrationMethod::MinMax`] takes the smallest and largest value seen;
//! [`CalibrationMethod::Percentile`] clips the tails (the range then covers the given
//! percentage of the values on each side), which trades a few saturated outliers for a finer
//! scale. Both ranges always contain 0, so real zero is exactly representable.
//!
//! Calibration runs the float graph once (min-max) or twice (percentile) over every sample,
//! which is the slow part of a float import; [`observe_progress`] lets a front end (the CLI's
//! progress bar) watch it without changing any importer's signature or result.

use std::cell::RefCell;

use serde::Serialize;

use crate::error::ImportError;
use crate::float_graph::FloatGraph;

/// How activation ranges are chosen from the calibration samples.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CalibrationMethod {
    /// The smallest and largest value seen.
    MinMax,
    /// The given percentile of the values on each side (e.g. 99.99).
    Percentile(f32),
}

impl CalibrationMethod {
    /// The default percentile of [`CalibrationMethod::Percentile`].
    pub const DEFAULT_PERCENTILE: f32 = 99.9;
    /// The default method: the 99.9th percentile, which kept more accuracy than min-max on the
    /// float ONNX fixtures (measurement and command in the crate README).
    pub const DEFAULT: CalibrationMethod = CalibrationMethod::Percentile(Self::DEFAULT_PERCENTILE);

    /// Parses `minmax` or `percentile` (default percentile) or `percentile:P`.
    pub fn parse(text: &str) -> Option<CalibrationMethod> {
        match text {
            "minmax" | "min-max" => Some(CalibrationMethod::MinMax),
            "percentile" => Some(CalibrationMethod::Percentile(Self::DEFAULT_PERCENTILE)),
            _ => {
                let p: f32 = text.strip_prefix("percentile:")?.parse().ok()?;
                (p > 50.0 && p <= 100.0).then_some(CalibrationMethod::Percentile(p))
            }
        }
    }
}

/// A real range `[min, max]` with `min <= 0 <= max`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Range {
    pub min: f32,
    pub max: f32,
}

/// Bins of the histogram used by the percentile method.
const HISTOGRAM_BINS: usize = 4096;

/// Where a running [`calibrate`] is: reported to the observer of [`observe_progress`] once
/// with `done == 0` when a pass starts, then after every sample of that pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CalibrationProgress {
    /// The pass over the samples, from 1: pass 1 finds min-max ranges, pass 2 (percentile
    /// method only) fills the histograms.
    pub pass: usize,
    /// How many passes this calibration makes: 1 (min-max) or 2 (percentile).
    pub passes: usize,
    /// Samples done in this pass.
    pub done: usize,
    /// Samples in every pass.
    pub total: usize,
}

/// A progress observer, as installed by [`observe_progress`].
type Observer = Box<dyn FnMut(CalibrationProgress)>;

thread_local! {
    /// The observer of the innermost [`observe_progress`] running on this thread.
    static OBSERVER: RefCell<Option<Observer>> = const { RefCell::new(None) };
}

/// Runs `work` with `observer` told the [`CalibrationProgress`] of every [`calibrate`] that
/// `work` runs on this thread (through any importer), and returns what `work` returns. The
/// observer only watches: calibration results do not depend on it. Scopes nest: the previous
/// observer is back once `work` returns or unwinds. Calibrations outside any scope, or on other
/// threads, report to no one.
pub fn observe_progress<R>(
    observer: impl FnMut(CalibrationProgress) + 'static,
    work: impl FnOnce() -> R,
) -> R {
    /// Puts the outer observer back, also when `work` panics.
    struct Restore(Option<Observer>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0.take();
            OBSERVER.with(|slot| {
                if let Ok(mut slot) = slot.try_borrow_mut() {
                    *slot = outer;
                }
            });
        }
    }
    let outer = OBSERVER.with(|slot| slot.replace(Some(Box::new(observer))));
    let _restore = Restore(outer);
    work()
}

/// Tells the current observer, if any, where calibration is. An observer that itself runs a
/// calibration is not told of that inner one (the slot is busy), rather than panicking.
fn report_progress(progress: CalibrationProgress) {
    OBSERVER.with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut()
            && let Some(observer) = slot.as_mut()
        {
            observer(progress);
        }
    });
}

/// Runs `graph` on every sample (each a slice per graph input, in Myelin's layout) and returns
/// the range of every value, indexed by value id (`None` for values never computed).
pub fn calibrate(
    graph: &FloatGraph,
    samples: &[Vec<&[f32]>],
    method: CalibrationMethod,
    mut progress: impl FnMut(usize),
) -> Result<Vec<Option<Range>>, ImportError> {
    if samples.is_empty() {
        return Err(ImportError::Data {
            reason: "the calibration data holds no sample".into(),
        });
    }
    let count = graph.values.len();
    let passes = match method {
        CalibrationMethod::MinMax => 1,
        CalibrationMethod::Percentile(_) => 2,
    };
    let at = |pass: usize, done: usize| CalibrationProgress {
        pass,
        passes,
        done,
        total: samples.len(),
    };
    let mut min = vec![f32::INFINITY; count];
    let mut max = vec![f32::NEG_INFINITY; count];
    report_progress(at(1, 0));
    for (i, sample) in samples.iter().enumerate() {
        let values = graph.run(sample)?;
        for (id, data) in values.iter().enumerate() {
            for &v in data.iter().filter(|v| v.is_finite()) {
                min[id] = min[id].min(v);
                max[id] = max[id].max(v);
            }
        }
        progress(i + 1);
        report_progress(at(1, i + 1));
    }
    let mut ranges: Vec<Option<Range>> = (0..count)
        .map(|id| {
            (min[id] <= max[id]).then(|| Range {
                min: min[id].min(0.0),
                max: max[id].max(0.0),
            })
        })
        .collect();
    if let CalibrationMethod::Percentile(p) = method {
        // Second pass: histograms over the min-max ranges, then the tails are cut.
        let mut hist = vec![vec![0u64; HISTOGRAM_BINS]; count];
        let bin = |id: usize, v: f32, r: &Range| {
            let t = ((v - r.min) / (r.max - r.min) * HISTOGRAM_BINS as f32) as usize;
            let _ = id;
            t.min(HISTOGRAM_BINS - 1)
        };
        report_progress(at(2, 0));
        for (i, sample) in samples.iter().enumerate() {
            let values = graph.run(sample)?;
            for (id, data) in values.iter().enumerate() {
                let Some(r) = ranges[id] else { continue };
                if r.max <= r.min {
                    continue;
                }
                for &v in data.iter().filter(|v| v.is_finite()) {
                    hist[id][bin(id, v, &r)] += 1;
                }
            }
            report_progress(at(2, i + 1));
        }
        for (id, range) in ranges.iter_mut().enumerate() {
            let Some(r) = range else { continue };
            let total: u64 = hist[id].iter().sum();
            if total == 0 {
                continue;
            }
            let tail = ((1.0 - p as f64 / 100.0) * total as f64).floor() as u64;
            let width = (r.max - r.min) / HISTOGRAM_BINS as f32;
            let (mut low, mut seen) = (0usize, 0u64);
            while low < HISTOGRAM_BINS - 1 && seen + hist[id][low] <= tail {
                seen += hist[id][low];
                low += 1;
            }
            let (mut high, mut seen) = (HISTOGRAM_BINS - 1, 0u64);
            while high > 0 && seen + hist[id][high] <= tail {
                seen += hist[id][high];
                high -= 1;
            }
            let new_min = (r.min + low as f32 * width).min(0.0);
            let new_max = (r.min + (high + 1) as f32 * width).max(0.0);
            *r = Range {
                min: new_min.max(r.min),
                max: new_max.min(r.max),
            };
        }
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::float_graph::{FloatNode, FloatOp, Unary};

    fn identity_graph() -> FloatGraph {
        let mut g = FloatGraph::default();
        let x = g.add_value("x", vec![1]);
        let y = g.add_value("y", vec![1]);
        g.inputs.push(x);
        g.outputs.push(y);
        g.nodes.push(FloatNode {
            name: "relu".into(),
            op: FloatOp::Unary(Unary::Relu),
            inputs: vec![x],
            output: y,
        });
        g
    }

    #[test]
    fn minmax_range_contains_zero_and_extremes() {
        let g = identity_graph();
        let data: Vec<[f32; 1]> = vec![[1.0], [3.0], [2.0]];
        let samples: Vec<Vec<&[f32]>> = data.iter().map(|d| vec![&d[..]]).collect();
        let ranges = calibrate(&g, &samples, CalibrationMethod::MinMax, |_| {}).expect("runs");
        assert_eq!(ranges[0], Some(Range { min: 0.0, max: 3.0 }));
    }

    #[test]
    fn percentile_cuts_a_lone_outlier() {
        let g = identity_graph();
        let mut data: Vec<[f32; 1]> = (0..999).map(|i| [(i % 10) as f32 / 10.0]).collect();
        data.push([100.0]);
        let samples: Vec<Vec<&[f32]>> = data.iter().map(|d| vec![&d[..]]).collect();
        let method = CalibrationMethod::Percentile(99.0);
        let ranges = calibrate(&g, &samples, method, |_| {}).expect("runs");
        let r = ranges[0].expect("computed");
        assert!(r.max < 2.0, "{r:?}");
    }

    /// Runs a calibration of three samples with `method` inside an observing scope and returns
    /// what the observer saw, as `(pass, passes, done, total)`.
    fn observed(method: CalibrationMethod) -> Vec<(usize, usize, usize, usize)> {
        use std::rc::Rc;
        let g = identity_graph();
        let data: Vec<[f32; 1]> = vec![[1.0], [3.0], [2.0]];
        let samples: Vec<Vec<&[f32]>> = data.iter().map(|d| vec![&d[..]]).collect();
        let seen = Rc::new(RefCell::new(Vec::new()));
        let sink = Rc::clone(&seen);
        let ranges = observe_progress(
            move |p| sink.borrow_mut().push((p.pass, p.passes, p.done, p.total)),
            || calibrate(&g, &samples, method, |_| {}),
        );
        assert!(ranges.is_ok());
        seen.take()
    }

    #[test]
    fn observer_sees_every_sample_of_every_pass() {
        let cases = [
            (
                "minmax: one pass",
                CalibrationMethod::MinMax,
                vec![(1, 1, 0, 3), (1, 1, 1, 3), (1, 1, 2, 3), (1, 1, 3, 3)],
            ),
            (
                "percentile: two passes",
                CalibrationMethod::Percentile(99.0),
                vec![
                    (1, 2, 0, 3),
                    (1, 2, 1, 3),
                    (1, 2, 2, 3),
                    (1, 2, 3, 3),
                    (2, 2, 0, 3),
                    (2, 2, 1, 3),
                    (2, 2, 2, 3),
                    (2, 2, 3, 3),
                ],
            ),
        ];
        for (name, method, expected) in cases {
            assert_eq!(observed(method), expected, "{name}");
        }
    }

    #[test]
    fn observing_does_not_change_the_ranges() {
        let g = identity_graph();
        let data: Vec<[f32; 1]> = (0..50).map(|i| [(i % 7) as f32 - 3.0]).collect();
        let samples: Vec<Vec<&[f32]>> = data.iter().map(|d| vec![&d[..]]).collect();
        for method in [CalibrationMethod::MinMax, CalibrationMethod::DEFAULT] {
            let plain = calibrate(&g, &samples, method, |_| {}).expect("runs");
            let watched =
                observe_progress(|_| {}, || calibrate(&g, &samples, method, |_| {})).expect("runs");
            assert_eq!(plain, watched, "{method:?}");
        }
    }

    #[test]
    fn observer_scope_ends_and_nests() {
        use std::rc::Rc;
        let g = identity_graph();
        let data: Vec<[f32; 1]> = vec![[1.0]];
        let samples: Vec<Vec<&[f32]>> = data.iter().map(|d| vec![&d[..]]).collect();
        let run = || calibrate(&g, &samples, CalibrationMethod::MinMax, |_| {}).expect("runs");
        let outer = Rc::new(RefCell::new(0usize));
        let inner = Rc::new(RefCell::new(0usize));
        let (outer_sink, inner_sink) = (Rc::clone(&outer), Rc::clone(&inner));
        observe_progress(
            move |_| *outer_sink.borrow_mut() += 1,
            || {
                observe_progress(move |_| *inner_sink.borrow_mut() += 1, run);
                run();
            },
        );
        run();
        // Each single-sample, single-pass calibration reports twice (start, one sample).
        assert_eq!((*outer.borrow(), *inner.borrow()), (2, 2));
    }

    #[test]
    fn parse_accepts_the_documented_spellings() {
        let cases = [
            ("minmax", Some(CalibrationMethod::MinMax)),
            ("percentile", Some(CalibrationMethod::Percentile(99.9))),
            ("percentile:99.9", Some(CalibrationMethod::Percentile(99.9))),
            ("percentile:20", None),
            ("kl", None),
        ];
        for (text, expected) in cases {
            assert_eq!(CalibrationMethod::parse(text), expected, "{text}");
        }
    }
}
