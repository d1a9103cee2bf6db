//! Percentiles as every datadao table computes them: a sweep's bands across runs and a
//! type's spread of wealth across agents. A leaf, so both can use it.

/// The `q`-quantile (0..=1) of sorted values by linear interpolation between closest
/// ranks (numpy's default, "type 7"): position `(n - 1) q`.
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}
