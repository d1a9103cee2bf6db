//! The treasury's holdings besides its dDT.
//!
//! The treasury's dDT *is* what The Pie retains after each distribution (the seed's 30%
//! "for future governance decisions"), so it stays in [`crate::pie::Pie`]. What
//! governance later gives the treasury, xDAI left over from a `liquidity` proposal and
//! the protocol-owned LP tokens, lives here, written only by the methods below, which
//! only the engine's governance calls.

/// xDAI and LP tokens owned by the dataDAO.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Treasury {
    xdai: f64,
    lp: f64,
}

impl Treasury {
    /// xDAI held.
    pub fn xdai(&self) -> f64 {
        self.xdai
    }

    /// LP tokens held (protocol-owned liquidity; they earn the pool's fees).
    pub fn lp(&self) -> f64 {
        self.lp
    }

    /// xDAI received (from selling dDT).
    pub fn receive_xdai(&mut self, amount: f64) {
        self.xdai += amount;
    }

    /// xDAI paid (into the pool); never more than held.
    pub fn pay_xdai(&mut self, amount: f64) -> f64 {
        let paid = amount.min(self.xdai);
        self.xdai -= paid;
        paid
    }

    /// LP tokens received for a deposit.
    pub fn receive_lp(&mut self, amount: f64) {
        self.lp += amount;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_pays_more_than_it_holds() {
        let mut t = Treasury::default();
        t.receive_xdai(2.0);
        assert_eq!(t.pay_xdai(3.0), 2.0);
        assert_eq!(t.xdai(), 0.0);
        t.receive_lp(1.5);
        assert_eq!(t.lp(), 1.5);
    }
}
