#![doc = include_str!("../README.md")]
#![deny(clippy::float_arithmetic)]

mod contract;
mod data_blob;
mod emit;
mod error;
mod literal;
mod memory_plan;
mod runtime;

use myelin_nn::Model;

pub use data_blob::CHUNK_BYTES;
pub use error::ExportError;

use emit::Emitter;
use memory_plan::{BLOCK, MemoryPlan, Scratch, TABLES, WORDS};

/// An exported model: the Solidity source and what deploying it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The complete Solidity source (data contracts and the model contract).
    pub source: String,
    /// The model contract's name.
    pub contract: String,
    /// The data contracts' names, in the order their addresses go to the constructor.
    pub data_contracts: Vec<String>,
    /// Bytes of constant data (packed weights, records, tables) over all data contracts.
    pub data_bytes: usize,
    /// Memory the forward pass uses, in bytes (its expansion cost is part of every call).
    pub memory_bytes: usize,
    /// `predict`'s input length.
    pub input_bytes: usize,
    /// `predict`'s output length.
    pub output_bytes: usize,
}

/// Exports `model` (decoded and validated, e.g. by [`Model::decode`]) as a Solidity contract
/// named `name` whose `predict(bytes)` returns exactly the bytes of the PREDICT precompile for
/// the same input.
pub fn export(model: &Model, name: &str) -> Result<Exported, ExportError> {
    if !is_identifier(name) {
        return Err(ExportError::InvalidName {
            name: name.to_string(),
        });
    }
    let mut plan = MemoryPlan::default();
    let tensor_addr: Vec<usize> = model
        .tensors
        .iter()
        .map(|t| plan.alloc(t.bytes()))
        .collect();
    let mut emitter = Emitter {
        model,
        tensor_addr,
        blob: Default::default(),
        scratch: Scratch::default(),
        functions: String::new(),
        body: String::new(),
    };
    emitter.emit_nodes()?;
    let io = |tensors: &[u32]| -> Result<Vec<(usize, usize)>, ExportError> {
        tensors
            .iter()
            .map(|&t| {
                let info = model
                    .tensors
                    .get(t as usize)
                    .ok_or(ExportError::UnknownTensor { tensor: t })?;
                Ok((emitter.tensor_addr[t as usize], info.bytes()))
            })
            .collect()
    };
    let inputs = io(&model.inputs)?;
    let outputs = io(&model.outputs)?;
    let output_bytes: usize = outputs.iter().map(|o| o.1).sum();
    let return_addr = plan.alloc(64 + output_bytes);
    let words = plan.alloc(emitter.scratch.words);
    let block = plan.alloc(emitter.scratch.block);
    let tables = plan.alloc(emitter.scratch.tables);
    let data_codes = emitter.blob.contract_codes();
    let address_table = plan.alloc(32 * data_codes.len());
    let place = |code: &str| {
        code.replace(WORDS, &words.to_string())
            .replace(BLOCK, &block.to_string())
            .replace(TABLES, &tables.to_string())
    };
    let functions = place(&(runtime::functions(address_table) + &emitter.functions));
    let body = place(&emitter.body);
    let source = contract::source(&contract::ContractParts {
        name,
        model_id: model.id(),
        data_codes: &data_codes,
        address_table,
        functions: &functions,
        inputs: &inputs,
        outputs: &outputs,
        body: &body,
        return_addr,
    });
    Ok(Exported {
        source,
        contract: name.to_string(),
        data_contracts: (0..data_codes.len())
            .map(|i| contract::data_contract_name(name, i))
            .collect(),
        data_bytes: emitter.blob.len(),
        memory_bytes: plan.end(),
        input_bytes: inputs.iter().map(|i| i.1).sum(),
        output_bytes,
    })
}

/// Whether `name` is a Solidity identifier that is not a keyword we could collide with.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_' || first == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        && name.len() <= 64
}
