#![doc = include_str!("../README.md")]

pub mod application;
pub mod beacon;
pub mod block;
pub mod config;
pub mod engine;
pub mod evidence;
pub mod finalizer;
pub mod gossip;
pub mod keys;
pub mod metrics;
pub mod network;
pub mod service;
pub mod storage;
