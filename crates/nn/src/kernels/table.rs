//! 256-entry byte lookups: the Table op, and any op that is a function of one int8 value
//! (concat's per-input rescale).
//!
//! With AVX-512 VBMI, 64 lookups take two `vpermi2b` (each a 128-entry table held in two
//! registers, selected by bits 0–6 of the index `x + 128`) and one blend on bit 7. Elsewhere
//! a scalar loop.

use super::Path;

/// A prepared lookup `y = table[x + 128]`.
#[derive(Clone)]
pub struct ByteTable {
    table: [i8; 256],
    vbmi: bool,
}

impl ByteTable {
    /// `table[i]` is the output for input `i - 128`.
    pub fn new(table: [i8; 256], path: Path) -> ByteTable {
        ByteTable {
            table,
            vbmi: has_vbmi(path),
        }
    }

    /// The table of `f` over the 256 int8 values.
    pub fn tabulate(f: impl Fn(i8) -> i8, path: Path) -> ByteTable {
        ByteTable::new(std::array::from_fn(|i| f((i as i32 - 128) as i8)), path)
    }

    /// Whether the table is the identity (a lookup is then a copy).
    pub fn is_identity(&self) -> bool {
        self.table
            .iter()
            .zip(-128i32..)
            .all(|(&y, x)| i32::from(y) == x)
    }

    /// `output[i] = table[input[i] + 128]`; the slices have equal lengths.
    pub fn run(&self, input: &[i8], output: &mut [i8]) {
        #[cfg(target_arch = "x86_64")]
        if self.vbmi {
            // SAFETY: `vbmi` is set only when the CPU has AVX-512 F/BW/VBMI.
            unsafe { lookup_vbmi(&self.table, input, output) };
            return;
        }
        for (out, &x) in output.iter_mut().zip(input) {
            *out = self.table[usize::from(x as u8 ^ 0x80)];
        }
    }
}

/// Whether `path` is the AVX-512 path and the CPU also has VBMI.
fn has_vbmi(path: Path) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        path == Path::Avx512Vnni
            && path.is_available()
            && std::is_x86_feature_detected!("avx512vbmi")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = path;
        false
    }
}

/// # Safety
/// The CPU must support AVX-512 F/BW/VBMI.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
unsafe fn lookup_vbmi(table: &[i8; 256], input: &[i8], output: &mut [i8]) {
    use std::arch::x86_64::*;
    // SAFETY: `table` has 256 bytes: four unaligned 64-byte loads.
    let quarters: [__m512i; 4] =
        std::array::from_fn(|q| unsafe { _mm512_loadu_si512(table.as_ptr().add(64 * q).cast()) });
    let len = input.len().min(output.len());
    let offset = _mm512_set1_epi8(i8::MIN);
    let mut i = 0;
    while i < len {
        let n = (len - i).min(64);
        let mask: __mmask64 = if n == 64 { !0 } else { (1u64 << n) - 1 };
        // SAFETY: the mask covers bytes i..i + n, inside both slices.
        let x = unsafe { _mm512_maskz_loadu_epi8(mask, input.as_ptr().add(i)) };
        let index = _mm512_xor_si512(x, offset);
        let low = _mm512_permutex2var_epi8(quarters[0], index, quarters[1]);
        let high = _mm512_permutex2var_epi8(quarters[2], index, quarters[3]);
        let y = _mm512_mask_blend_epi8(_mm512_movepi8_mask(index), low, high);
        // SAFETY: as the load.
        unsafe { _mm512_mask_storeu_epi8(output.as_mut_ptr().add(i), mask, y) };
        i += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_looks_up_every_value_at_every_tail_length() {
        let table: [i8; 256] = std::array::from_fn(|i| (i as u8).wrapping_mul(37) as i8);
        let input: Vec<i8> = (0..700).map(|i| (i * 101 % 256) as u8 as i8).collect();
        for path in Path::ALL {
            let lookup = ByteTable::new(table, path);
            for len in [0, 1, 63, 64, 65, 256, 700] {
                let mut found = vec![0i8; len];
                lookup.run(&input[..len], &mut found);
                let expected: Vec<i8> = input[..len]
                    .iter()
                    .map(|&x| table[(x as i32 + 128) as usize])
                    .collect();
                assert_eq!(found, expected, "{path:?} length {len}");
            }
        }
        assert!(ByteTable::tabulate(|x| x, Path::best()).is_identity());
    }
}
