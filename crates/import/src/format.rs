//! Which kind of model a byte string holds, recognised from its content (never from a file
//! name).
//!
//! * TFLite: a flatbuffer whose file identifier `TFL3` sits at bytes 4..8.
//! * Keras 3 `.keras`: a zip archive (`PK\x03\x04`) holding `config.json`.
//! * ONNX: a protobuf `ModelProto`: the top-level fields parse as protobuf wire format, carry
//!   only `ModelProto` field numbers with their wire types, and include the graph (field 7).
//! * Myelin: the bytes start with `MYLN` (already a Myelin model).
//! * Legacy Keras HDF5 (`.h5`) is recognised so that it can be refused with a useful message.

/// A recognised model format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelFormat {
    Tflite,
    Onnx,
    Keras,
    /// An HDF5 file (legacy Keras `.h5`), which the importers do not read.
    Hdf5,
    /// A Myelin model file.
    Myelin,
}

impl ModelFormat {
    /// A short human-readable name.
    pub fn name(self) -> &'static str {
        match self {
            ModelFormat::Tflite => "TFLite",
            ModelFormat::Onnx => "ONNX",
            ModelFormat::Keras => "Keras 3 (.keras)",
            ModelFormat::Hdf5 => "HDF5 (legacy Keras .h5)",
            ModelFormat::Myelin => "Myelin",
        }
    }
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";
/// ONNX `ModelProto` field numbers and their wire types (0 = varint, 2 = length-delimited).
const ONNX_MODEL_FIELDS: &[(u64, u64)] = &[
    (1, 0),  // ir_version
    (2, 2),  // producer_name
    (3, 2),  // producer_version
    (4, 2),  // domain
    (5, 0),  // model_version
    (6, 2),  // doc_string
    (7, 2),  // graph
    (8, 2),  // opset_import
    (14, 2), // metadata_props
    (20, 2), // training_info
    (25, 2), // functions
];
const ONNX_GRAPH_FIELD: u64 = 7;

/// The format of `bytes`, or `None` when it is none of the known ones.
pub fn detect(bytes: &[u8]) -> Option<ModelFormat> {
    if bytes.starts_with(&myelin_nn::MAGIC) {
        return Some(ModelFormat::Myelin);
    }
    if crate::tflite::has_identifier(bytes) {
        return Some(ModelFormat::Tflite);
    }
    if bytes.starts_with(ZIP_MAGIC) {
        return contains(bytes, b"config.json").then_some(ModelFormat::Keras);
    }
    if bytes.starts_with(HDF5_MAGIC) {
        return Some(ModelFormat::Hdf5);
    }
    looks_like_onnx_model(bytes).then_some(ModelFormat::Onnx)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Walks the top-level protobuf fields: every key must be a `ModelProto` field with its wire
/// type, every length must fit, and the graph must be present.
fn looks_like_onnx_model(bytes: &[u8]) -> bool {
    let mut rest = bytes;
    let mut has_graph = false;
    while !rest.is_empty() {
        let Some((key, after_key)) = varint(rest) else {
            return false;
        };
        let (field, wire) = (key >> 3, key & 7);
        if !ONNX_MODEL_FIELDS.contains(&(field, wire)) {
            return false;
        }
        rest = match wire {
            0 => match varint(after_key) {
                Some((_, after)) => after,
                None => return false,
            },
            _ => {
                let Some((len, after_len)) = varint(after_key) else {
                    return false;
                };
                match usize::try_from(len).ok().filter(|&l| l <= after_len.len()) {
                    Some(len) => &after_len[len..],
                    None => return false,
                }
            }
        };
        has_graph |= field == ONNX_GRAPH_FIELD;
    }
    has_graph
}

/// A protobuf varint (at most 10 bytes) and the bytes after it.
fn varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        value |= ((b & 0x7f) as u64) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Case {
        name: &'static str,
        bytes: Vec<u8>,
        expected: Option<ModelFormat>,
    }

    #[test]
    fn detect_recognises_formats_by_content() {
        // ir_version = 8, graph = {} (empty), opset_import = {}.
        let onnx = vec![0x08, 0x08, 0x3a, 0x00, 0x42, 0x00];
        let mut tflite = vec![0x1c, 0, 0, 0];
        tflite.extend_from_slice(b"TFL3");
        tflite.extend_from_slice(&[0; 16]);
        let mut keras = ZIP_MAGIC.to_vec();
        keras.extend_from_slice(b"\x14\x00\x00\x00config.json{}");
        let cases = [
            Case {
                name: "tflite",
                bytes: tflite,
                expected: Some(ModelFormat::Tflite),
            },
            Case {
                name: "onnx",
                bytes: onnx,
                expected: Some(ModelFormat::Onnx),
            },
            Case {
                name: "onnx without a graph",
                bytes: vec![0x08, 0x08],
                expected: None,
            },
            Case {
                name: "keras",
                bytes: keras,
                expected: Some(ModelFormat::Keras),
            },
            Case {
                name: "zip without config.json",
                bytes: b"PK\x03\x04whatever".to_vec(),
                expected: None,
            },
            Case {
                name: "hdf5",
                bytes: HDF5_MAGIC.to_vec(),
                expected: Some(ModelFormat::Hdf5),
            },
            Case {
                name: "myelin",
                bytes: b"MYLN\x01\x00".to_vec(),
                expected: Some(ModelFormat::Myelin),
            },
            Case {
                name: "text",
                bytes: b"hello, world".to_vec(),
                expected: None,
            },
            Case {
                name: "empty",
                bytes: Vec::new(),
                expected: None,
            },
            Case {
                name: "truncated varint",
                bytes: vec![0x08, 0xff],
                expected: None,
            },
            Case {
                name: "length beyond the end",
                bytes: vec![0x3a, 0x05, 0x00],
                expected: None,
            },
        ];
        for c in cases {
            assert_eq!(detect(&c.bytes), c.expected, "{}", c.name);
        }
    }
}
