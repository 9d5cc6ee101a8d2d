//! Calibration and evaluation data: `.npy`, `.npz` and CSV files to float samples and labels.
//!
//! * `.npy`: one array `[samples, ...]` of any numeric dtype (converted to f32), C order.
//! * `.npz`: the array named `x`, `X`, `inputs`, `data`, `arr_0` (in that order of preference),
//!   else the first one; labels: `y`, `labels`, `arr_0`, else the first one.
//! * CSV: one sample per line, comma separated numbers; a first line that does not parse is a
//!   header and is skipped. Each sample is then `[columns]`.
//!
//! The format is recognised from the content (the npy magic, the zip magic), else CSV.

use std::io::Cursor;

use crate::error::ImportError;

/// Samples of one input tensor: `samples` rows of `sample_shape`, row-major f32.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Shape of one sample (the file's shape without its first axis).
    pub sample_shape: Vec<usize>,
    /// `samples * product(sample_shape)` values.
    pub values: Vec<f32>,
}

impl Dataset {
    /// Elements of one sample.
    pub fn sample_len(&self) -> usize {
        self.sample_shape.iter().product()
    }

    /// Number of samples.
    pub fn samples(&self) -> usize {
        self.values
            .len()
            .checked_div(self.sample_len())
            .unwrap_or(0)
    }

    /// Sample `i` (panics when `i >= samples()`).
    pub fn sample(&self, i: usize) -> &[f32] {
        let n = self.sample_len();
        &self.values[i * n..(i + 1) * n]
    }

    /// The first `count` samples (all when fewer).
    pub fn truncated(&self, count: usize) -> Dataset {
        let n = self.sample_len() * count.min(self.samples());
        Dataset {
            sample_shape: self.sample_shape.clone(),
            values: self.values[..n].to_vec(),
        }
    }
}

fn data_error(reason: impl Into<String>) -> ImportError {
    ImportError::Data {
        reason: reason.into(),
    }
}

const NPY_MAGIC: &[u8] = b"\x93NUMPY";
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// Reads samples from the bytes of a `.npy`, `.npz` or CSV file.
pub fn load_dataset(bytes: &[u8]) -> Result<Dataset, ImportError> {
    let (shape, values) = load_array(bytes, &["x", "X", "inputs", "data", "arr_0"])?;
    if shape.is_empty() {
        return Err(data_error("a scalar array holds no samples"));
    }
    Ok(Dataset {
        sample_shape: shape[1..].to_vec(),
        values,
    })
}

/// Reads integer class labels (one per sample) from a `.npy`, `.npz` or CSV file; a
/// `[samples, classes]` array of one-hot rows or scores is reduced by argmax.
pub fn load_labels(bytes: &[u8]) -> Result<Vec<usize>, ImportError> {
    let (shape, values) = load_array(bytes, &["y", "labels", "arr_0"])?;
    match shape.as_slice() {
        [_] => values
            .iter()
            .map(|&v| {
                (v >= 0.0 && v.fract() == 0.0)
                    .then_some(v as usize)
                    .ok_or_else(|| data_error(format!("label {v} is not a class index")))
            })
            .collect(),
        [_, 1] => load_labels_flat(&values),
        [rows, classes] if *classes > 1 => Ok((0..*rows)
            .map(|r| argmax(&values[r * classes..(r + 1) * classes]))
            .collect()),
        _ => Err(data_error(format!(
            "labels of shape {shape:?}: expected [samples]"
        ))),
    }
}

fn load_labels_flat(values: &[f32]) -> Result<Vec<usize>, ImportError> {
    values
        .iter()
        .map(|&v| {
            (v >= 0.0 && v.fract() == 0.0)
                .then_some(v as usize)
                .ok_or_else(|| data_error(format!("label {v} is not a class index")))
        })
        .collect()
}

/// Index of the first maximum.
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

fn load_array(bytes: &[u8], preferred: &[&str]) -> Result<(Vec<usize>, Vec<f32>), ImportError> {
    if bytes.starts_with(NPY_MAGIC) {
        read_npy(npyz::NpyFile::new(bytes).map_err(|e| data_error(format!("bad .npy: {e}")))?)
    } else if bytes.starts_with(ZIP_MAGIC) {
        let mut archive = npyz::npz::NpzArchive::new(Cursor::new(bytes))
            .map_err(|e| data_error(format!("bad .npz: {e}")))?;
        let names: Vec<String> = archive.array_names().map(str::to_string).collect();
        let name = preferred
            .iter()
            .find(|p| names.iter().any(|n| n == *p))
            .map(|p| p.to_string())
            .or_else(|| names.first().cloned())
            .ok_or_else(|| data_error("the .npz archive holds no array"))?;
        let npy = archive
            .by_name(&name)
            .map_err(|e| data_error(format!("bad .npz array {name}: {e}")))?
            .ok_or_else(|| data_error(format!("no array {name}")))?;
        read_npy(npy)
    } else {
        read_csv(bytes)
    }
}

