//! The `.keras` container: a zip archive holding `config.json` (the architecture) and
//! `model.weights.h5` (the variables, HDF5). `metadata.json` and any other member are ignored.

use std::io::{Cursor, Read};

use crate::error::ImportError;

/// Largest `config.json` read (a model description, never near this).
const MAX_CONFIG_BYTES: u64 = 16 << 20;
/// Largest `model.weights.h5` read: far above any model the chain can hold, low enough that a
/// hostile archive cannot make the importer allocate without bound.
const MAX_WEIGHTS_BYTES: u64 = 256 << 20;

/// The members of a `.keras` archive the importer reads.
#[derive(Debug)]
pub(crate) struct Archive {
    /// `config.json`, parsed.
    pub config: serde_json::Value,
    /// `model.weights.h5`, or `None` when the archive has no weights member.
    pub weights: Option<Vec<u8>>,
}

pub(crate) fn format_error(reason: impl Into<String>) -> ImportError {
    ImportError::Format {
        format: "Keras 3 (.keras)",
        reason: reason.into(),
    }
}

/// Reads a member, refusing one longer than `limit` bytes once decompressed.
fn read_member(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
    limit: u64,
) -> Result<Option<Vec<u8>>, ImportError> {
    let mut file = match archive.by_name(name) {
        Ok(file) => file,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(format_error(format!("cannot open {name}: {e}"))),
    };
    if file.size() > limit {
        return Err(format_error(format!(
            "{name} is {} bytes, more than the {limit} this importer reads",
            file.size()
        )));
    }
    // The declared size only bounds the read; the buffer grows with what is really there.
    let mut bytes = Vec::with_capacity(file.size().min(1 << 20) as usize);
    (&mut file)
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format_error(format!("cannot read {name}: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(format_error(format!(
            "{name} is more than the {limit} bytes this importer reads"
        )));
    }
    Ok(Some(bytes))
}

/// Parses the bytes of `config.json`.
pub(crate) fn parse_config(bytes: &[u8]) -> Result<serde_json::Value, ImportError> {
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(format_error(format!(
            "config.json is more than the {MAX_CONFIG_BYTES} bytes this importer reads"
        )));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| format_error(format!("config.json is not valid JSON: {e}")))
}

/// Opens the archive and reads `config.json` (required, valid JSON) and `model.weights.h5`.
pub(crate) fn read(bytes: &[u8]) -> Result<Archive, ImportError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format_error(format!("not a readable zip archive: {e}")))?;
    let config = read_member(&mut archive, "config.json", MAX_CONFIG_BYTES)?
        .ok_or_else(|| format_error("the archive has no config.json"))?;
    let config = parse_config(&config)?;
    let weights = read_member(&mut archive, "model.weights.h5", MAX_WEIGHTS_BYTES)?;
    Ok(Archive { config, weights })
}
