//! Token accounting and the audit.
//!
//! The ledger counts what enters and leaves the economy (dDT minted and burned, xDAI
//! brought in by agents). The audit compares those counts with what is actually held by
//! agents, the pool and The Pie: `minted = held + pooled + in the Pie + burned`, and
//! `xDAI brought = xDAI held + xDAI pooled`. Balances are `f64`, so equality is checked to
//! a relative tolerance far below any economically meaningful amount. The ledger also
//! keeps the run's [`FlowTotals`], every flow by action and party, for the flow diagram.

use crate::flows::{FlowParty, FlowTotals};
use crate::transactions::Action;

/// Relative tolerance of the conservation checks: rounding over millions of `f64`
/// operations stays orders of magnitude below it, while any real leak (a lost fee, a
/// share paid twice) is far above it.
pub const AUDIT_TOLERANCE: f64 = 1e-9;

/// Flows into and out of the economy.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ledger {
    ddt_minted: f64,
    ddt_burned: f64,
    ddt_decayed: f64,
    xdai_brought: f64,
    /// dDT burned by governance (also counted in `ddt_burned`).
    ddt_burned_by_dao: f64,
    /// CRC locked in the vault that backs no dDT: what governance burned, shrinking with
    /// dDT demurrage as the vault does.
    backing_surplus: f64,
    /// Every flow of the run by action and party, and demurrage by holder.
    flows: FlowTotals,
    /// dDT minted into The Pie from the outside reward budget so far.
    ddt_subsidized: f64,
    /// dDT in existence with no CRC behind it (the subsidies, shrinking with dDT
    /// demurrage as every balance does).
    unbacked: f64,
}

/// What is held, summed by the engine at the end of a step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Holdings {
    /// dDT held by agents.
    pub agents_ddt: f64,
    /// xDAI held by agents.
    pub agents_xdai: f64,
    /// dDT in the pool.
    pub pool_ddt: f64,
    /// xDAI in the pool.
    pub pool_xdai: f64,
    /// dDT in The Pie.
    pub pie_ddt: f64,
    /// CRC locked in the vault (backs dDT 1:1, more after governance burns).
    pub crc_locked: f64,
    /// xDAI held by the treasury.
    pub treasury_xdai: f64,
    /// LP tokens held by agents.
    pub agents_lp: f64,
    /// LP tokens held by the treasury.
    pub treasury_lp: f64,
    /// LP tokens the pool has issued.
    pub lp_supply: f64,
}

/// A broken invariant, with the figures that show it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("audit failed at step {step}: {detail}")]
pub struct AuditError {
    /// Step at which it was found.
    pub step: u32,
    /// What is wrong, with the numbers.
    pub detail: String,
}

impl Ledger {
    /// dDT created.
    pub fn record_mint(&mut self, amount: f64) {
        self.ddt_minted += amount;
    }

    /// dDT destroyed.
    pub fn record_burn(&mut self, amount: f64) {
        self.ddt_burned += amount;
    }

    /// dDT lost to demurrage (every balance shrank by the same factor `factor`, the
    /// vault's CRC included).
    pub fn record_decay(&mut self, amount: f64, factor: f64) {
        self.ddt_decayed += amount;
        self.backing_surplus *= factor;
        self.unbacked *= factor;
    }

    /// dDT minted into The Pie from the outside reward budget: created with no CRC
    /// locked behind it.
    pub fn record_subsidy(&mut self, amount: f64) {
        self.ddt_subsidized += amount;
        self.unbacked += amount;
        self.flows.record_subsidy(amount);
    }

    /// dDT minted into The Pie from the outside reward budget so far.
    pub fn ddt_subsidized(&self) -> f64 {
        self.ddt_subsidized
    }

    /// A transaction's amounts, signed from its party's side, into the run's flows.
    #[inline]
    pub fn record_flow(&mut self, party: FlowParty, action: Action, ddt: f64, xdai: f64) {
        self.flows.record(party, action, ddt, xdai);
    }

    /// A swap's fee into the run's flows.
    #[inline]
    pub fn record_fee(&mut self, ddt: f64, xdai: f64) {
        self.flows.record_fee(ddt, xdai);
    }

    /// What a day's demurrage took from the Pie and the pool (the agents' share is the
    /// rest of what [`Ledger::record_decay`] records).
    pub fn record_decay_of(&mut self, pie: f64, pool: f64, total: f64) {
        self.flows.record_decay(pie, pool, total);
    }

    /// The run's flows so far.
    pub fn flows(&self) -> &FlowTotals {
        &self.flows
    }

    /// dDT burned by governance: the CRC behind it stays locked.
    pub fn record_dao_burn(&mut self, amount: f64) {
        self.ddt_burned += amount;
        self.ddt_burned_by_dao += amount;
        self.backing_surplus += amount;
    }

