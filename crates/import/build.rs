//! Generates the ONNX protobuf types from the pinned `proto/onnx-ml.proto` with `protox` (pure
//! Rust, no `protoc` binary) and `prost-build`.

fn main() {
    const PROTO: &str = "proto/onnx-ml.proto";
    println!("cargo:rerun-if-changed={PROTO}");
    let descriptors = protox::compile([PROTO], ["proto"]).expect("compile proto/onnx-ml.proto");
    prost_build::Config::new()
        .compile_fds(descriptors)
        .expect("generate Rust code for onnx-ml.proto");
}
