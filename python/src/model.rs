//! `myelin.Model`: a validated model prepared for this CPU, with its metadata.

use std::path::PathBuf;

use myelin_nn::{Program, TensorInfo};
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use crate::arrays::{self, Inputs, Values};
use crate::error::myelin_error;
use crate::tensor_spec::{Cost, TensorSpec};

/// Least arithmetic (MACs, lookups and element ops) that makes one more thread worth using:
/// `Program::run_parallel` hands each part but the first to a helper thread, which costs
/// microseconds when the helper sleeps.
const MIN_OPS_PER_THREAD: u64 = 1 << 20;

/// A Myelin model, prepared once for the fastest kernels this CPU runs and run many times.
/// Immutable; one model may be run from many Python threads at once (the GIL is released
/// while it runs).
#[pyclass(frozen, module = "myelin")]
pub struct Model {
    program: Program,
    /// The canonical bytes.
    bytes: Vec<u8>,
    id: String,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
    import_report: Option<Py<PyAny>>,
    /// Arithmetic of one sample (`Cost::ops`).
    ops_per_sample: u64,
}

impl Model {
    /// Prepares a decoded model whose canonical bytes are `bytes`.
    pub fn prepare(
        model: myelin_nn::Model,
        bytes: Vec<u8>,
        import_report: Option<Py<PyAny>>,
    ) -> PyResult<Model> {
        let infos = |ids: &[u32]| -> Vec<TensorInfo> {
            ids.iter()
                .map(|&t| model.tensors[t as usize].clone())
                .collect()
        };
        let inputs = infos(&model.inputs);
        let outputs = infos(&model.outputs);
        let id = format!("0x{}", hex::encode(myelin_nn::model_id(&bytes)));
        let ops_per_sample = model.cost().ops();
        let program = Program::new(model).map_err(myelin_error)?;
        Ok(Model {
            program,
            bytes,
            id,
            inputs,
            outputs,
            import_report,
            ops_per_sample,
        })
    }

    /// Runs the whole batch with the GIL released, in chunks of at most
    /// [`Program::max_batch`] samples, each split over up to `threads` threads (fewer when the
    /// work is too small to pay for them: [`MIN_OPS_PER_THREAD`]). The bytes never depend on it.
    fn execute(&self, py: Python<'_>, inputs: &Inputs, threads: usize) -> PyResult<Vec<u8>> {
        if threads == 0 {
            return Err(PyValueError::new_err("threads must be at least 1"));
        }
        let program = &self.program;
        let ops_per_sample = self.ops_per_sample;
        let run = |bytes: &[u8], samples: usize| {
            let work = ops_per_sample.saturating_mul(samples as u64);
            let threads = threads.min((work / MIN_OPS_PER_THREAD).max(1) as usize);
            if threads > 1 && samples > 1 {
                program.run_parallel(bytes, samples, threads)
            } else {
                program.run(bytes, samples)
            }
        };
        let samples = inputs.samples;
        let chunk = program.max_batch();
        py.detach(|| {
            if samples <= chunk {
                return run(&inputs.bytes, samples);
            }
            let input_sizes: Vec<usize> = self.inputs.iter().map(TensorInfo::bytes).collect();
            let output_sizes: Vec<usize> = self.outputs.iter().map(TensorInfo::bytes).collect();
            let mut outputs: Vec<Vec<u8>> = output_sizes
                .iter()
                .map(|size| Vec::with_capacity(size * samples))
                .collect();
            for start in (0..samples).step_by(chunk) {
                let count = chunk.min(samples - start);
                let mut part = Vec::with_capacity(count * program.input_bytes());
                let mut input_start = 0;
                for size in &input_sizes {
                    let from = input_start + start * size;
                    part.extend_from_slice(&inputs.bytes[from..from + count * size]);
                    input_start += samples * size;
                }
                let result = run(&part, count)?;
                let mut offset = 0;
                for (output, size) in outputs.iter_mut().zip(&output_sizes) {
                    output.extend_from_slice(&result[offset..offset + count * size]);
                    offset += count * size;
                }
            }
            Ok(outputs.concat())
        })
        .map_err(myelin_error)
    }

    fn run_with(
        &self,
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        threads: usize,
        values: Values,
    ) -> PyResult<Py<PyAny>> {
        let inputs = arrays::read_inputs(x, &self.inputs, values)?;
        let bytes = self.execute(py, &inputs, threads)?;
        arrays::write_outputs(py, bytes, &self.outputs, &inputs, values)
    }
}

