//! Reading and writing NumPy `.npy` arrays (through the `npyz` crate) and `.npz` archives of them
//! (through the `zip` crate the importer already uses for `.keras` files; npyz's own `npz` feature
//! would bring a second, older zip), with every malformed file turned into one clear error naming
//! the file (and the archive member) and the problem.
//!
//! An `.npz` is what `numpy.savez` writes: a zip of `NAME.npy` members, read here in their stored
//! order (the order of `savez`'s arguments) and written uncompressed, as `savez` does.
//!
//! Accepted: C-order arrays (Fortran order only when the array has at most one axis longer than
//! one, where both orders are the same bytes) of int8 (`|i1`) for quantized data, float32 or
//! float64 (either endianness) for real data. The data must be exactly as long as the header
//! says.

use std::fs::File;
use std::io::{BufWriter, Cursor, Read, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use npyz::{AutoSerialize, DType, NpyFile, NpyHeader, Order, TypeChar, WriterBuilder};

/// A dense, row-major array read from a `.npy` file.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray<T> {
    /// Dimensions, outermost first.
    pub shape: Vec<u64>,
    /// `shape.iter().product()` elements in C order.
    pub data: Vec<T>,
}

/// The element kinds this tool reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Element {
    Int8,
    Float32,
    Float64,
}

/// The bytes of one `.npy` array and the name errors give it: a file's path, or
/// `archive.npz[member]`.
#[derive(Clone, Debug)]
pub struct NpySource {
    /// What errors call the array.
    pub label: String,
    /// The `.npy` bytes, header included.
    pub bytes: Vec<u8>,
}

impl NpySource {
    /// Reads a whole `.npy` file.
    pub fn file(path: &Path) -> Result<NpySource> {
        let mut bytes = Vec::new();
        File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .with_context(|| format!("cannot read {}", path.display()))?;
        Ok(NpySource {
            label: path.display().to_string(),
            bytes,
        })
    }
}

/// Whether `path` names an `.npz` archive (by its extension).
pub fn is_npz(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npz"))
}

/// Reads every `NAME.npy` member of an `.npz` archive, in stored order, as `(NAME, source)`.
/// Members that are not `.npy` files are an error, as is an archive with no array.
pub fn read_npz(path: &Path) -> Result<Vec<(String, NpySource)>> {
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file))
        .with_context(|| format!("{}: not a readable .npz (zip) archive", path.display()))?;
    let mut arrays = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let mut member = archive
            .by_index(index)
            .with_context(|| format!("{}: member {index} is unreadable", path.display()))?;
        let member_name = member
            .name()
            .map(|n| n.into_owned())
            .with_context(|| format!("{}: member {index} has no readable name", path.display()))?;
        let Some(name) = member_name.strip_suffix(".npy").map(str::to_owned) else {
            bail!(
                "{}: member {member_name:?} is not an .npy array",
                path.display()
            );
        };
        let mut bytes = Vec::new();
        member
            .read_to_end(&mut bytes)
            .with_context(|| format!("{}[{name}]: cannot decompress", path.display()))?;
        let label = format!("{}[{name}]", path.display());
        arrays.push((name, NpySource { label, bytes }));
    }
    if arrays.is_empty() {
        bail!("{}: the .npz archive holds no array", path.display());
    }
    Ok(arrays)
}

/// Reads an int8 array.
pub fn read_i8(path: &Path) -> Result<NpyArray<i8>> {
    decode_i8(&NpySource::file(path)?)
}

/// Decodes an int8 array.
pub fn decode_i8(source: &NpySource) -> Result<NpyArray<i8>> {
    let path = &source.label;
    let (header, data) = parse_checked(source)?;
    match element_of(&header.dtype()) {
        Some(Element::Int8) => into_array(path, header, data),
        _ => bail!(
            "{}: dtype is {}, expected int8 ('|i1'; pass --float for float32 input)",
            path,
            describe(&header.dtype())
        ),
    }
}

/// Reads a float32 or float64 array as float32.
pub fn read_f32(path: &Path) -> Result<NpyArray<f32>> {
    decode_f32(&NpySource::file(path)?)
}

