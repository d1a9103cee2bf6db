//! The pure parts of experiments: seeds for Monte Carlo runs, the KPIs a run is reduced
//! to, and percentiles across runs in bounded memory.
//!
//! Everything here is deterministic and independent of how runs are scheduled: a run's
//! seed depends only on the base seed and its index, and digests are fed in run order
//! by the caller, so the same sweep gives the same numbers on one core or a cluster.

use crate::agents::AgentType;
use crate::metrics::{Cell, ColumnName, GovernanceMetrics, StepMetrics};
use crate::transactions::Observer;

/// Seed of run `index` of a sweep point: SplitMix64 of the base seed advanced by
/// `index` golden-ratio increments, kept to 63 bits. Depends on nothing else, so
/// `datadao run --seed S` repeats any run alone; 63 bits because TOML integers (config
/// files, `--set`, `run_config.toml`) are signed 64-bit.
pub fn run_seed(base: u64, index: u64) -> u64 {
    let mut z = base.wrapping_add(index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) & MAX_SEED
}

/// Largest seed a run can have (`i64::MAX`).
pub const MAX_SEED: u64 = i64::MAX as u64;

pub use crate::quantile::percentile;

/// Values of one quantity across runs, in bounded memory. Exact up to `2 * CAPACITY`
/// values; beyond that, sorted values are merged pairwise into weighted centroids
/// (deterministically, given the order values arrive in).
#[derive(Clone, Debug, Default)]
pub struct Digest {
    /// (value, weight), unsorted past `sorted_len`.
    points: Vec<(f64, f64)>,
    count: u64,
    sum: f64,
    compressed: bool,
}

/// Centroids kept after compression.
pub const CAPACITY: usize = 512;

impl Digest {
    /// Add one run's value.
    pub fn add(&mut self, value: f64) {
        self.count += 1;
        self.sum += value;
        self.points.push((value, 1.0));
        if self.points.len() > 2 * CAPACITY {
            self.compress();
        }
    }

    fn compress(&mut self) {
        self.points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let merged: Vec<(f64, f64)> = self
            .points
            .chunks(2)
            .map(|pair| {
                let w: f64 = pair.iter().map(|p| p.1).sum();
                let v = pair.iter().map(|p| p.0 * p.1).sum::<f64>() / w;
                (v, w)
            })
            .collect();
        self.points = merged;
        self.compressed = true;
    }

    /// Values added.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Mean of the values added.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }

    /// Whether percentiles are still exact.
    pub fn is_exact(&self) -> bool {
        !self.compressed
    }

    /// The `q`-quantile: exact (type 7) while no compression happened; otherwise
    /// interpolated over centroids placed at the middle of their weight.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let mut pts = self.points.clone();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        if !self.compressed {
            let values: Vec<f64> = pts.iter().map(|p| p.0).collect();
            return percentile(&values, q);
        }
        let total: f64 = pts.iter().map(|p| p.1).sum();
        let target = q.clamp(0.0, 1.0) * total;
        let mut cum = 0.0;
        let mut prev: Option<(f64, f64)> = None;
        for &(v, w) in &pts {
            let centre = cum + w / 2.0;
            if target <= centre {
                return Some(match prev {
                    None => v,
                    Some((pv, pc)) => pv + (v - pv) * (target - pc) / (centre - pc),
                });
            }
            prev = Some((v, centre));
            cum += w;
        }
        pts.last().map(|p| p.0)
    }
}

