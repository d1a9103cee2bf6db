//! The per-step series the figure needs, kept in bounded memory.
//!
//! A chart a few thousand pixels wide cannot show more points than that, so the series
//! keeps at most [`CAPACITY`] evenly spaced steps: when it fills, every other point is
//! dropped and the stride doubles. Memory is constant whatever the number of steps; the
//! last step is always kept so every line ends where the run ended.

use datadao_core::governance::{GovernedSettings, ProposalRecord};
use datadao_core::StepMetrics;

/// Most points kept.
pub const CAPACITY: usize = 4096;

/// What one plotted step holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// Step index.
    pub step: u32,
    /// Price, if the pool had one.
    pub price: Option<f64>,
    /// dDT reserve.
    pub ddt_reserve: f64,
    /// xDAI reserve.
    pub xdai_reserve: f64,
    /// dDT in the Pie.
    pub pie: f64,
    /// dDT supply.
    pub ddt_supply: f64,
    /// Agents of each type, in type order.
    pub agents: Vec<u64>,
    /// Mean xDAI per agent of each type.
    pub avg_xdai: Vec<Option<f64>>,
    /// CRC locked in the vault.
    pub crc_locked: f64,
    /// Share of data allowing each use case.
    pub allowed_share: Vec<f64>,
    /// The treasury and governed settings, in governed runs.
    pub governance: Option<GovernancePoint>,
}

/// What a governed step adds to the figure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GovernancePoint {
    /// Treasury dDT (The Pie after distribution).
    pub treasury_ddt: f64,
    /// Treasury xDAI.
    pub treasury_xdai: f64,
    /// dDT burned by governance so far.
    pub ddt_burned: f64,
    /// CRC locked per dDT.
    pub backing_ratio: Option<f64>,
    /// Proposals passed so far.
    pub proposals_passed: u64,
    /// The governed settings in force.
    pub settings: GovernedSettings,
}

impl From<&StepMetrics> for Point {
    fn from(m: &StepMetrics) -> Self {
        Self {
            step: m.step,
            price: m.price,
            ddt_reserve: m.lp_ddt_reserve,
            xdai_reserve: m.lp_xdai_reserve,
            pie: m.pie_ddt,
            ddt_supply: m.ddt_supply,
            agents: m.agents.clone(),
            avg_xdai: m.avg_xdai.clone(),
            crc_locked: m.crc_locked,
            allowed_share: m.allowed_share.clone(),
            governance: m.governance.map(|g| GovernancePoint {
                treasury_ddt: g.treasury_ddt,
                treasury_xdai: g.treasury_xdai,
                ddt_burned: g.ddt_burned,
                backing_ratio: g.backing_ratio,
                proposals_passed: g.proposals_passed,
                settings: g.settings,
            }),
        }
    }
}

/// Evenly thinned points of a run.
#[derive(Clone, Debug)]
pub struct Series {
    stride: u32,
    points: Vec<Point>,
    last: Option<Point>,
    /// Steps of passed proposals, thinned like the points.
    passed: Vec<u32>,
    passed_stride: u32,
    passed_seen: u64,
}

impl Default for Series {
    fn default() -> Self {
        Self::new()
    }
}

impl Series {
    /// Empty.
    pub fn new() -> Self {
        Self {
            stride: 1,
            points: Vec::with_capacity(CAPACITY),
            last: None,
            passed: Vec::new(),
            passed_stride: 1,
            passed_seen: 0,
        }
    }

    /// Offer a voted proposal: passed ones are marked on the figure (at most
    /// [`CAPACITY`], every other one dropped when full).
    pub fn push_proposal(&mut self, record: &ProposalRecord) {
        if !record.passed {
            return;
        }
        let n = self.passed_seen;
        self.passed_seen += 1;
        if n.is_multiple_of(u64::from(self.passed_stride)) {
            self.passed.push(record.step);
            if self.passed.len() >= CAPACITY {
                self.passed_stride *= 2;
                let keep: Vec<u32> = self.passed.iter().copied().step_by(2).collect();
                self.passed = keep;
            }
        }
    }

    /// Steps at which proposals passed (thinned if there were very many).
    pub fn passed(&self) -> &[u32] {
        &self.passed
    }

    /// Offer a step's metrics.
    pub fn push(&mut self, m: &StepMetrics) {
        if m.step.is_multiple_of(self.stride) {
            self.points.push(Point::from(m));
            self.last = None;
            if self.points.len() >= CAPACITY {
                self.stride *= 2;
                let stride = self.stride;
                self.points.retain(|p| p.step % stride == 0);
            }
        } else {
            self.last = Some(Point::from(m));
        }
    }

    /// The kept points, ending with the last step seen.
    pub fn points(&self) -> Vec<Point> {
        let mut out = self.points.clone();
        out.extend(self.last.clone());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(step: u32) -> StepMetrics {
        StepMetrics {
            price: Some(1.0),
            ..StepMetrics::empty(step, 1)
        }
    }

    #[test]
    fn memory_is_bounded_and_the_last_step_kept() {
        let mut s = Series::new();
        for step in 0..100_001 {
            s.push(&metrics(step));
        }
        let pts = s.points();
        assert!(pts.len() <= CAPACITY + 1);
        assert!(pts.len() > CAPACITY / 2);
        assert_eq!(pts.first().unwrap().step, 0);
        assert_eq!(pts.last().unwrap().step, 100_000);
        assert!(pts.windows(2).all(|w| w[0].step < w[1].step));
    }
}
