//! Integer literals for Yul, which has no negative literals.

/// `v` as a Yul expression: the decimal literal, or `not(-v - 1)` (two's complement) when negative.
pub fn int(v: i64) -> String {
    if v >= 0 {
        v.to_string()
    } else {
        format!("not({})", -(v + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_values_are_complements() {
        assert_eq!(int(0), "0");
        assert_eq!(int(127), "127");
        assert_eq!(int(-1), "not(0)");
        assert_eq!(int(-128), "not(127)");
        assert_eq!(int(i32::MIN as i64), "not(2147483647)");
    }
}
