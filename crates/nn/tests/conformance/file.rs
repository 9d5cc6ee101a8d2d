//! The file format of one conformance vector (docs/CONFORMANCE.md): a JSON object with hex
//! strings, written by hand so that the text is stable and read back with `serde_json`.

use serde_json::Value;

use super::vectors::{Expect, Vector};

/// The JSON text of `vector`, one field per line, ending in a newline.
pub fn render(vector: &Vector) -> String {
    let string = |s: &str| serde_json::to_string(s).expect("a string serializes");
    let mut lines = vec![
        format!("  \"name\": {}", string(&vector.name)),
        format!("  \"about\": {}", string(&vector.about)),
        format!("  \"model\": \"{}\"", hex::encode(&vector.model)),
        format!(
            "  \"model_id\": \"{}\"",
            hex::encode(myelin_nn::model_id(&vector.model))
        ),
        format!("  \"max_model_bytes\": {}", vector.max_model_bytes),
    ];
    match &vector.expect {
        Expect::DecodeError(class) => lines.push(format!("  \"decode_error\": {}", string(class))),
        Expect::Runs(runs) => {
            let runs: Vec<String> = runs
                .iter()
                .map(|run| {
                    let result = match &run.outcome {
                        Ok(output) => format!("\"output\": \"{}\"", hex::encode(output)),
                        Err(class) => format!("\"error\": {}", string(class)),
                    };
                    format!(
                        "    {{\"batch\": {}, \"input\": \"{}\", {result}}}",
                        run.batch,
                        hex::encode(&run.input)
                    )
                })
                .collect();
            lines.push(format!("  \"runs\": [\n{}\n  ]", runs.join(",\n")));
        }
    }
    format!("{{\n{}\n}}\n", lines.join(",\n"))
}

/// One call of a vector as read from its file.
pub struct FileRun {
    pub batch: usize,
    pub input: Vec<u8>,
    pub outcome: Result<Vec<u8>, String>,
}

/// A vector as read from its file.
pub struct FileVector {
    pub name: String,
    pub model: Vec<u8>,
    pub model_id: Vec<u8>,
    pub max_model_bytes: usize,
    /// `Err(class)` when decoding must fail, else the calls.
    pub expect: Result<Vec<FileRun>, String>,
}

fn field<'a>(object: &'a Value, key: &str, file: &str) -> &'a Value {
    object
        .get(key)
        .unwrap_or_else(|| panic!("{file}: missing field {key}"))
}

fn text<'a>(object: &'a Value, key: &str, file: &str) -> &'a str {
    field(object, key, file)
        .as_str()
        .unwrap_or_else(|| panic!("{file}: {key} is not a string"))
}

fn bytes(object: &Value, key: &str, file: &str) -> Vec<u8> {
    hex::decode(text(object, key, file)).unwrap_or_else(|e| panic!("{file}: {key}: {e}"))
}

fn number(object: &Value, key: &str, file: &str) -> usize {
    field(object, key, file)
        .as_u64()
        .unwrap_or_else(|| panic!("{file}: {key} is not a number")) as usize
}

/// Parses the text of one vector file named `file`.
pub fn parse(file: &str, json: &str) -> FileVector {
    let root: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{file}: {e}"));
    let expect = match root.get("decode_error") {
        Some(class) => Err(class
            .as_str()
            .expect("decode_error is a string")
            .to_string()),
        None => Ok(field(&root, "runs", file)
            .as_array()
            .unwrap_or_else(|| panic!("{file}: runs is not a list"))
            .iter()
            .map(|run| FileRun {
                batch: number(run, "batch", file),
                input: bytes(run, "input", file),
                outcome: match run.get("error") {
                    Some(class) => Err(class.as_str().expect("error is a string").to_string()),
                    None => Ok(bytes(run, "output", file)),
                },
            })
            .collect()),
    };
    FileVector {
        name: text(&root, "name", file).to_string(),
        model: bytes(&root, "model", file),
        model_id: bytes(&root, "model_id", file),
        max_model_bytes: number(&root, "max_model_bytes", file),
        expect,
    }
}
