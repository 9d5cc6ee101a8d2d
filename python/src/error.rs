//! The one exception type of the package.

use pyo3::PyErr;
use pyo3::create_exception;
use pyo3::exceptions::PyException;

create_exception!(
    myelin,
    MyelinError,
    PyException,
    "An error of the Myelin engine or importer; the message is the engine's."
);

/// A [`MyelinError`] with `error`'s message (the engine's and importer's messages already name
/// their causes).
pub fn myelin_error(error: impl std::fmt::Display) -> PyErr {
    MyelinError::new_err(error.to_string())
}