/// What a run is reduced to: one row of `sweep_runs.csv`, and the figures of every
/// front end's run summary (the CLI's report, Python's `Result.summary`, the page's).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunKpis {
    /// The last step folded in (`None` before the first).
    pub last_step: Option<u32>,
    /// Price after the last step (`None` if the pool never had one).
    pub final_price: Option<f64>,
    /// Lowest price seen.
    pub min_price: Option<f64>,
    /// The first step with the lowest price.
    pub min_price_step: Option<u32>,
    /// Highest price seen.
    pub max_price: Option<f64>,
    /// The first step with the highest price.
    pub max_price_step: Option<u32>,
    /// Mean price over steps that had one.
    pub mean_price: Option<f64>,
    /// Standard deviation of daily log returns of the price.
    pub volatility: Option<f64>,
    /// Largest fall from a running peak, as a fraction of the peak.
    pub max_drawdown: Option<f64>,
    /// dDT reserve at the end.
    pub final_ddt_reserve: f64,
    /// xDAI reserve at the end.
    pub final_xdai_reserve: f64,
    /// Pie at the end.
    pub final_pie: f64,
    /// dDT spent on compute over the run.
    pub pie_inflow: f64,
    /// dDT paid out by the Pie over the run.
    pub pie_distributed: f64,
    /// dDT supply at the end.
    pub ddt_supply: f64,
    /// xDAI traded over the run.
    pub volume_xdai: f64,
    /// Fees over the run (xDAI on buys, dDT on sells).
    pub fees_xdai: f64,
    /// Fees paid in dDT over the run.
    pub fees_ddt: f64,
    /// Jobs refused over the run.
    pub jobs_refused: u64,
    /// First step after which every organization had run out of xDAI.
    pub orgs_out_of_xdai_step: Option<u32>,
    /// Mean xDAI per agent of each type at the end, in type order.
    pub final_avg_xdai: Vec<Option<f64>>,
    /// Agents of each type at the end, indexed by [`AgentType::index`].
    pub final_agents: Vec<u64>,
    /// The treasury, proposals and governed settings after the last step, in governed
    /// runs.
    pub final_governance: Option<GovernanceMetrics>,
}

impl RunKpis {
    /// The run's figures as `sweep_runs.csv` reports them, one (name, cell) pair per
    /// column, in order: the one list of those columns. With `governed`, the governance
    /// finals follow (`final_treasury_ddt`, ...), empty for a run without governance.
    pub fn report(&self, governed: bool, out: &mut impl FnMut(ColumnName, Cell)) {
        let prices = [
            ("final_price", self.final_price),
            ("min_price", self.min_price),
            ("max_price", self.max_price),
            ("mean_price", self.mean_price),
            ("volatility", self.volatility),
            ("max_drawdown", self.max_drawdown),
        ];
        for (name, v) in prices {
            out(ColumnName::Fixed(name), v.into());
        }
        let totals = [
            ("final_ddt_reserve", self.final_ddt_reserve),
            ("final_xdai_reserve", self.final_xdai_reserve),
            ("final_pie", self.final_pie),
            ("pie_inflow", self.pie_inflow),
            ("pie_distributed", self.pie_distributed),
            ("ddt_supply", self.ddt_supply),
            ("volume_xdai", self.volume_xdai),
            ("fees_xdai", self.fees_xdai),
            ("fees_ddt", self.fees_ddt),
        ];
        for (name, v) in totals {
            out(ColumnName::Fixed(name), Cell::Float(v));
        }
        out(
            ColumnName::Fixed("jobs_refused"),
            Cell::Int(self.jobs_refused),
        );
        out(
            ColumnName::Fixed("orgs_out_of_xdai_step"),
            self.orgs_out_of_xdai_step
                .map_or(Cell::Empty, |s| Cell::Int(u64::from(s))),
        );
        for (i, &v) in self.final_avg_xdai.iter().enumerate() {
            out(
                ColumnName::OfType("final_avg_xdai", AgentType::from_index(i)),
                v.into(),
            );
        }
        if governed {
            let finals = &mut |name: ColumnName, cell: Cell| match name {
                ColumnName::Fixed(name) => out(ColumnName::Final(name), cell),
                other => out(other, cell),
            };
            match &self.final_governance {
                Some(g) => g.report(finals),
                None => {
                    GovernanceMetrics::default().report(&mut |name, _| finals(name, Cell::Empty))
                }
            }
        }
    }

