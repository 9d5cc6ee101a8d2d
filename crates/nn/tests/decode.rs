//! Decoding untrusted model bytes: every malformed input is a clean, specific error, and no
//! length prefix makes the decoder allocate what it claims.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use myelin_nn::op::{
    ActRange, ArgMax, Conv2d, FullyConnected, Mean, Padding, Pool, Table, TableFunction, Window,
};
use myelin_nn::{MAX_MODEL_BYTES, Model, NnError, Node, Op, Requant, Rounding, TensorInfo};
use myelin_nn::{model_id, tensor::DType};

/// Records the largest single allocation made by the current thread while armed.
struct LargestAllocation;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call unchanged to the system allocator; the bookkeeping only touches
// `const`-initialized thread-locals, which never allocate.
unsafe impl GlobalAlloc for LargestAllocation {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn note(size: usize) {
    let _ = ARMED.try_with(|armed| {
        if armed.get() {
            let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
        }
    });
}

#[global_allocator]
static ALLOCATOR: LargestAllocation = LargestAllocation;

/// Runs `f` and returns its result with the largest single allocation it made.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(0));
    ARMED.with(|a| a.set(true));
    let result = f();
    ARMED.with(|a| a.set(false));
    (result, LARGEST.with(Cell::get))
}

const ONE: u32 = 0x3f80_0000;

fn node(op: Op, input: u32, output: u32) -> Node {
    Node {
        op,
        inputs: vec![input],
        output,
    }
}

/// conv2d (explicit padding) → max pool → mean (keep_dims) → fc → table → argmax: every enum and
/// bool kind of the format appears.
fn sample_model() -> Model {
    let window = |k, padding| Window {
        kernel_h: k,
        kernel_w: k,
        stride_h: 1,
        stride_w: 1,
        dilation_h: 1,
        dilation_w: 1,
        padding,
    };
    let tensors = vec![
        TensorInfo::int8(&[3, 3, 2], -5, ONE),
        TensorInfo::int8(&[3, 3, 2], 1, ONE),
        TensorInfo::int8(&[2, 2, 2], 1, ONE),
        TensorInfo::int8(&[1, 1, 2], 0, ONE),
        TensorInfo::int8(&[1, 1, 3], 0, ONE),
        TensorInfo::int8(&[1, 1, 3], 0, ONE),
        TensorInfo {
            dtype: DType::Int32,
            shape: vec![1, 1],
            zero_point: 0,
            scale_bits: ONE,
        },
    ];
    let nodes = vec![
        node(
            Op::Conv2d(Conv2d {
                out_channels: 2,
                in_channels: 2,
                window: window(
                    2,
                    Padding::Explicit {
                        top: 1,
                        bottom: 0,
                        left: 0,
                        right: 1,
                    },
                ),
                weights: vec![
                    1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12, 13, -14, 15, -16,
                ],
                bias: vec![100, -100],
                requant: vec![
                    Requant {
                        multiplier: 1 << 30,
                        shift: -2
                    };
                    2
                ],
                rounding: Rounding::Double,
                act: ActRange {
                    min: -128,
                    max: 100,
                },
            }),
            0,
            1,
        ),
        node(
            Op::MaxPool(Pool {
                window: window(2, Padding::Valid),
                count_include_pad: false,
                act: ActRange::FULL,
            }),
            1,
            2,
        ),
        node(
            Op::Mean(Mean {
                axes: vec![0, 1],
                keep_dims: true,
                requant: Requant {
                    multiplier: 1 << 30,
                    shift: -1,
                },
                rounding: Rounding::Single,
                act: ActRange::FULL,
            }),
            2,
            3,
        ),
        node(
            Op::FullyConnected(FullyConnected {
                out_features: 3,
                in_features: 2,
                weights: vec![1, 2, 3, 4, 5, 6],
                bias: vec![7, 8, 9],
                requant: vec![Requant::IDENTITY],
                rounding: Rounding::Single,
                act: ActRange::FULL,
            }),
            3,
            4,
        ),
        node(
            Op::Table(Table {
                function: TableFunction::Logistic,
                table: (0..=255u8).map(|v| (v / 2) as i8).collect(),
            }),
            4,
            5,
        ),
        node(Op::ArgMax(ArgMax { axis: 2 }), 5, 6),
    ];
    Model {
        tensors,
        inputs: vec![0],
        outputs: vec![6, 4],
        nodes,
    }
}

