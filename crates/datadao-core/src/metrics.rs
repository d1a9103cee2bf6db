//! What a step looks like from outside: the row of `simulation_data.csv`.
//!
//! [`StepFlows`] accumulates what moves during a step (volume, fees, Pie in and out);
//! [`StepMetrics`] is the snapshot taken after the Pie has distributed. Its columns are
//! one list of (name, cell) pairs, [`StepMetrics::report`], so every writer (CSV, sweeps,
//! Python, the page, tests) agrees and a name can never drift from its value.

use crate::agent_type::AgentType;
use crate::governance::{Governable, GovernedSettings};

/// Flows accumulated during one step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepFlows {
    /// xDAI side of every swap.
    pub volume_xdai: f64,
    /// Fees paid in xDAI (on buys).
    pub fees_xdai: f64,
    /// Fees paid in dDT (on sells).
    pub fees_ddt: f64,
    /// Number of swaps.
    pub swaps: u64,
    /// dDT spent on compute.
    pub pie_inflow_ddt: f64,
    /// dDT paid out by The Pie.
    pub pie_distributed_ddt: f64,
    /// dDT minted.
    pub minted_ddt: f64,
    /// dDT burned by redemptions.
    pub redeemed_ddt: f64,
    /// Jobs that ran.
    pub jobs_run: u64,
    /// Jobs refused for lack of data allowing their use case.
    pub jobs_refused: u64,
    /// Mints cut (or refused) by the mint cap.
    pub mint_capped: u64,
}

/// One agent at the end of a run: a row of `agents.csv`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AgentRow {
    /// Join order, from 0.
    pub agent_id: u32,
    /// Its type.
    pub kind: AgentType,
    /// The step it joined at.
    pub joined_step: u32,
    /// dDT held.
    pub ddt: f64,
    /// xDAI held.
    pub xdai: f64,
    /// LP tokens held.
    pub lp: f64,
    /// Personal CRC held.
    pub crc: f64,
    /// CRC locked in the vault.
    pub crc_locked: f64,
    /// Live Contribution Weight.
    pub weight: f64,
    /// dDT received from The Pie over the run: its shares and grants.
    pub pie_received_total: f64,
    /// The step it left at (a `leave` event), if it did.
    pub left_step: Option<u32>,
}

impl AgentRow {
    /// What it holds, in xDAI at `price`: its xDAI, its dDT at the price, and its LP
    /// tokens' claim on both reserves (their dDT at the price). `None` without a price
    /// (an empty pool) when it holds any dDT or LP tokens.
    pub fn wealth_xdai(
        &self,
        price: Option<f64>,
        pool_ddt: f64,
        pool_xdai: f64,
        lp_supply: f64,
    ) -> Option<f64> {
        crate::wealth::in_xdai(
            (self.ddt, self.xdai, self.lp),
            price,
            (pool_ddt, pool_xdai, lp_supply),
        )
    }
}

/// One cell of a metrics row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell {
    /// A count.
    Int(u64),
    /// An amount or ratio.
    Float(f64),
    /// No value (a price while the pool is empty, a mean over no agents).
    Empty,
}

impl From<Option<f64>> for Cell {
    fn from(v: Option<f64>) -> Self {
        v.map_or(Cell::Empty, Cell::Float)
    }
}

/// The state of the economy at the end of a step.
#[derive(Clone, Debug, PartialEq)]
pub struct StepMetrics {
    /// Step index, from 0.
    pub step: u32,
    /// xDAI per dDT; `None` while the pool is empty.
    pub price: Option<f64>,
    /// dDT in the pool.
    pub lp_ddt_reserve: f64,
    /// xDAI in the pool.
    pub lp_xdai_reserve: f64,
    /// LP tokens in existence.
    pub lp_supply: f64,
    /// dDT left in The Pie after distribution.
    pub pie_ddt: f64,
    /// dDT in existence.
    pub ddt_supply: f64,
    /// What moved during the step.
    pub flows: StepFlows,
    /// Agents of each type so far, in type order (the seed's five, then the scenario's
    /// own).
    pub agents: Vec<u64>,
    /// Mean xDAI per agent of each type.
    pub avg_xdai: Vec<Option<f64>>,
    /// Mean dDT per agent of each type.
    pub avg_ddt: Vec<Option<f64>>,
    /// Personal CRC in existence, held and locked.
    pub crc_supply: f64,
    /// CRC locked in the vault.
    pub crc_locked: f64,
    /// Live Contribution Weight in the pool.
    pub data_weight: f64,
    /// Contribution Weight removed from the pool so far.
    pub data_removed_weight: f64,
    /// Share of live weight allowing each use case, in `data.use_cases` order.
    pub allowed_share: Vec<f64>,
    /// Organizations holding no xDAI (below 1e-9).
    pub orgs_out_of_xdai: u64,
    /// The treasury, burned dDT, proposals and governed settings; `None` when
    /// governance is off (and its columns are absent).
    pub governance: Option<GovernanceMetrics>,
    /// Without governance, the settings `set` events move (a mask over
    /// [`Governable::ALL`]) and their values in force: a column each, at the end.
    pub event_settings: Option<(u8, GovernedSettings)>,
    /// Each type's spread of wealth, when asked for (`output.distribution`): four
    /// columns per type after every other.
    pub wealth: Option<Vec<crate::wealth::WealthStats>>,
}

