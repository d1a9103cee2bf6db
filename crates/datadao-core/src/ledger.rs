//! Token accounting and the audit.
//!
//! The ledger counts what enters and leaves the economy (dDT minted and burned, xDAI
//! brought in by agents). The audit compares those counts with what is actually held by
//! agents, the pool and The Pie: `minted = held + pooled + in the Pie + burned`, and
//! `xDAI brought = xDAI held + xDAI pooled`. Balances are `f64`, so equality is checked to
//! a relative tolerance far below any economically meaningful amount.

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
    /// CRC locked in the vault (backs dDT 1:1).
    pub crc_locked: f64,
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

    /// dDT lost to demurrage (every balance shrank by the same factor).
    pub fn record_decay(&mut self, amount: f64) {
        self.ddt_decayed += amount;
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
        self.ddt_minted - self.ddt_burned - self.ddt_decayed
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
        let scale = self.ddt_minted.abs().max(1.0);
        if (self.ddt_minted - accounted).abs() > AUDIT_TOLERANCE * scale {
            return Err(AuditError {
                step,
                detail: format!(
                    "dDT minted {} != held by agents {} + pool {} + Pie {} + burned {} + decayed {} (= {}), difference {}",
                    self.ddt_minted,
                    h.agents_ddt,
                    h.pool_ddt,
                    h.pie_ddt,
                    self.ddt_burned,
                    self.ddt_decayed,
                    accounted,
                    self.ddt_minted - accounted
                ),
            });
        }
        if (self.supply() - h.crc_locked).abs() > AUDIT_TOLERANCE * scale {
            return Err(AuditError {
                step,
                detail: format!(
                    "dDT supply {} != CRC locked in the vault {}, difference {}",
                    self.supply(),
                    h.crc_locked,
                    self.supply() - h.crc_locked
                ),
            });
        }
        let held_xdai = h.agents_xdai + h.pool_xdai;
        let scale = self.xdai_brought.abs().max(1.0);
        if (self.xdai_brought - held_xdai).abs() > AUDIT_TOLERANCE * scale {
            return Err(AuditError {
                step,
                detail: format!(
                    "xDAI brought {} != held by agents {} + pool {} (= {}), difference {}",
                    self.xdai_brought,
                    h.agents_xdai,
                    h.pool_xdai,
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
        };
        assert_eq!(l.supply(), 90.0);
        l.audit(3, &h).unwrap();
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
