//! The end of a step: the metrics row and the audit, which checks every balance is a
//! finite number of at least 0 and every token is accounted for.

use super::{BalanceSums, Simulation};
use crate::ledger::{AuditError, Holdings};
use crate::metrics::{GovernanceMetrics, StepMetrics};

impl Simulation {
    /// Snapshot the step from the agents' balance sums.
    pub(super) fn measure(
        &self,
        step: u32,
        tally: &BalanceSums,
        crc_held: f64,
    ) -> (StepMetrics, Holdings) {
        let BalanceSums {
            sum_xdai,
            sum_ddt,
            sum_lp,
            orgs_out_of_xdai,
            left_xdai,
            left_ddt,
        } = *tally;
        let counts = self.population.counts();
        let mean = |sums: &[f64]| -> Vec<Option<f64>> {
            counts
                .iter()
                .zip(sums)
                .map(|(&n, &sum)| (n > 0).then(|| sum / n as f64))
                .collect()
        };
        let metrics = StepMetrics {
            step,
            price: self.pool.price(),
            lp_ddt_reserve: self.pool.ddt_reserve(),
            lp_xdai_reserve: self.pool.xdai_reserve(),
            lp_supply: self.pool.lp_supply(),
            pie_ddt: self.pie.balance(),
            ddt_supply: self.ledger.supply(),
            flows: self.flows,
            agents: counts.to_vec(),
            avg_xdai: mean(&sum_xdai),
            avg_ddt: mean(&sum_ddt),
            crc_supply: crc_held + self.vault.locked(),
            crc_locked: self.vault.locked(),
            data_weight: self.data.total_weight(),
            data_removed_weight: self.data.removed_weight(),
            allowed_share: (0..self.use_cases)
                .map(|u| self.data.allowed_share(u))
                .collect(),
            orgs_out_of_xdai,
            governance: self.config.governance.enabled.then(|| GovernanceMetrics {
                treasury_ddt: self.pie.treasury(),
                treasury_xdai: self.treasury.xdai(),
                treasury_lp: self.treasury.lp(),
                ddt_burned: self.ledger.ddt_burned_by_dao(),
                backing_ratio: self.ledger.backing_ratio(self.vault.locked()),
                proposals: self.governance.proposals,
                proposals_passed: self.governance.passed,
                settings: self.settings,
            }),
            event_settings: (!self.config.governance.enabled && self.event_mask != 0)
                .then_some((self.event_mask, self.settings)),
            wealth: self.measure_wealth.then(|| self.wealth_by_type()),
        };
        let holdings = Holdings {
            agents_ddt: sum_ddt.iter().sum::<f64>() + left_ddt,
            agents_xdai: sum_xdai.iter().sum::<f64>() + left_xdai,
            pool_ddt: self.pool.ddt_reserve(),
            pool_xdai: self.pool.xdai_reserve(),
            pie_ddt: self.pie.balance(),
            crc_locked: self.vault.locked(),
            treasury_xdai: self.treasury.xdai(),
            agents_lp: sum_lp,
            treasury_lp: self.treasury.lp(),
            lp_supply: self.pool.lp_supply(),
        };
        (metrics, holdings)
    }

    pub(super) fn audit(&self, step: u32, holdings: &Holdings) -> Result<(), AuditError> {
        if let Some(detail) = &self.violation {
            return Err(AuditError {
                step,
                detail: detail.clone(),
            });
        }
        let mut locked = 0.0;
        for (a, m) in self.agents.iter().zip(&self.members) {
            locked += m.crc_locked;
            // `>= 0` and finite, written so that NaN fails too.
            let sound = |v: f64| v >= 0.0 && v.is_finite();
            if ![a.ddt, a.xdai, a.lp, m.crc, m.crc_locked]
                .into_iter()
                .all(sound)
            {
                return Err(AuditError {
                    step,
                    detail: format!(
                        "agent {} ({}) has a negative or non-finite balance: dDT {}, xDAI {}, LP {}, CRC {}, locked {}",
                        a.id,
                        self.types.name(a.kind),
                        a.ddt,
                        a.xdai,
                        a.lp,
                        m.crc,
                        m.crc_locked
                    ),
                });
            }
        }
        let scale = self.vault.locked().max(1.0);
        if (locked - self.vault.locked()).abs() > crate::ledger::AUDIT_TOLERANCE * scale {
            return Err(AuditError {
                step,
                detail: format!(
                    "members' locked CRC {locked} != vault {}",
                    self.vault.locked()
                ),
            });
        }
        self.ledger.audit(step, holdings)
    }
}
