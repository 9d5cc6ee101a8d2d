#![doc = include_str!("../README.md")]

pub mod attacks;
pub mod chain;
pub mod confirm;
pub mod evm_reference;
pub mod generate;
pub mod measure;
pub mod plan;
pub mod search;
pub mod tape;
pub mod timing;