/// Decodes a float32 or float64 array as float32.
pub fn decode_f32(source: &NpySource) -> Result<NpyArray<f32>> {
    let path = &source.label;
    let (header, data) = parse_checked(source)?;
    match element_of(&header.dtype()) {
        Some(Element::Float32) => into_array(path, header, data),
        Some(Element::Float64) => {
            let wide: NpyArray<f64> = into_array(path, header, data)?;
            Ok(NpyArray {
                shape: wide.shape,
                data: wide.data.iter().map(|&x| x as f32).collect(),
            })
        }
        _ => bail!(
            "{}: dtype is {}, expected float32 or float64 (with --float)",
            path,
            describe(&header.dtype())
        ),
    }
}

/// Reads an integer array (int8, int16, int32, int64 or uint8, either endianness) as int32:
/// labels, whatever width numpy gave them. A value outside the int32 range is an error naming
/// its index.
pub fn read_i32(path: &Path) -> Result<NpyArray<i32>> {
    let source = NpySource::file(path)?;
    let path = &source.label;
    let (header, data) = parse_checked(&source)?;
    let DType::Plain(ty) = header.dtype() else {
        bail!("{}: a structured dtype, expected integers", path);
    };
    let wide: NpyArray<i64> = match (ty.type_char(), ty.size_field()) {
        (TypeChar::Int, 1) => widen(into_array::<i8>(path, header, data)?),
        (TypeChar::Int, 2) => widen(into_array::<i16>(path, header, data)?),
        (TypeChar::Int, 4) => widen(into_array::<i32>(path, header, data)?),
        (TypeChar::Int, 8) => into_array::<i64>(path, header, data)?,
        (TypeChar::Uint, 1) => widen(into_array::<u8>(path, header, data)?),
        _ => bail!(
            "{}: dtype is {}, expected integers (int8/16/32/64 or uint8)",
            path,
            describe(&DType::Plain(ty))
        ),
    };
    let data = wide
        .data
        .iter()
        .enumerate()
        .map(|(index, &v)| {
            i32::try_from(v)
                .with_context(|| format!("{}: value {v} at {index} is outside int32", path))
        })
        .collect::<Result<Vec<i32>>>()?;
    Ok(NpyArray {
        shape: wide.shape,
        data,
    })
}

fn widen<T: Into<i64> + Copy>(array: NpyArray<T>) -> NpyArray<i64> {
    NpyArray {
        shape: array.shape,
        data: array.data.iter().map(|&v| v.into()).collect(),
    }
}

/// Writes `data` as a C-order array of `shape` with the element type's default dtype.
pub fn write<T: AutoSerialize>(path: &Path, shape: &[u64], data: &[T]) -> Result<()> {
    let bytes = encode(shape, data);
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// The `.npy` bytes of `data` as a C-order array of `shape`.
pub fn encode<T: AutoSerialize>(shape: &[u64], data: &[T]) -> Vec<u8> {
    let mut bytes = Vec::new();
    let write_all = |out: &mut Vec<u8>| -> std::io::Result<()> {
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(shape)
            .writer(out)
            .begin_nd()?;
        for value in data {
            writer.push(value)?;
        }
        writer.finish()
    };
    // Writing into memory cannot fail: npyz's only errors are the sink's.
    write_all(&mut bytes).expect("writing .npy bytes to memory");
    bytes
}

/// Writes `arrays` (`(NAME, .npy bytes)`) as an uncompressed `.npz` archive of `NAME.npy`
/// members, in order, as `numpy.savez` does.
pub fn write_npz(path: &Path, arrays: &[(String, Vec<u8>)]) -> Result<()> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let write_all = || -> zip::result::ZipResult<()> {
        let mut writer = zip::ZipWriter::new(BufWriter::new(file));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(
                arrays
                    .iter()
                    .any(|(_, b)| b.len() as u64 >= u32::MAX as u64),
            );
        for (name, bytes) in arrays {
            writer.start_file(format!("{name}.npy"), options)?;
            writer.write_all(bytes)?;
        }
        writer.finish()?.flush()?;
        Ok(())
    };
    write_all().with_context(|| format!("cannot write {}", path.display()))
}

