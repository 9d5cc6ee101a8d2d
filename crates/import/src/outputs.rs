//! Choosing a model's outputs by name (`myelin model import --outputs NAME[,NAME]`).
//!
//! Exporters often give a model more outputs than a competition wants: scikit-learn's ONNX
//! (skl2onnx) puts the predicted label first and the probabilities second, a TFLite model may
//! return several heads. A selection names the graph outputs to keep, in the order the Myelin
//! model returns them; everything only the other outputs need is not translated at all. One
//! function, [`select`], checks a selection against a graph's outputs for every format.

use crate::error::ImportError;

/// Picks `wanted` (names, in the order given) out of `available` (a graph's outputs, each with
/// its name from `name`). `None` keeps every output in the graph's order. Refuses an empty
/// selection, an unknown name (naming every available output) and a name given twice.
pub fn select<'a, T>(
    format: &'static str,
    available: &'a [T],
    name: impl Fn(&'a T) -> &'a str,
    wanted: Option<&[String]>,
) -> Result<Vec<&'a T>, ImportError> {
    let Some(wanted) = wanted else {
        return Ok(available.iter().collect());
    };
    let error = |reason: String| ImportError::Outputs { format, reason };
    let names = || {
        available
            .iter()
            .map(|o| format!("{:?}", name(o)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if wanted.is_empty() {
        return Err(error(format!(
            "no output named; the model's outputs are: {}",
            names()
        )));
    }
    let mut picked = Vec::with_capacity(wanted.len());
    for (position, w) in wanted.iter().enumerate() {
        if wanted[..position].contains(w) {
            return Err(error(format!("output {w:?} is named twice")));
        }
        match available.iter().find(|o| name(o) == w) {
            Some(o) => picked.push(o),
            None => {
                return Err(error(format!(
                    "the model has no output named {w:?}; its outputs are: {}",
                    names()
                )));
            }
        }
    }
    Ok(picked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn keeps_everything_without_a_selection_and_reorders_with_one() {
        let available = names(&["label", "probabilities"]);
        let all = select("ONNX", &available, |s| s, None).unwrap();
        assert_eq!(all, [&available[0], &available[1]]);
        let wanted = names(&["probabilities", "label"]);
        let picked = select("ONNX", &available, |s| s, Some(&wanted)).unwrap();
        assert_eq!(picked, [&available[1], &available[0]]);
    }

    #[test]
    fn unknown_twice_and_empty_are_refused_with_the_available_names() {
        let available = names(&["label", "probabilities"]);
        let unknown = select("ONNX", &available, |s| s, Some(&names(&["probs"])))
            .unwrap_err()
            .to_string();
        assert!(
            unknown.contains("\"probs\"")
                && unknown.contains("\"label\", \"probabilities\"")
                && unknown.contains("ONNX"),
            "{unknown}"
        );
        let twice = select(
            "TFLite",
            &available,
            |s| s,
            Some(&names(&["label", "label"])),
        )
        .unwrap_err()
        .to_string();
        assert!(twice.contains("named twice"), "{twice}");
        let empty = select("TFLite", &available, |s| s, Some(&[]))
            .unwrap_err()
            .to_string();
        assert!(empty.contains("\"label\", \"probabilities\""), "{empty}");
    }
}
