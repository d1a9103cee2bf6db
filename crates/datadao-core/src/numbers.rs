//! How every datadao CSV spells a number: the transaction log (`datadao-log`), the run's
//! tables and the sweep's (`datadao-scenario`) share this one formatter. Spelling, no
//! I/O: it appends to a buffer.

/// Append an `f64` the way the CSVs spell numbers: shortest round-trip form (so reading
/// it back gives the same bits), `0` for either zero, `NaN` for anything not finite.
pub fn push_f64(out: &mut Vec<u8>, value: f64) {
    if value == 0.0 {
        out.push(b'0');
    } else if value.is_finite() {
        out.extend_from_slice(zmij::Buffer::new().format_finite(value).as_bytes());
    } else {
        out.extend_from_slice(b"NaN");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for v in [0.1, 1.0 / 3.0, 1e-12, 123456789.125, -2.5] {
            let mut out = Vec::new();
            push_f64(&mut out, v);
            let back: f64 = std::str::from_utf8(&out).unwrap().parse().unwrap();
            assert_eq!(back, v);
        }
        let mut out = Vec::new();
        push_f64(&mut out, -0.0);
        assert_eq!(out, b"0");
    }
}
