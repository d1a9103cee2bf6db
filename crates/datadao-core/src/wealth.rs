//! How wealth is spread within each type (`output.distribution = true`): the Gini
//! coefficient and the 10th, 50th and 90th percentiles of agents' wealth in xDAI at the
//! step's price, over the agents present. Pure arithmetic on a slice of wealths; the
//! engine gathers them.

/// What an agent holds, in xDAI at `price`: its xDAI, its dDT at the price, and its LP
/// tokens' claim on both reserves (their dDT at the price). `None` without a price (an
/// empty pool) when it holds any dDT or LP tokens. `agents.csv`'s `wealth_xdai`.
pub fn in_xdai(
    (ddt, xdai, lp): (f64, f64, f64),
    price: Option<f64>,
    (pool_ddt, pool_xdai, lp_supply): (f64, f64, f64),
) -> Option<f64> {
    let (lp_ddt, lp_xdai) = if lp > 0.0 && lp_supply > 0.0 {
        (pool_ddt * lp / lp_supply, pool_xdai * lp / lp_supply)
    } else {
        (0.0, 0.0)
    };
    let ddt = ddt + lp_ddt;
    match price {
        Some(p) => Some(xdai + lp_xdai + ddt * p),
        None if ddt == 0.0 => Some(xdai + lp_xdai),
        None => None,
    }
}

/// One type's spread of wealth at the end of a step; every figure is `None` without an
/// agent of the type, or without a price (wealth in xDAI needs one).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WealthStats {
    /// Gini coefficient, 0 (all equal) to 1 - 1/n (one holds everything); `None` also
    /// when no one holds anything (0/0).
    pub gini: Option<f64>,
    /// 10th percentile.
    pub p10: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
}

impl WealthStats {
    /// The figures of `wealth` (sorted here, in place). Percentiles are the sweeps'
    /// ([`crate::quantile::percentile`], numpy's default); the Gini
    /// coefficient is `sum_i (2i - n - 1) x_i / (n sum x)` over the sorted values
    /// (1-based `i`), the mean absolute difference over twice the mean.
    pub fn of(wealth: &mut [f64]) -> Self {
        if wealth.is_empty() {
            return Self::default();
        }
        wealth.sort_unstable_by(f64::total_cmp);
        let n = wealth.len() as f64;
        let total: f64 = wealth.iter().sum();
        let weighted: f64 = wealth
            .iter()
            .enumerate()
            .map(|(i, &x)| (2.0 * (i as f64 + 1.0) - n - 1.0) * x)
            .sum();
        let gini = (total > 0.0).then(|| weighted / (n * total));
        let at = |q: f64| crate::quantile::percentile(wealth, q);
        Self {
            gini,
            p10: at(0.1),
            p50: at(0.5),
            p90: at(0.9),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-computed: [1, 2, 3, 4] has Gini (-3*1 - 1*2 + 1*3 + 3*4) / (4 * 10) = 0.25;
    /// p10 at rank 0.3 is 1.3, the median 2.5, p90 at rank 2.7 is 3.7.
    #[test]
    fn four_agents_by_hand() {
        let s = WealthStats::of(&mut [4.0, 1.0, 3.0, 2.0]);
        assert!((s.gini.unwrap() - 0.25).abs() < 1e-15);
        assert!((s.p10.unwrap() - 1.3).abs() < 1e-12);
        assert_eq!(s.p50, Some(2.5));
        assert!((s.p90.unwrap() - 3.7).abs() < 1e-12);
    }

    /// Equal wealth is Gini 0; one holding all of n is 1 - 1/n; nothing held is no
    /// figure; one agent is its own every percentile.
    #[test]
    fn the_edges() {
        assert_eq!(WealthStats::of(&mut [5.0; 7]).gini, Some(0.0));
        let mut one_rich = [0.0, 0.0, 0.0, 0.0, 10.0];
        assert!((WealthStats::of(&mut one_rich).gini.unwrap() - 0.8).abs() < 1e-15);
        assert_eq!(WealthStats::of(&mut [0.0, 0.0]).gini, None);
        let s = WealthStats::of(&mut [3.0]);
        assert_eq!((s.p10, s.p50, s.p90), (Some(3.0), Some(3.0), Some(3.0)));
        assert_eq!(WealthStats::of(&mut []), WealthStats::default());
    }
}