/// The governance columns of a step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GovernanceMetrics {
    /// The treasury's dDT (what The Pie holds after distribution).
    pub treasury_ddt: f64,
    /// The treasury's xDAI.
    pub treasury_xdai: f64,
    /// The treasury's LP tokens.
    pub treasury_lp: f64,
    /// dDT burned by governance so far.
    pub ddt_burned: f64,
    /// CRC locked per dDT in existence; `None` without dDT.
    pub backing_ratio: Option<f64>,
    /// Proposals put so far.
    pub proposals: u64,
    /// Proposals passed so far.
    pub proposals_passed: u64,
    /// Every governable setting's value in force at the end of the step.
    pub settings: GovernedSettings,
}

impl StepMetrics {
    /// A step with nothing in it: empty pool, no agents of the seed's five types,
    /// `use_cases` zero shares.
    pub fn empty(step: u32, use_cases: usize) -> Self {
        Self::empty_with_types(step, use_cases, 5)
    }

    /// [`StepMetrics::empty`] for a run of `types` types.
    pub fn empty_with_types(step: u32, use_cases: usize, types: usize) -> Self {
        Self {
            step,
            price: None,
            lp_ddt_reserve: 0.0,
            lp_xdai_reserve: 0.0,
            lp_supply: 0.0,
            pie_ddt: 0.0,
            ddt_supply: 0.0,
            flows: StepFlows::default(),
            agents: vec![0; types],
            avg_xdai: vec![None; types],
            avg_ddt: vec![None; types],
            crc_supply: 0.0,
            crc_locked: 0.0,
            data_weight: 0.0,
            data_removed_weight: 0.0,
            allowed_share: vec![0.0; use_cases],
            orgs_out_of_xdai: 0,
            governance: None,
            event_settings: None,
            wealth: None,
        }
    }

    /// The first column whose value is NaN or infinite, if any. No such value may reach
    /// an output, so every front end gets this check for free from [`crate::Economy`].
    pub fn first_non_finite(&self, use_cases: usize) -> Option<(String, f64)> {
        let mut found = None;
        self.report(&mut |name, cell| match cell {
            Cell::Float(v) if !v.is_finite() && found.is_none() => found = Some((name, v)),
            _ => {}
        });
        // Names are spelled only for the message, never on the hot path.
        let (name, value) = found?;
        let names = crate::agent_type::TypeNames::seed();
        Some((name.spell(&vec![String::new(); use_cases], &names), value))
    }

    /// Every agent so far.
    pub fn agents_total(&self) -> u64 {
        self.agents.iter().sum()
    }