    /// dDT burned by governance so far.
    pub fn ddt_burned_by_dao(&self) -> f64 {
        self.ddt_burned_by_dao
    }

    /// CRC locked per dDT in existence (1 until governance burns); `None` without dDT,
    /// that is when the supply is below the dust rule's 1e-9: what redeeming everything
    /// under demurrage leaves is rounding (2e-16 dDT against exactly 0 CRC locked), not a
    /// ratio.
    pub fn backing_ratio(&self, crc_locked: f64) -> Option<f64> {
        let supply = self.supply();
        (supply >= crate::agents::DUST).then(|| crc_locked / supply)
    }

    /// dDT lost to demurrage so far.
    pub fn ddt_decayed(&self) -> f64 {
        self.ddt_decayed
    }

    /// xDAI an agent brought into the economy.
    pub fn record_xdai_brought(&mut self, amount: f64) {
        self.xdai_brought += amount;
    }

    /// dDT minted so far.
    pub fn ddt_minted(&self) -> f64 {
        self.ddt_minted
    }

    /// dDT burned so far.
    pub fn ddt_burned(&self) -> f64 {
        self.ddt_burned
    }

    /// dDT in existence.
    pub fn supply(&self) -> f64 {
        self.ddt_minted + self.ddt_subsidized - self.ddt_burned - self.ddt_decayed
    }

    /// xDAI brought in so far.
    pub fn xdai_brought(&self) -> f64 {
        self.xdai_brought
    }

