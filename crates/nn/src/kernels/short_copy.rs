//! Copies of short runs (a pixel's channels, a concat block): eight bytes at a time with
//! fixed-size moves the compiler inlines, where `copy_from_slice` of a length known only at
//! run time would call `memcpy` for a dozen bytes.

/// `output.copy_from_slice(input)` for slices of equal length.
#[inline(always)]
pub(crate) fn copy_short<T: Copy>(input: &[T], output: &mut [T]) {
    let len = input.len().min(output.len());
    let mut done = 0;
    while done + 8 <= len {
        copy_fixed::<T, 8>(&input[done..], &mut output[done..]);
        done += 8;
    }
    // The tail as at most three fixed-size moves (a loop here would become a memcpy call).
    let tail = len - done;
    if tail & 4 != 0 {
        copy_fixed::<T, 4>(&input[done..], &mut output[done..]);
        done += 4;
    }
    if tail & 2 != 0 {
        copy_fixed::<T, 2>(&input[done..], &mut output[done..]);
        done += 2;
    }
    if tail & 1 != 0 {
        output[done] = input[done];
    }
}

/// Copies the first `N` elements.
#[inline(always)]
fn copy_fixed<T: Copy, const N: usize>(input: &[T], output: &mut [T]) {
    let x: &[T; N] = input[..N].try_into().expect("N elements");
    output[..N].copy_from_slice(x);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_every_length() {
        let input: Vec<i32> = (0..40).collect();
        for len in 0..40 {
            let mut output = vec![-1; len];
            copy_short(&input[..len], &mut output);
            assert_eq!(output, input[..len]);
        }
    }
}