    /// The row of `simulation_data.csv`, one (name, cell) pair per column, in order: the
    /// one list of its columns, as Mesa's model reporters are (names and values can never
    /// drift apart, and a new column is one line). The governance columns come last, when
    /// governance is on.
    pub fn report(&self, out: &mut impl FnMut(ColumnName, Cell)) {
        let f = &self.flows;
        let fixed = [
            ("step", Cell::Int(u64::from(self.step))),
            ("price", self.price.into()),
            ("lp_ddt_reserve", Cell::Float(self.lp_ddt_reserve)),
            ("lp_xdai_reserve", Cell::Float(self.lp_xdai_reserve)),
            ("lp_supply", Cell::Float(self.lp_supply)),
            ("pie_ddt", Cell::Float(self.pie_ddt)),
            ("pie_inflow_ddt", Cell::Float(f.pie_inflow_ddt)),
            ("pie_distributed_ddt", Cell::Float(f.pie_distributed_ddt)),
            ("ddt_supply", Cell::Float(self.ddt_supply)),
            ("ddt_minted", Cell::Float(f.minted_ddt)),
            ("volume_xdai", Cell::Float(f.volume_xdai)),
            ("fees_xdai", Cell::Float(f.fees_xdai)),
            ("fees_ddt", Cell::Float(f.fees_ddt)),
            ("swaps", Cell::Int(f.swaps)),
            ("agents_total", Cell::Int(self.agents_total())),
        ];
        for (name, cell) in fixed {
            out(ColumnName::Fixed(name), cell);
        }
        for (i, &n) in self.agents.iter().enumerate() {
            out(
                ColumnName::OfType("agents", AgentType::from_index(i)),
                Cell::Int(n),
            );
        }
        for (i, &v) in self.avg_xdai.iter().enumerate() {
            out(
                ColumnName::OfType("avg_xdai", AgentType::from_index(i)),
                v.into(),
            );
        }
        for (i, &v) in self.avg_ddt.iter().enumerate() {
            out(
                ColumnName::OfType("avg_ddt", AgentType::from_index(i)),
                v.into(),
            );
        }
        let data = [
            ("crc_supply", Cell::Float(self.crc_supply)),
            ("crc_locked", Cell::Float(self.crc_locked)),
            ("data_weight", Cell::Float(self.data_weight)),
            ("data_removed_weight", Cell::Float(self.data_removed_weight)),
            ("ddt_redeemed", Cell::Float(f.redeemed_ddt)),
            ("jobs_run", Cell::Int(f.jobs_run)),
            ("jobs_refused", Cell::Int(f.jobs_refused)),
            ("mint_capped", Cell::Int(f.mint_capped)),
        ];
        for (name, cell) in data {
            out(ColumnName::Fixed(name), cell);
        }
        for (u, &share) in self.allowed_share.iter().enumerate() {
            out(
                ColumnName::OfUseCase("allowed_share", u),
                Cell::Float(share),
            );
        }
        if let Some(g) = &self.governance {
            g.report(out);
        }
        if let Some((mask, settings)) = &self.event_settings {
            for (i, g) in Governable::ALL.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    out(ColumnName::Fixed(g.column()), Cell::Float(settings.get(*g)));
                }
            }
        }
        for (i, w) in self.wealth.iter().flatten().enumerate() {
            let kind = AgentType::from_index(i);
            out(ColumnName::OfType("gini_wealth", kind), w.gini.into());
            out(ColumnName::OfType("wealth_p10", kind), w.p10.into());
            out(ColumnName::OfType("wealth_p50", kind), w.p50.into());
            out(ColumnName::OfType("wealth_p90", kind), w.p90.into());
        }
    }

    /// Column names, in the order of [`StepMetrics::cells`], for these use cases and the
    /// seed's five types, with the governance columns at the end when `governed` (read
    /// off [`StepMetrics::report`]).
    pub fn columns(use_cases: &[String], governed: bool) -> Vec<String> {
        Self::columns_with(
            use_cases,
            &crate::agent_type::TypeNames::seed(),
            governed,
            0,
        )
    }

    /// [`StepMetrics::columns`] for these types, with the columns of the settings `set`
    /// events move (a mask over [`Governable::ALL`]; only without governance, whose
    /// columns hold them already): what a scenario's rows have, from
    /// [`crate::Config::event_columns`].
    pub fn columns_with(
        use_cases: &[String],
        types: &crate::agent_type::TypeNames,
        governed: bool,
        event_mask: u8,
    ) -> Vec<String> {
        Self::columns_of(use_cases, types, governed, event_mask, false)
    }

    /// [`StepMetrics::columns_with`], with each type's wealth columns at the end when
    /// `wealth` (`output.distribution`).
    pub fn columns_of(
        use_cases: &[String],
        types: &crate::agent_type::TypeNames,
        governed: bool,
        event_mask: u8,
        wealth: bool,
    ) -> Vec<String> {
        let mut shape = Self::empty_with_types(0, use_cases.len(), types.len());
        if wealth {
            shape.wealth = Some(vec![Default::default(); types.len()]);
        }
        shape.governance = governed.then(GovernanceMetrics::default);
        if !governed && event_mask != 0 {
            shape.event_settings = Some((event_mask, GovernedSettings::default()));
        }
        let mut cols = Vec::new();
        shape.report(&mut |name, _| cols.push(name.spell(use_cases, types)));
        cols
    }

    /// The row's values, in the order of [`StepMetrics::columns`].
    pub fn cells(&self) -> Vec<Cell> {
        let mut cells = Vec::with_capacity(64);
        self.report(&mut |_, cell| cells.push(cell));
        cells
    }
}