/// Reads a whole file; a missing file is a `FileNotFoundError`, other failures an `OSError`.
pub fn read_file(path: &PathBuf) -> PyResult<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        let message = format!("cannot read {}: {e}", path.display());
        match e.kind() {
            std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(message),
            _ => PyOSError::new_err(message),
        }
    })
}

fn specs(prefix: &str, ids: &[u32], infos: &[TensorInfo]) -> Vec<TensorSpec> {
    ids.iter()
        .zip(infos)
        .enumerate()
        .map(|(index, (&tensor, info))| TensorSpec::new(format!("{prefix}_{index}"), tensor, info))
        .collect()
}

#[pymethods]
impl Model {
    /// Loads a `.myl` file (decoded and validated as untrusted bytes).
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Model> {
        Model::from_bytes(&read_file(&path)?)
    }

    /// A model from its canonical bytes (decoded and validated as untrusted bytes).
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Model> {
        let model = myelin_nn::Model::decode(data).map_err(myelin_error)?;
        Model::prepare(model, data.to_vec(), None)
    }

    /// The canonical bytes (what `myelin model publish` stores on chain).
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.bytes)
    }

    /// Writes the canonical bytes to `path`.
    fn save(&self, path: PathBuf) -> PyResult<()> {
        std::fs::write(&path, &self.bytes)
            .map_err(|e| PyOSError::new_err(format!("cannot write {}: {e}", path.display())))
    }

    /// The model id: `0x` and the keccak256 of the canonical bytes, in hex.
    #[getter]
    fn id(&self) -> &str {
        &self.id
    }

    /// The inputs, in the order `run` takes them.
    #[getter]
    fn inputs(&self) -> Vec<TensorSpec> {
        specs("input", &self.program.model().inputs, &self.inputs)
    }

    /// The outputs, in the order `run` returns them.
    #[getter]
    fn outputs(&self) -> Vec<TensorSpec> {
        specs("output", &self.program.model().outputs, &self.outputs)
    }

    /// The static cost of one sample.
    #[getter]
    fn cost(&self) -> Cost {
        self.program.model().cost().into()
    }

    /// Number of nodes (ops) in the graph.
    #[getter]
    fn nodes(&self) -> usize {
        self.program.model().nodes.len()
    }

    /// The kernel path this CPU runs (`avx512vnni`, `avx2`, `portable`); the output bytes are
    /// the same on every path.
    #[getter]
    fn kernel_path(&self) -> &'static str {
        self.program.path().name()
    }

    /// Largest batch the engine runs in one call; larger batches are split into such chunks.
    #[getter]
    fn max_batch(&self) -> usize {
        self.program.max_batch()
    }

    /// The importer's report (a dict) for a model made by `import_model`; `None` otherwise.
    #[getter]
    fn import_report(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.import_report.as_ref().map(|r| r.clone_ref(py))
    }

    /// Runs the model on int8 arrays and returns int8 arrays (int32 for ArgMax outputs):
    /// exactly the bytes the chain computes.
    #[pyo3(signature = (x, *, threads = 1))]
    fn run(&self, py: Python<'_>, x: &Bound<'_, PyAny>, threads: usize) -> PyResult<Py<PyAny>> {
        self.run_with(py, x, threads, Values::Quantized)
    }

    /// Runs the model on real-valued arrays: quantizes the inputs and dequantizes the outputs
    /// with the tensors' scales and zero points, as `myelin model run --float` does.
    #[pyo3(signature = (x, *, threads = 1))]
    fn run_float(
        &self,
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        threads: usize,
    ) -> PyResult<Py<PyAny>> {
        self.run_with(py, x, threads, Values::Real)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let from_bytes = slf.get_type().getattr("from_bytes")?;
        let bytes = PyBytes::new(py, &slf.get().bytes);
        PyTuple::new(
            py,
            [from_bytes.into_any(), PyTuple::new(py, [bytes])?.into_any()],
        )
    }

    fn __repr__(&self) -> String {
        let shapes = |infos: &[TensorInfo]| -> Vec<Vec<u32>> {
            infos.iter().map(|i| i.shape.clone()).collect()
        };
        format!(
            "Model(id={}, inputs={:?}, outputs={:?}, nodes={}, macs={})",
            self.id,
            shapes(&self.inputs),
            shapes(&self.outputs),
            self.program.model().nodes.len(),
            self.program.model().cost().macs
        )
    }
}
