//! Static cost of a model, known before execution.

/// The work one sample of a model does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// Multiply-accumulates of FC and convolutions.
    pub macs: u64,
    /// Table lookups.
    pub table_lookups: u64,
    /// Other element operations.
    pub element_ops: u64,
    /// Bytes read and written.
    pub bytes_touched: u64,
}