    /// The names of [`RunKpis::report`]'s columns, in order, for a run of the seed's
    /// five types.
    pub fn columns(governed: bool) -> Vec<String> {
        Self::columns_for(governed, &crate::agent_type::TypeNames::seed())
    }

    /// [`RunKpis::columns`] for a run of these types.
    pub fn columns_for(governed: bool, types: &crate::agent_type::TypeNames) -> Vec<String> {
        let shape = RunKpis {
            final_avg_xdai: vec![None; types.len()],
            final_agents: vec![0; types.len()],
            ..RunKpis::default()
        };
        let mut names = Vec::new();
        shape.report(governed, &mut |name, _| names.push(name.spell(&[], types)));
        names
    }
}

/// Streams a run's steps into its KPIs in constant memory: the one accumulator of a
/// run's figures, for sweeps and for every front end's summary.
#[derive(Clone, Debug, Default)]
pub struct KpiTracker {
    kpis: RunKpis,
    priced_steps: u64,
    price_sum: f64,
    last_price: Option<f64>,
    returns: u64,
    return_sum: f64,
    return_sq_sum: f64,
    peak: f64,
}

impl KpiTracker {
    /// Fold in a step.
    pub fn update(&mut self, m: &StepMetrics) {
        let k = &mut self.kpis;
        if let Some(p) = m.price {
            // The first step that reached each extreme is kept.
            if k.min_price.is_none_or(|lo| p < lo) {
                k.min_price = Some(p);
                k.min_price_step = Some(m.step);
            }
            if k.max_price.is_none_or(|hi| p > hi) {
                k.max_price = Some(p);
                k.max_price_step = Some(m.step);
            }
            self.priced_steps += 1;
            self.price_sum += p;
            if let Some(prev) = self.last_price {
                if prev > 0.0 && p > 0.0 {
                    let r = (p / prev).ln();
                    self.returns += 1;
                    self.return_sum += r;
                    self.return_sq_sum += r * r;
                }
            }
            self.peak = self.peak.max(p);
            if self.peak > 0.0 {
                let dd = (self.peak - p) / self.peak;
                k.max_drawdown = Some(k.max_drawdown.map_or(dd, |v| v.max(dd)));
            }
            self.last_price = Some(p);
        }
        k.last_step = Some(m.step);
        k.final_price = m.price;
        k.final_ddt_reserve = m.lp_ddt_reserve;
        k.final_xdai_reserve = m.lp_xdai_reserve;
        k.final_pie = m.pie_ddt;
        k.pie_inflow += m.flows.pie_inflow_ddt;
        k.pie_distributed += m.flows.pie_distributed_ddt;
        k.ddt_supply = m.ddt_supply;
        k.volume_xdai += m.flows.volume_xdai;
        k.fees_xdai += m.flows.fees_xdai;
        k.fees_ddt += m.flows.fees_ddt;
        k.jobs_refused += m.flows.jobs_refused;
        let orgs = m.agents[AgentType::ORGANIZATION.index()];
        if k.orgs_out_of_xdai_step.is_none() && orgs > 0 && m.orgs_out_of_xdai == orgs {
            k.orgs_out_of_xdai_step = Some(m.step);
        }
        k.final_avg_xdai.clone_from(&m.avg_xdai);
        k.final_agents.clone_from(&m.agents);
        k.final_governance = m.governance;
    }

    /// The run's KPIs so far, without ending the fold.
    pub fn kpis(&self) -> RunKpis {
        self.clone().finish()
    }

    /// The run's KPIs.
    pub fn finish(mut self) -> RunKpis {
        let k = &mut self.kpis;
        if self.priced_steps > 0 {
            k.mean_price = Some(self.price_sum / self.priced_steps as f64);
        }
        if self.returns > 1 {
            let n = self.returns as f64;
            let mean = self.return_sum / n;
            let var = (self.return_sq_sum / n - mean * mean).max(0.0) * n / (n - 1.0);
            k.volatility = Some(var.sqrt());
        }
        self.kpis
    }
}

