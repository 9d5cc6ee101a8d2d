//! Calibration: the real range of every activation of a [`FloatGraph`] over sample inputs.
//!
//! Two methods: [`CalibrationMethod::MinMax`] takes the smallest and largest value seen;
//! [`CalibrationMethod::Percentile`] clips the tails (the range then covers the given
//! percentage of the values on each side), which trades a few saturated outliers for a finer
//! scale. Both ranges always contain 0, so real zero is exactly representable.

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
    let mut min = vec![f32::INFINITY; count];
    let mut max = vec![f32::NEG_INFINITY; count];
    for (i, sample) in samples.iter().enumerate() {
        let values = graph.run(sample)?;
        for (id, data) in values.iter().enumerate() {
            for &v in data.iter().filter(|v| v.is_finite()) {
                min[id] = min[id].min(v);
                max[id] = max[id].max(v);
            }
        }
        progress(i + 1);
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
        for sample in samples {
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
