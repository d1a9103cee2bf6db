//! The figures a run's summary reports, folded step by step in constant memory: the
//! CLI prints them, the Python package returns them as `Result.summary`.

use datadao_core::StepMetrics;

/// Running figures over a whole run, updated step by step in constant memory.
#[derive(Clone, Debug, Default)]
pub struct RunStats {
    /// Final step's metrics.
    pub last: Option<StepMetrics>,
    /// Lowest price seen, with its step.
    pub min_price: Option<(f64, u32)>,
    /// Highest price seen, with its step.
    pub max_price: Option<(f64, u32)>,
    /// xDAI traded over the run.
    pub volume_xdai: f64,
    /// dDT spent on compute over the run.
    pub pie_inflow_ddt: f64,
    /// dDT paid out by the Pie over the run.
    pub pie_distributed_ddt: f64,
}

impl RunStats {
    /// Fold in a step.
    pub fn update(&mut self, m: &StepMetrics) {
        if let Some(p) = m.price {
            if self.min_price.is_none_or(|(lo, _)| p < lo) {
                self.min_price = Some((p, m.step));
            }
            if self.max_price.is_none_or(|(hi, _)| p > hi) {
                self.max_price = Some((p, m.step));
            }
        }
        self.volume_xdai += m.flows.volume_xdai;
        self.pie_inflow_ddt += m.flows.pie_inflow_ddt;
        self.pie_distributed_ddt += m.flows.pie_distributed_ddt;
        self.last = Some(m.clone());
    }
}