impl Observer for KpiTracker {
    fn on_step(&mut self, m: &StepMetrics) {
        self.update(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand values (numpy.percentile, default "linear").
    #[test]
    fn percentiles_by_hand() {
        let v = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(percentile(&v, 0.5), Some(3.0));
        // (n-1) q = 0.2 -> 1 + 0.2 * (2 - 1)
        assert_eq!(percentile(&v, 0.05), Some(1.2));
        // (n-1) q = 3.8 -> 4 + 0.8 * (10 - 4) = 8.8
        assert!((percentile(&v, 0.95).unwrap() - 8.8).abs() < 1e-12);
        assert_eq!(percentile(&[7.0], 0.95), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
        // Two values: the median is their mean.
        assert_eq!(percentile(&[2.0, 4.0], 0.5), Some(3.0));
    }

    #[test]
    fn digest_is_exact_until_it_must_compress() {
        let mut d = Digest::default();
        for v in [10.0, 4.0, 3.0, 2.0, 1.0] {
            d.add(v);
        }
        assert!(d.is_exact());
        assert_eq!(d.quantile(0.5), Some(3.0));
        assert!((d.quantile(0.95).unwrap() - 8.8).abs() < 1e-12);
        assert_eq!(d.mean(), Some(4.0));
        // 10,000 uniform values: compressed, still close.
        let mut d = Digest::default();
        for i in 0..10_000 {
            d.add(f64::from((i * 7919) % 10_000));
        }
        assert!(!d.is_exact());
        assert!(d.points.len() <= 2 * CAPACITY);
        for (q, expected) in [(0.05, 500.0), (0.5, 5000.0), (0.95, 9500.0)] {
            let got = d.quantile(q).unwrap();
            assert!((got - expected).abs() < 30.0, "{q}: {got}");
        }
    }

    #[test]
    fn seeds_depend_on_base_and_index_only() {
        assert_eq!(run_seed(42, 3), run_seed(42, 3));
        assert_ne!(run_seed(42, 3), run_seed(42, 4));
        assert_ne!(run_seed(42, 3), run_seed(43, 3));
        // SplitMix64's reference output for state 0 after one increment
        // (0xE220A8397B1DCDAF), top bit cleared.
        assert_eq!(run_seed(0, 1), 0x6220_A839_7B1D_CDAF);
        assert!((0..1000).all(|i| run_seed(u64::MAX, i) <= MAX_SEED));
    }

    #[test]
    fn kpis_by_hand() {
        let mut t = KpiTracker::default();
        for (step, p) in [(0, 1.0), (1, 2.0), (2, 1.0), (3, 4.0)] {
            let mut m = StepMetrics::empty(step, 0);
            m.price = Some(p);
            t.update(&m);
        }
        let k = t.finish();
        assert_eq!(
            (k.min_price, k.max_price, k.final_price),
            (Some(1.0), Some(4.0), Some(4.0))
        );
        // The first step at the lowest price (steps 0 and 2 tie), the last step seen.
        assert_eq!(
            (k.min_price_step, k.max_price_step, k.last_step),
            (Some(0), Some(3), Some(3))
        );
        assert_eq!(k.mean_price, Some(2.0));
        // Drawdown from 2 to 1: 50%.
        assert_eq!(k.max_drawdown, Some(0.5));
        // Log returns ln2, -ln2, ln4: mean ln2/3, sample std by hand.
        let r = [2f64.ln(), -(2f64.ln()), 4f64.ln()];
        let mean = r.iter().sum::<f64>() / 3.0;
        let var = r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0;
        assert!((k.volatility.unwrap() - var.sqrt()).abs() < 1e-12);
    }
}
