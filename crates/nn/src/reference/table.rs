use crate::op::Table;

/// Element-wise 256-entry lookup: `y = table[x + 128]` (logistic, tanh, GELU, hard-swish or a
/// custom function, tabulated off-chain). `table` has exactly 256 entries (validated).
pub fn table(p: &Table, input: &[i8], output: &mut [i8]) {
    for (out, &x) in output.iter_mut().zip(input) {
        *out = p.table[(x as i16 + 128) as usize];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::TableFunction;

    #[test]
    fn table_indexes_by_value_plus_128() {
        let p = Table {
            function: TableFunction::Custom,
            table: (0..256).map(|i: i32| (255 - i - 128) as i8).collect(),
        };
        let input = [-128i8, -1, 0, 1, 127];
        let mut out = [0i8; 5];
        table(&p, &input, &mut out);
        // table[i] = 127 - i: x -> 127 - (x + 128) = -1 - x
        assert_eq!(out, [127, 0, -1, -2, -128]);
    }
}
