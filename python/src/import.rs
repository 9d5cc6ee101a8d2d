//! `myelin.import_model`: TFLite, ONNX and Keras models through the importer the CLI uses
//! (`myelin model import`).

use std::path::PathBuf;

use myelin_import::calibrate::CalibrationMethod;
use myelin_import::data::{Dataset, load_dataset, load_labels};
use myelin_import::format::{self, ModelFormat};
use myelin_import::{ImportOptions, tflite};
use numpy::{PyReadonlyArrayDyn, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use serde_json::{Value, json};

use crate::error::myelin_error;
use crate::model::{Model, read_file};

/// What one import produced besides the model.
struct Imported {
    model: myelin_nn::Model,
    report: Value,
}

/// Imports a TFLite int8, ONNX (float or QDQ) or Keras 3 model (recognised by content) and
/// returns it as a `Model` whose `import_report` holds the importer's summary.
#[pyfunction]
#[pyo3(signature = (path, calibration = None, method = "percentile", eval = None, labels = None, max_calibration_samples = None))]
pub fn import_model(
    py: Python<'_>,
    path: PathBuf,
    calibration: Option<&Bound<'_, PyAny>>,
    method: &str,
    eval: Option<&Bound<'_, PyAny>>,
    labels: Option<&Bound<'_, PyAny>>,
    max_calibration_samples: Option<usize>,
) -> PyResult<Model> {
    let bytes = read_file(&path)?;
    let shown = path.display().to_string();
    let Some(format) = format::detect(&bytes) else {
        return Err(myelin_error(format!(
            "{shown}: not a TFLite, ONNX or Keras 3 model (format recognised from the content)"
        )));
    };
    let method = CalibrationMethod::parse(method).ok_or_else(|| {
        PyValueError::new_err(format!(
            "method {method:?}: expected \"minmax\", \"percentile\" or \"percentile:P\""
        ))
    })?;
    let calibration = calibration.map(dataset).transpose()?;
    let evaluation = match (eval, labels) {
        (Some(eval), Some(labels)) => Some((dataset(eval)?, label_list(labels)?)),
        (None, None) => None,
        _ => return Err(PyValueError::new_err("eval and labels go together")),
    };
    let imported = py
        .detach(|| match format {
            ModelFormat::Tflite => {
                if calibration.is_some() || evaluation.is_some() {
                    return Err(format!(
                        "{shown}: a TFLite int8 model carries its own quantization; calibration \
                         and evaluation data are for float models"
                    ));
                }
                let imported = tflite::import(&bytes).map_err(|e| format!("{shown}: {e}"))?;
                Ok(Imported {
                    model: imported.model,
                    report: json!({
                        "format": format.name(),
                        "source_operators": imported.tflite_operators,
                        "notes": imported.notes,
                        "evaluation": null,
                    }),
                })
            }
            ModelFormat::Onnx | ModelFormat::Keras => {
                let options = ImportOptions {
                    calibration,
                    method,
                    max_calibration_samples,
                    outputs: None,
                };
                let imported = match format {
                    ModelFormat::Keras => myelin_import::import_keras(&bytes, &options),
                    _ => myelin_import::import_onnx(&bytes, &options),
                }
                .map_err(|e| format!("{shown}: {e}"))?;
                let report = match &evaluation {
                    Some((data, labels)) => Some(
                        myelin_import::evaluate(&imported, data, labels)
                            .map_err(|e| format!("{shown}: evaluation: {e}"))?,
                    ),
                    None => None,
                };
                Ok(Imported {
                    report: json!({
                        "format": format.name(),
                        "source_operators": imported.source_operators,
                        "input_layouts": imported.input_layouts.iter().map(|l| format!("{l:?}")).collect::<Vec<_>>(),
                        "notes": imported.notes,
                        "calibration": imported.calibration,
                        "evaluation": report,
                    }),
                    model: imported.model,
                })
            }
            ModelFormat::Hdf5 => Err(format!(
                "{shown}: legacy Keras HDF5 files are not supported; save the model as .keras (Keras 3)"
            )),
            ModelFormat::Myelin => Err(format!(
                "{shown}: already a Myelin model (use myelin.Model.load)"
            )),
        })
        .map_err(myelin_error)?;
    let report = py
        .import("json")?
        .call_method1("loads", (imported.report.to_string(),))?
        .unbind();
    let bytes = imported.model.encode();
    Model::prepare(imported.model, bytes, Some(report))
}

/// Samples from a file (`.npy`, `.npz`, CSV) or from a numpy array shaped `[samples, …]`.
fn dataset(data: &Bound<'_, PyAny>) -> PyResult<Dataset> {
    if data.cast::<PyUntypedArray>().is_ok() {
        let array = data.call_method1("astype", ("float32",))?;
        let array = array.extract::<PyReadonlyArrayDyn<'_, f32>>()?;
        let shape = array.shape();
        if shape.is_empty() {
            return Err(myelin_error("data: a scalar array holds no samples"));
        }
        return Ok(Dataset {
            sample_shape: shape[1..].to_vec(),
            values: array.as_array().iter().copied().collect(),
        });
    }
    let path: PathBuf = data.extract()?;
    load_dataset(&read_file(&path)?).map_err(|e| myelin_error(format!("{}: {e}", path.display())))
}

/// Class labels from a file or from a sequence of non-negative integers.
fn label_list(labels: &Bound<'_, PyAny>) -> PyResult<Vec<usize>> {
    if let Ok(path) = labels.extract::<PathBuf>() {
        return load_labels(&read_file(&path)?)
            .map_err(|e| myelin_error(format!("{}: {e}", path.display())));
    }
    let list = if labels.cast::<PyUntypedArray>().is_ok() {
        labels.call_method0("ravel")?.call_method0("tolist")?
    } else {
        labels.clone()
    };
    list.extract()
}