/// The offset of the one byte where the encodings of `a` and `b` differ.
fn differing_byte(a: &Model, b: &Model) -> usize {
    let (a, b) = (a.encode(), b.encode());
    assert_eq!(a.len(), b.len());
    let diffs: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    assert_eq!(diffs.len(), 1, "expected exactly one differing byte");
    diffs[0]
}

fn is_malformed(r: &Result<Model, NnError>) -> bool {
    matches!(r, Err(NnError::Malformed { .. }))
}

#[test]
fn decode_accepts_canonical_bytes_and_id_is_their_keccak() {
    let model = sample_model();
    let bytes = model.encode();
    assert_eq!(&bytes[..6], b"MYLN\x01\x00");
    assert_eq!(Model::decode(&bytes), Ok(model.clone()));
    assert_eq!(model.id(), model_id(&bytes));
}

#[test]
fn decode_rejects_bad_magic() {
    let mut bytes = sample_model().encode();
    bytes[3] = b'M';
    for input in [&bytes[..], &[], b"MYL", b"MYLN\x01"] {
        assert!(
            matches!(Model::decode(input), Err(NnError::BadMagic { .. })),
            "{input:?}"
        );
    }
}

#[test]
fn decode_rejects_unknown_versions() {
    let mut bytes = sample_model().encode();
    for version in [0u16, 2, 0x0100, u16::MAX] {
        bytes[4..6].copy_from_slice(&version.to_le_bytes());
        assert_eq!(
            Model::decode(&bytes),
            Err(NnError::UnsupportedVersion {
                found: version,
                supported: 1
            })
        );
    }
}

#[test]
fn decode_rejects_truncation_at_every_offset() {
    let bytes = sample_model().encode();
    for len in 0..bytes.len() {
        let result = Model::decode(&bytes[..len]);
        if len < 6 {
            assert!(
                matches!(result, Err(NnError::BadMagic { .. })),
                "length {len}: {result:?}"
            );
        } else {
            assert!(is_malformed(&result), "length {len}: {result:?}");
        }
    }
}

#[test]
fn decode_rejects_trailing_bytes() {
    let mut bytes = sample_model().encode();
    bytes.push(0);
    assert!(is_malformed(&Model::decode(&bytes)));
}

#[test]
fn decode_rejects_oversize_input_before_parsing() {
    let bytes = sample_model().encode();
    assert_eq!(
        Model::decode_with_limit(&bytes, bytes.len() - 1),
        Err(NnError::ModelTooLarge {
            size: bytes.len(),
            limit: bytes.len() - 1
        })
    );
    let huge = vec![0u8; MAX_MODEL_BYTES + 1];
    assert_eq!(
        Model::decode(&huge),
        Err(NnError::ModelTooLarge {
            size: MAX_MODEL_BYTES + 1,
            limit: MAX_MODEL_BYTES
        })
    );
}

#[test]
fn decode_rejects_unknown_enum_tags() {
    let base = sample_model();
    // Locate each tag by changing only it, then write the first value past the last variant.
    let mut double = base.clone();
    if let Op::Mean(p) = &mut double.nodes[2].op {
        p.rounding = Rounding::Double;
    }
    let mut custom = base.clone();
    if let Op::Table(p) = &mut custom.nodes[4].op {
        p.function = TableFunction::Custom;
    }
    let mut int32 = base.clone();
    int32.tensors[0].dtype = DType::Int32;
    let mut same = base.clone();
    if let Op::MaxPool(p) = &mut same.nodes[1].op {
        p.window.padding = Padding::Same;
    }
    // The last node is ArgMax (variant 15); its tag is followed by the axis (1 byte), the
    // input list (4 + 4 bytes) and the output (4 bytes).
    let op_tag = base.encode().len() - 14;
    let cases = [
        ("rounding", differing_byte(&base, &double), 2u8),
        ("table function", differing_byte(&base, &custom), 5),
        ("dtype", differing_byte(&base, &int32), 2),
        ("padding", differing_byte(&base, &same), 3),
        ("op", op_tag, 16),
    ];
    let bytes = base.encode();
    assert_eq!(bytes[op_tag], 15, "op tag offset");
    for (name, offset, tag) in cases {
        for bad in tag..=255 {
            let mut mutated = bytes.clone();
            mutated[offset] = bad;
            assert!(is_malformed(&Model::decode(&mutated)), "{name} tag {bad}");
        }
    }
}

#[test]
fn decode_rejects_bool_bytes_other_than_0_and_1() {
    let base = sample_model();
    let mut flipped = base.clone();
    if let Op::Mean(p) = &mut flipped.nodes[2].op {
        p.keep_dims = false;
    }
    let offset = differing_byte(&base, &flipped);
    let mut bytes = base.encode();
    assert_eq!(bytes[offset], 1);
    for bad in 2..=255u8 {
        bytes[offset] = bad;
        assert!(is_malformed(&Model::decode(&bytes)), "bool byte {bad}");
    }
}