    /// Check conservation of both tokens against what is held.
    pub fn audit(&self, step: u32, h: &Holdings) -> Result<(), AuditError> {
        // NaN compares false with everything, so the tolerance checks below would let it
        // through: refuse non-finite figures first, by name.
        let figures = [
            ("dDT held by agents", h.agents_ddt),
            ("xDAI held by agents", h.agents_xdai),
            ("the pool's dDT reserve", h.pool_ddt),
            ("the pool's xDAI reserve", h.pool_xdai),
            ("the Pie", h.pie_ddt),
            ("CRC locked in the vault", h.crc_locked),
            ("xDAI held by the treasury", h.treasury_xdai),
            ("LP tokens held by agents", h.agents_lp),
            ("LP tokens held by the treasury", h.treasury_lp),
            ("LP tokens issued", h.lp_supply),
            ("dDT minted", self.ddt_minted),
            ("dDT burned", self.ddt_burned),
            ("dDT decayed", self.ddt_decayed),
            ("xDAI brought in", self.xdai_brought),
        ];
        for (name, value) in figures {
            if !(value.is_finite() && value >= 0.0) {
                return Err(AuditError {
                    step,
                    detail: format!(
                        "{name} is {value}; every amount must be a finite number of at least 0"
                    ),
                });
            }
        }
        let held_ddt = h.agents_ddt + h.pool_ddt + h.pie_ddt;
        let accounted = held_ddt + self.ddt_burned + self.ddt_decayed;
        let created = self.ddt_minted + self.ddt_subsidized;
        let scale = created.abs().max(1.0);
        if (created - accounted).abs() > AUDIT_TOLERANCE * scale {
            return Err(AuditError {
                step,
                detail: format!(
                    "dDT minted {} (subsidies {} included) != held by agents {} + pool {} + Pie {} + burned {} + decayed {} (= {}), difference {}",
                    created,
                    self.ddt_subsidized,
                    h.agents_ddt,
                    h.pool_ddt,
                    h.pie_ddt,
                    self.ddt_burned,
                    self.ddt_decayed,
                    accounted,
                    created - accounted
                ),
            });
        }
        let backed = self.supply() + self.backing_surplus - self.unbacked;
        if (backed - h.crc_locked).abs() > AUDIT_TOLERANCE * scale {
            return Err(AuditError {
                step,
                detail: format!(
                    "dDT supply {} + CRC behind dDT burned by governance {} - subsidized dDT {} != CRC locked in the vault {}, difference {}",
                    self.supply(),
                    self.backing_surplus,
                    self.unbacked,
                    h.crc_locked,
                    backed - h.crc_locked
                ),
            });
        }
        let lp_held = h.agents_lp + h.treasury_lp;
        if (lp_held - h.lp_supply).abs() > AUDIT_TOLERANCE * h.lp_supply.max(1.0) {
            return Err(AuditError {
                step,
                detail: format!(
                    "LP tokens issued {} != held by agents {} + treasury {}, difference {}",
                    h.lp_supply,
                    h.agents_lp,
                    h.treasury_lp,
                    h.lp_supply - lp_held
                ),
            });
        }
        let held_xdai = h.agents_xdai + h.pool_xdai + h.treasury_xdai;
        let scale = self.xdai_brought.abs().max(1.0);
        if (self.xdai_brought - held_xdai).abs() > AUDIT_TOLERANCE * scale {
            return Err(AuditError {
                step,
                detail: format!(
                    "xDAI brought {} != held by agents {} + pool {} + treasury {} (= {}), difference {}",
                    self.xdai_brought,
                    h.agents_xdai,
                    h.pool_xdai,
                    h.treasury_xdai,
                    held_xdai,
                    self.xdai_brought - held_xdai
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_books_pass() {
        let mut l = Ledger::default();
        l.record_mint(100.0);
        l.record_burn(10.0);
        l.record_xdai_brought(50.0);
        let h = Holdings {
            agents_ddt: 60.0,
            agents_xdai: 20.0,
            pool_ddt: 25.0,
            pool_xdai: 30.0,
            pie_ddt: 5.0,
            crc_locked: 90.0,
            ..Holdings::default()
        };
        assert_eq!(l.supply(), 90.0);
        l.audit(3, &h).unwrap();
    }

    /// Redeeming everything under demurrage can leave a rounding residue of supply
    /// against exactly no locked CRC: that is no dDT, not a backing of 0.
    #[test]
    fn a_residue_of_supply_has_no_backing_ratio() {
        let mut l = Ledger::default();
        l.record_mint(1.0);
        assert_eq!(l.backing_ratio(1.0), Some(1.0));
        l.record_burn(1.0 - 2.3e-16);
        assert!(l.supply() > 0.0);
        assert_eq!(l.backing_ratio(0.0), None);
    }

    /// 100 dDT minted against 100 CRC; governance burns 10 of the Pie's 40: supply 90,
    /// the vault still holds 100, backing 100/90. Demurrage then halves everything:
    /// supply 45, vault 50, the 5 CRC behind burned dDT halve with it.
    #[test]
    fn a_governance_burn_raises_backing_and_passes_the_audit() {
        let mut l = Ledger::default();
        l.record_mint(100.0);
        l.record_dao_burn(10.0);
        let h = Holdings {
            agents_ddt: 60.0,
            pie_ddt: 30.0,
            crc_locked: 100.0,
            ..Holdings::default()
        };
        assert_eq!(l.supply(), 90.0);
        assert_eq!(l.ddt_burned_by_dao(), 10.0);
        assert_eq!(l.backing_ratio(100.0), Some(100.0 / 90.0));
        l.audit(1, &h).unwrap();
        // The same holdings without the burn recorded fail: 10 dDT unaccounted for.
        let mut unrecorded = Ledger::default();
        unrecorded.record_mint(100.0);
        assert!(unrecorded.audit(1, &h).is_err());
        l.record_decay(45.0, 0.5);
        let halved = Holdings {
            agents_ddt: 30.0,
            pie_ddt: 15.0,
            crc_locked: 50.0,
            ..Holdings::default()
        };
        assert_eq!(l.supply(), 45.0);
        l.audit(2, &halved).unwrap();
    }

    #[test]
    fn lp_tokens_are_accounted_for() {
        let l = Ledger::default();
        let mut h = Holdings {
            agents_lp: 3.0,
            treasury_lp: 1.0,
            lp_supply: 4.0,
            ..Holdings::default()
        };
        l.audit(0, &h).unwrap();
        h.treasury_lp = 0.5;
        let e = l.audit(0, &h).unwrap_err();
        assert!(e.detail.contains("LP tokens issued 4"), "{}", e.detail);
    }

    #[test]
    fn nan_and_infinity_fail_the_audit() {
        let mut l = Ledger::default();
        l.record_mint(100.0);
        l.record_xdai_brought(10.0);
        let sound = Holdings {
            agents_ddt: 100.0,
            agents_xdai: 10.0,
            crc_locked: 100.0,
            ..Holdings::default()
        };
        l.audit(0, &sound).unwrap();
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut h = sound;
            h.pool_xdai = bad;
            let e = l.audit(1, &h).unwrap_err();
            assert!(e.detail.contains("xDAI reserve"), "{}", e.detail);
            let mut h = sound;
            h.pie_ddt = bad;
            assert!(l.audit(1, &h).is_err());
        }
    }

    #[test]
    fn a_lost_token_is_reported_with_the_figures() {
        let mut l = Ledger::default();
        l.record_mint(100.0);
        let h = Holdings {
            agents_ddt: 99.0,
            crc_locked: 100.0,
            ..Holdings::default()
        };
        let e = l.audit(7, &h).unwrap_err();
        assert_eq!(e.step, 7);
        assert!(e.detail.contains("minted 100"), "{}", e.detail);
        assert!(e.detail.contains("difference 1"), "{}", e.detail);
    }
}
