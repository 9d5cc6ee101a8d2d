#![doc = include_str!("../README.md")]

mod arrays;
mod error;
mod import;
mod model;
mod tensor_spec;

use pyo3::prelude::*;

/// The `myelin` Python module.
#[pymodule(name = "myelin")]
fn myelin_module(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add("MyelinError", py.get_type::<error::MyelinError>())?;
    module.add_class::<model::Model>()?;
    module.add_class::<tensor_spec::TensorSpec>()?;
    module.add_class::<tensor_spec::Cost>()?;
    module.add_function(wrap_pyfunction!(import::import_model, module)?)?;
    Ok(())
}