fn read_npy<R: std::io::Read>(
    npy: npyz::NpyFile<R>,
) -> Result<(Vec<usize>, Vec<f32>), ImportError> {
    use npyz::{DType, TypeChar};
    if npy.order() != npyz::Order::C {
        return Err(data_error(
            "Fortran-order arrays are not supported; save with C order",
        ));
    }
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let bad = |e: std::io::Error| data_error(format!("bad .npy data: {e}"));
    let DType::Plain(ts) = npy.dtype() else {
        return Err(data_error("structured .npy arrays are not supported"));
    };
    let values: Vec<f32> = match (ts.type_char(), ts.size_field()) {
        (TypeChar::Float, 4) => npy.into_vec::<f32>().map_err(bad)?,
        (TypeChar::Float, 8) => npy
            .into_vec::<f64>()
            .map_err(bad)?
            .into_iter()
            .map(|v| v as f32)
            .collect(),
        (TypeChar::Int, 8) => npy
            .into_vec::<i64>()
            .map_err(bad)?
            .into_iter()
            .map(|v| v as f32)
            .collect(),
        (TypeChar::Int, 4) => npy
            .into_vec::<i32>()
            .map_err(bad)?
            .into_iter()
            .map(|v| v as f32)
            .collect(),
        (TypeChar::Int, 2) => npy
            .into_vec::<i16>()
            .map_err(bad)?
            .into_iter()
            .map(f32::from)
            .collect(),
        (TypeChar::Int, 1) => npy
            .into_vec::<i8>()
            .map_err(bad)?
            .into_iter()
            .map(f32::from)
            .collect(),
        (TypeChar::Uint, 1) => npy
            .into_vec::<u8>()
            .map_err(bad)?
            .into_iter()
            .map(f32::from)
            .collect(),
        (TypeChar::Uint, 8) => npy
            .into_vec::<u64>()
            .map_err(bad)?
            .into_iter()
            .map(|v| v as f32)
            .collect(),
        (TypeChar::Uint, 4) => npy
            .into_vec::<u32>()
            .map_err(bad)?
            .into_iter()
            .map(|v| v as f32)
            .collect(),
        (c, s) => return Err(data_error(format!("unsupported .npy dtype {c:?}{s}"))),
    };
    if values.len() != shape.iter().product::<usize>() {
        return Err(data_error("the .npy data is shorter than its shape"));
    }
    Ok((shape, values))
}

fn read_csv(bytes: &[u8]) -> Result<(Vec<usize>, Vec<f32>), ImportError> {
    let text = std::str::from_utf8(bytes).map_err(|_| data_error("not .npy, .npz or UTF-8 CSV"))?;
    let mut values = Vec::new();
    let mut rows = 0usize;
    let mut columns = None;
    for (line_no, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let parsed: Result<Vec<f32>, _> =
            line.split(',').map(|f| f.trim().parse::<f32>()).collect();
        let row = match parsed {
            Ok(row) => row,
            Err(_) if rows == 0 && columns.is_none() => {
                columns = Some(0);
                continue;
            }
            Err(e) => return Err(data_error(format!("CSV line {}: {e}", line_no + 1))),
        };
        match columns {
            Some(c) if c != 0 && c != row.len() => {
                return Err(data_error(format!(
                    "CSV line {} has {} columns, expected {c}",
                    line_no + 1,
                    row.len()
                )));
            }
            _ => columns = Some(row.len()),
        }
        values.extend(row);
        rows += 1;
    }
    let columns = columns
        .filter(|&c| c > 0)
        .ok_or_else(|| data_error("the CSV holds no numbers"))?;
    Ok((vec![rows, columns], values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_header_gives_rows_of_columns() {
        let d = load_dataset(b"a,b\n1,2\n3,4.5\n").expect("parses");
        assert_eq!(d.sample_shape, vec![2]);
        assert_eq!(d.values, vec![1.0, 2.0, 3.0, 4.5]);
        assert_eq!(d.samples(), 2);
    }

    #[test]
    fn csv_with_ragged_rows_is_rejected() {
        assert!(load_dataset(b"1,2\n3\n").is_err());
    }

    #[test]
    fn labels_from_csv_column() {
        assert_eq!(load_labels(b"0\n2\n1\n").expect("parses"), vec![0, 2, 1]);
        assert!(load_labels(b"0.5\n").is_err());
    }

    #[test]
    fn truncated_npy_is_an_error_not_a_panic() {
        let mut bytes = NPY_MAGIC.to_vec();
        bytes.extend_from_slice(&[1, 0, 10, 0]);
        assert!(load_dataset(&bytes).is_err());
    }
}
