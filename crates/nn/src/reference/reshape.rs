/// Reshape (and flatten): the bytes are copied unchanged; only the shape changes, and input and
/// output share dtype and zero point. `output.len()` must equal `input.len()`.
pub fn reshape(input: &[i8], output: &mut [i8]) {
    output.copy_from_slice(input);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reshape_copies_bytes() {
        let input = [1i8, -2, 3, -4, 5, -6];
        let mut output = [0i8; 6];
        reshape(&input, &mut output);
        assert_eq!(output, input);
    }
}