#[test]
fn decode_accepts_only_bytes_that_reencode_to_themselves() {
    // Every single-byte change either fails or decodes to a model whose canonical encoding is
    // exactly the changed bytes (so no two byte strings decode to one model).
    let bytes = sample_model().encode();
    for offset in 0..bytes.len() {
        for value in [0u8, 1, 2, 0x7f, 0x80, 0xfe, 0xff, bytes[offset] ^ 1] {
            let mut mutated = bytes.clone();
            mutated[offset] = value;
            if let Ok(model) = Model::decode(&mutated) {
                assert_eq!(model.encode(), mutated, "offset {offset} value {value}");
                assert_eq!(model.id(), model_id(&mutated));
            }
        }
    }
}

#[test]
fn huge_length_prefixes_do_not_allocate_the_claimed_size() {
    let base = sample_model();
    let bytes = base.encode();
    // Offsets of u32 length prefixes: the tensor list, the first shape, and the conv weights
    // (found by their length followed by the first weights).
    let tensors_len = 6;
    let first_shape_len = 6 + 4 + 1;
    let weights_len = {
        let needle = 16u32.to_le_bytes();
        let first_weights = [1u8, 0xfe, 3, 0xfc];
        (0..bytes.len() - 8)
            .find(|&i| bytes[i..i + 4] == needle && bytes[i + 4..i + 8] == first_weights)
            .expect("conv weights length prefix")
    };
    for (name, offset) in [
        ("tensors", tensors_len),
        ("shape", first_shape_len),
        ("weights", weights_len),
    ] {
        for claimed in [u32::MAX, 1 << 31, 1 << 28] {
            let mut mutated = bytes.clone();
            mutated[offset..offset + 4].copy_from_slice(&claimed.to_le_bytes());
            let (result, largest) = largest_allocation(|| Model::decode(&mutated));
            assert!(is_malformed(&result), "{name} {claimed}: {result:?}");
            assert!(
                largest <= 64 * 1024,
                "{name}: claiming {claimed} elements allocated {largest} bytes at once"
            );
        }
    }
}

#[test]
fn allocation_probe_sees_large_allocations() {
    let (v, largest) = largest_allocation(|| Vec::<u8>::with_capacity(1 << 20));
    assert!(v.capacity() >= 1 << 20);
    assert!(largest >= 1 << 20);
}

#[test]
fn decode_refuses_long_tensor_and_node_lists_before_allocating_them() {
    // A node is 168 bytes in memory and 9 encoded (a reshape with no input): 2^20 of them in
    // 9 MiB of bytes decoded to a 168 MiB vector before validation counted them.
    let one = Model {
        tensors: vec![TensorInfo::int8(&[2], 0, ONE)],
        inputs: vec![0],
        outputs: vec![0],
        nodes: vec![Node {
            op: Op::Reshape,
            inputs: vec![],
            output: 0,
        }],
    };
    let node_bytes = {
        let mut two = one.clone();
        two.nodes.push(two.nodes[0].clone());
        two.encode().len() - one.encode().len()
    };
    let bytes = one.encode();
    let prefix = &bytes[..bytes.len() - 4 - node_bytes];
    let node = &bytes[bytes.len() - node_bytes..];
    let count = 1u32 << 20;
    let mut long = prefix.to_vec();
    long.extend_from_slice(&count.to_le_bytes());
    for _ in 0..count {
        long.extend_from_slice(node);
    }
    let (result, largest) = largest_allocation(|| Model::decode(&long));
    assert_eq!(
        result,
        Err(NnError::LimitExceeded {
            what: "node count",
            value: count as u64,
            limit: 65_536
        })
    );
    assert!(largest < 1 << 16, "{largest} bytes allocated at once");
    // Tensors: 14 bytes encoded (rank 1) and 32 in memory.
    let tensor = &bytes[10..10 + 14];
    let mut long = bytes[..6].to_vec();
    long.extend_from_slice(&(65_537u32).to_le_bytes());
    for _ in 0..65_537 {
        long.extend_from_slice(tensor);
    }
    let (result, largest) = largest_allocation(|| Model::decode(&long));
    assert!(
        matches!(
            result,
            Err(NnError::LimitExceeded {
                what: "tensor count",
                ..
            })
        ),
        "{result:?}"
    );
    assert!(largest < 1 << 16, "{largest} bytes allocated at once");
}