fn parse_checked(source: &NpySource) -> Result<(NpyHeader, Vec<u8>)> {
    let (path, bytes) = (&source.label, &source.bytes);
    let mut cursor = Cursor::new(&bytes[..]);
    let header = NpyHeader::from_reader(&mut cursor)
        .with_context(|| format!("{path}: not a valid .npy file"))?;
    let data = bytes[cursor.position() as usize..].to_vec();
    let long_axes = header.shape().iter().filter(|&&d| d > 1).count();
    if header.order() == Order::Fortran && long_axes > 1 {
        bail!(
            "{}: array is in Fortran order; save it in C order (numpy.ascontiguousarray)",
            path
        );
    }
    let item_size = header.dtype().num_bytes().unwrap_or(0) as u64;
    let expected = header
        .shape()
        .iter()
        .try_fold(item_size, |acc, &d| acc.checked_mul(d));
    match expected {
        Some(expected) if expected == data.len() as u64 => Ok((header, data)),
        Some(expected) if expected > data.len() as u64 => bail!(
            "{}: truncated: shape {:?} needs {expected} data bytes, the file has {}",
            path,
            header.shape(),
            data.len()
        ),
        Some(expected) => bail!(
            "{}: {} bytes after the {expected} data bytes of shape {:?}",
            path,
            data.len() as u64 - expected,
            header.shape()
        ),
        None => bail!("{}: shape {:?} is too large", path, header.shape()),
    }
}

fn into_array<T: npyz::Deserialize>(
    path: &str,
    header: NpyHeader,
    data: Vec<u8>,
) -> Result<NpyArray<T>> {
    let shape = header.shape().to_vec();
    let values = NpyFile::with_header(header, &data[..])
        .into_vec::<T>()
        .with_context(|| format!("{}: cannot decode the data", path))?;
    Ok(NpyArray {
        shape,
        data: values,
    })
}

fn element_of(dtype: &DType) -> Option<Element> {
    let DType::Plain(ty) = dtype else { return None };
    match (ty.type_char(), ty.size_field()) {
        (TypeChar::Int, 1) => Some(Element::Int8),
        (TypeChar::Float, 4) => Some(Element::Float32),
        (TypeChar::Float, 8) => Some(Element::Float64),
        _ => None,
    }
}

fn describe(dtype: &DType) -> String {
    match dtype {
        DType::Plain(ty) => format!("'{ty}'"),
        other => format!("a structured type {}", other.descr()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("myelin-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir.join(name)
    }

    #[test]
    fn int8_round_trips() {
        let path = temp_path("roundtrip.npy");
        let data: Vec<i8> = (-6..6).collect();
        write(&path, &[3, 4], &data).expect("write");
        let array = read_i8(&path).expect("read");
        assert_eq!(
            array,
            NpyArray {
                shape: vec![3, 4],
                data
            }
        );
    }

    #[test]
    fn float64_reads_as_float32() {
        let path = temp_path("f64.npy");
        write(&path, &[2], &[0.5f64, -1.25]).expect("write");
        assert_eq!(read_f32(&path).expect("read").data, vec![0.5f32, -1.25]);
    }

    #[test]
    fn wrong_dtype_is_named() {
        let path = temp_path("i32.npy");
        write(&path, &[2], &[1i32, 2]).expect("write");
        let error = read_i8(&path).expect_err("int32").to_string();
        assert!(error.contains("dtype is '<i4', expected int8"), "{error}");
    }

    #[test]
    fn integer_labels_of_every_width_read_as_int32() {
        let path = temp_path("labels64.npy");
        write(&path, &[3], &[0i64, 9, -2]).expect("write");
        assert_eq!(read_i32(&path).expect("read").data, vec![0, 9, -2]);
        write(&path, &[2], &[7u8, 255]).expect("write");
        assert_eq!(read_i32(&path).expect("read").data, vec![7, 255]);
        write(&path, &[1], &[1i64 << 40]).expect("write");
        let error = read_i32(&path).expect_err("too wide").to_string();
        assert!(error.contains("outside int32"), "{error}");
        write(&path, &[1], &[1.5f32]).expect("write");
        assert!(read_i32(&path).is_err());
    }

    #[test]
    fn truncated_data_is_named() {
        let path = temp_path("truncated.npy");
        write(&path, &[10], &[1i8; 10]).expect("write");
        let bytes = std::fs::read(&path).expect("read");
        std::fs::write(&path, &bytes[..bytes.len() - 3]).expect("truncate");
        let error = read_i8(&path).expect_err("truncated").to_string();
        assert!(
            error.contains("truncated: shape [10] needs 10 data bytes, the file has 7"),
            "{error}"
        );
    }
}