/// A column's name as a reporter gives it: spelled out only when a header or a message
/// needs it, so reporting a row allocates nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnName {
    /// A name of its own.
    Fixed(&'static str),
    /// `<prefix>_<type>`, e.g. `agents_degen`.
    OfType(&'static str, AgentType),
    /// `<prefix>_<use case>` for the use case at this index of `data.use_cases`.
    OfUseCase(&'static str, usize),
    /// `final_<name>`: a step's column as its value after a run's last step.
    Final(&'static str),
}

impl ColumnName {
    /// The name as it stands in the header, with `use_cases` naming the use cases and
    /// `types` the types.
    pub fn spell(&self, use_cases: &[String], types: &crate::agent_type::TypeNames) -> String {
        match *self {
            ColumnName::Fixed(name) => name.to_string(),
            ColumnName::OfType(prefix, kind) => format!("{prefix}_{}", types.name(kind)),
            ColumnName::OfUseCase(prefix, u) => {
                format!("{prefix}_{}", use_cases.get(u).map_or("", String::as_str))
            }
            ColumnName::Final(name) => format!("final_{name}"),
        }
    }
}

impl GovernanceMetrics {
    /// The governance columns, one (name, cell) pair each, in order: of
    /// `simulation_data.csv`, and with `final_` before them of `sweep_runs.csv`.
    pub fn report(&self, out: &mut impl FnMut(ColumnName, Cell)) {
        let fixed = [
            ("treasury_ddt", Cell::Float(self.treasury_ddt)),
            ("treasury_xdai", Cell::Float(self.treasury_xdai)),
            ("treasury_lp", Cell::Float(self.treasury_lp)),
            ("ddt_burned", Cell::Float(self.ddt_burned)),
            ("backing_ratio", self.backing_ratio.into()),
            ("proposals", Cell::Int(self.proposals)),
            ("proposals_passed", Cell::Int(self.proposals_passed)),
        ];
        for (name, cell) in fixed {
            out(ColumnName::Fixed(name), cell);
        }
        for &setting in Governable::ALL.iter() {
            out(
                ColumnName::Fixed(setting.column()),
                Cell::Float(self.settings.get(setting)),
            );
        }
    }

    /// The governance column names, in the order of [`GovernanceMetrics::cells`].
    pub fn columns() -> impl Iterator<Item = String> {
        let mut names = Vec::new();
        let types = crate::agent_type::TypeNames::seed();
        GovernanceMetrics::default().report(&mut |name, _| names.push(name.spell(&[], &types)));
        names.into_iter()
    }

    /// The governance cells, in the order of [`GovernanceMetrics::columns`].
    pub fn cells(&self) -> impl Iterator<Item = Cell> + '_ {
        let mut cells = Vec::with_capacity(16);
        self.report(&mut |_, cell| cells.push(cell));
        cells.into_iter()
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_first_non_finite_figure_is_named() {
        let mut m = StepMetrics::empty(3, 2);
        assert_eq!(m.first_non_finite(2), None);
        m.lp_xdai_reserve = f64::NAN;
        m.pie_ddt = f64::INFINITY;
        let (name, value) = m.first_non_finite(2).unwrap();
        assert_eq!(name, "lp_xdai_reserve");
        assert!(value.is_nan());
    }

    use super::*;

    #[test]
    fn columns_and_cells_line_up() {
        let m = StepMetrics::empty(0, 2);
        let cases = vec!["a".to_string(), "b".to_string()];
        let cols = StepMetrics::columns(&cases, false);
        assert_eq!(cols.len(), m.cells().len());
        assert_eq!(cols[15], "agents_degen");
        assert_eq!(cols.last().unwrap(), "allowed_share_b");
        assert_eq!(m.cells()[1], Cell::Empty);
    }
}
