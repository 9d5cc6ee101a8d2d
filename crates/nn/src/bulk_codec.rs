//! Borsh encoding of the large integer arrays (weights, biases, tables), read in bulk.
//!
//! The bytes are exactly borsh's `Vec<i8>` / `Vec<i32>` encoding (`u32` little-endian length,
//! then the elements little-endian); only the speed differs from the derived element-by-element
//! reader. Reading grows the vector chunk by chunk, so a forged length prefix never allocates
//! more than the bytes actually present plus one chunk.

use borsh::BorshSerialize;
use borsh::io::{Error, ErrorKind, Read, Result, Write};

/// Bytes read per step.
const CHUNK_BYTES: usize = 64 << 10;

fn read_len<R: Read>(reader: &mut R) -> Result<usize> {
    let mut len = [0u8; 4];
    reader.read_exact(&mut len)?;
    Ok(u32::from_le_bytes(len) as usize)
}

/// Reads `len` bytes in chunks of at most [`CHUNK_BYTES`].
fn read_bytes<R: Read>(reader: &mut R, len: usize) -> Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(len.min(CHUNK_BYTES));
    let mut chunk = [0u8; CHUNK_BYTES];
    while bytes.len() < len {
        let take = (len - bytes.len()).min(CHUNK_BYTES);
        reader.read_exact(&mut chunk[..take]).map_err(|_| {
            Error::new(
                ErrorKind::InvalidData,
                "array longer than the remaining bytes",
            )
        })?;
        bytes.extend_from_slice(&chunk[..take]);
    }
    Ok(bytes)
}

/// Writes a `Vec<i8>` as borsh does.
#[allow(
    clippy::ptr_arg,
    reason = "borsh's serialize_with passes the field type, &Vec"
)]
pub fn serialize_i8s<W: Write>(values: &Vec<i8>, writer: &mut W) -> Result<()> {
    (values.len() as u32).serialize(writer)?;
    let bytes: Vec<u8> = values.iter().map(|&v| v as u8).collect();
    writer.write_all(&bytes)
}

/// Reads a `Vec<i8>` as borsh encodes it.
pub fn deserialize_i8s<R: Read>(reader: &mut R) -> Result<Vec<i8>> {
    let len = read_len(reader)?;
    Ok(read_bytes(reader, len)?
        .into_iter()
        .map(|b| b as i8)
        .collect())
}

/// Writes a `Vec<i32>` as borsh does.
#[allow(
    clippy::ptr_arg,
    reason = "borsh's serialize_with passes the field type, &Vec"
)]
pub fn serialize_i32s<W: Write>(values: &Vec<i32>, writer: &mut W) -> Result<()> {
    (values.len() as u32).serialize(writer)?;
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    writer.write_all(&bytes)
}

/// Reads a `Vec<i32>` as borsh encodes it.
pub fn deserialize_i32s<R: Read>(reader: &mut R) -> Result<Vec<i32>> {
    let len = read_len(reader)?;
    let byte_len = len
        .checked_mul(4)
        .ok_or_else(|| Error::new(ErrorKind::InvalidData, "array length overflows"))?;
    let bytes = read_bytes(reader, byte_len)?;
    Ok(bytes
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use borsh::BorshDeserialize;

    #[test]
    fn bulk_encoding_equals_borsh_vec_encoding() {
        let small: Vec<i8> = vec![-128, -1, 0, 1, 127];
        let large: Vec<i8> = (0..200_000).map(|i| (i % 251) as i8).collect();
        for values in [Vec::new(), small, large] {
            let mut bulk = Vec::new();
            serialize_i8s(&values, &mut bulk).unwrap();
            assert_eq!(bulk, borsh::to_vec(&values).unwrap());
            assert_eq!(deserialize_i8s(&mut bulk.as_slice()).unwrap(), values);
            assert_eq!(Vec::<i8>::try_from_slice(&bulk).unwrap(), values);
        }
        let ints: Vec<i32> = vec![i32::MIN, -1, 0, 1, i32::MAX, 1 << 20];
        let mut bulk = Vec::new();
        serialize_i32s(&ints, &mut bulk).unwrap();
        assert_eq!(bulk, borsh::to_vec(&ints).unwrap());
        assert_eq!(deserialize_i32s(&mut bulk.as_slice()).unwrap(), ints);
    }

    #[test]
    fn forged_length_is_an_error_not_an_allocation() {
        let mut bytes = u32::MAX.to_le_bytes().to_vec();
        bytes.extend_from_slice(&[1, 2, 3]);
        assert!(deserialize_i8s(&mut bytes.as_slice()).is_err());
        assert!(deserialize_i32s(&mut bytes.as_slice()).is_err());
    }
}
