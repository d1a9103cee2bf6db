//! The flow diagram of a run, as data: which totals flow where, from the core's
//! [`FlowTotals`] and the run's last step.
//!
//! Two parts, one per token. **dDT**: CRC locked → dDT minted; minted, bought and
//! received from The Pie → the agents' hands → sold to the pool, spent on compute,
//! redeemed, deposited, decayed or still held; compute spending → The Pie → paid to each
//! type, used by governance, decayed or still in it. **xDAI**: organizations' and other
//! buyers' purchases and liquidity → the pool's xDAI → sellers, the treasury, liquidity
//! providers, and what stays in the pool (the fees among it).
//!
//! Every node's inflow equals its outflow. Under the model's rules that follows from the
//! audit; where it does not hold (the 2024 program's rules create and destroy tokens),
//! the difference is a node of its own, named for what it is, so no number is made to
//! fit. The same diagram is drawn into `flows.png`, written as `flows.csv` and served to
//! the page, so all three show the same numbers.

use datadao_core::agent_type::TypeNames;
use datadao_core::flows::{FlowParty, FlowTotals};
use datadao_core::{Action, AgentType, StepMetrics};

/// Which token a node or link carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    /// Personal Circles CRC.
    Crc,
    /// The group token.
    Ddt,
    /// xDAI.
    Xdai,
}

impl Token {
    /// The unit as written after an amount.
    pub fn unit(self) -> &'static str {
        match self {
            Token::Crc => "CRC",
            Token::Ddt => "dDT",
            Token::Xdai => "xDAI",
        }
    }
}

/// Which part of the diagram a node belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// CRC and dDT.
    Ddt,
    /// xDAI.
    Xdai,
}

/// A box of the diagram.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowNode {
    /// Stable name, as in `flows.csv`.
    pub id: String,
    /// What a reader sees.
    pub label: String,
    /// Column from the left, from 0.
    pub column: u8,
    /// Part of the diagram.
    pub part: Part,
    /// Token it holds.
    pub token: Token,
    /// Its throughput: the larger of what flows in and what flows out.
    pub value: f64,
    /// The agent type it stands for, if any (for its colour).
    pub agent_type: Option<AgentType>,
}

/// A band between two nodes, as wide as its total.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowLink {
    /// Index of the node it leaves.
    pub from: usize,
    /// Index of the node it enters.
    pub to: usize,
    /// The total that flowed.
    pub value: f64,
    /// Token it carries.
    pub token: Token,
}

/// A run's flows as nodes and links; zero flows are left out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FlowDiagram {
    /// Boxes, in drawing order within their columns.
    pub nodes: Vec<FlowNode>,
    /// Bands, in drawing order out of each node.
    pub links: Vec<FlowLink>,
}

/// Amounts below this are not drawn: the dust rule's size, far below any label's
/// precision.
const DRAWN: f64 = 1e-9;

/// The difference between a node's inflow and outflow that gets a node of its own:
/// relative to the node's size, far above `f64` rounding over a run and far below any
/// real leak.
const UNACCOUNTED: f64 = 1e-6;

struct Builder {
    diagram: FlowDiagram,
}

impl Builder {
    fn node(
        &mut self,
        id: &str,
        label: &str,
        column: u8,
        part: Part,
        token: Token,
        agent_type: Option<AgentType>,
    ) -> usize {
        self.diagram.nodes.push(FlowNode {
            id: id.to_owned(),
            label: label.to_owned(),
            column,
            part,
            token,
            value: 0.0,
            agent_type,
        });
        self.diagram.nodes.len() - 1
    }

    fn link(&mut self, from: usize, to: usize, value: f64) {
        if value.abs() < DRAWN {
            return;
        }
        let token = self.diagram.nodes[from].token;
        self.diagram.links.push(FlowLink {
            from,
            to,
            value,
            token,
        });
    }

    /// Balance node `hub`: whatever its inflow exceeds its outflow by (or falls short)
    /// becomes a node of its own in `column`, named by `excess` or `shortfall`.
    fn balance(&mut self, hub: usize, column: u8, excess: (&str, &str), shortfall: (&str, &str)) {
        let (inflow, outflow) = self.through(hub);
        let gap = inflow - outflow;
        if gap.abs() <= UNACCOUNTED * inflow.max(outflow).max(1.0) {
            return;
        }
        let (part, token) = (self.diagram.nodes[hub].part, self.diagram.nodes[hub].token);
        if gap > 0.0 {
            let n = self.node(excess.0, excess.1, column + 1, part, token, None);
            self.link(hub, n, gap);
        } else {
            let n = self.node(shortfall.0, shortfall.1, column - 1, part, token, None);
            self.link(n, hub, -gap);
        }
    }

    fn through(&self, node: usize) -> (f64, f64) {
        let sum = |f: &dyn Fn(&FlowLink) -> bool| {
            self.diagram
                .links
                .iter()
                .filter(|l| f(l))
                .map(|l| l.value)
                .sum::<f64>()
        };
        (sum(&|l| l.to == node), sum(&|l| l.from == node))
    }

    /// Every node's value from its links; nodes nothing flows through are dropped.
    fn finish(mut self) -> FlowDiagram {
        for n in 0..self.diagram.nodes.len() {
            let (inflow, outflow) = self.through(n);
            self.diagram.nodes[n].value = inflow.max(outflow);
        }
        let keep: Vec<bool> = self.diagram.nodes.iter().map(|n| n.value > 0.0).collect();
        let mut index = vec![usize::MAX; keep.len()];
        let mut next = 0;
        for (i, &k) in keep.iter().enumerate() {
            if k {
                index[i] = next;
                next += 1;
            }
        }
        let mut d = self.diagram;
        d.nodes = d
            .nodes
            .into_iter()
            .zip(&keep)
            .filter_map(|(n, &k)| k.then_some(n))
            .collect();
        for l in &mut d.links {
            l.from = index[l.from];
            l.to = index[l.to];
        }
        d
    }
}

impl FlowDiagram {
    /// The diagram of a run from its flows and its last step's metrics (what is held at
    /// the end: the pool's reserves, The Pie and the supply).
    pub fn new(totals: &FlowTotals, last: &StepMetrics, types: &TypeNames) -> Self {
        let mut b = Builder {
            diagram: FlowDiagram::default(),
        };
        ddt_part(&mut b, totals, last, types);
        xdai_part(&mut b, totals, last);
        b.finish()
    }

    /// The links as `flows.csv`: `from,to,token,amount`, one row per band, amounts in
    /// the CSVs' spelling.
    pub fn write_csv(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        let mut buf = b"from,to,token,amount\n".to_vec();
        for l in &self.links {
            let (from, to) = (&self.nodes[l.from].id, &self.nodes[l.to].id);
            buf.extend_from_slice(format!("{from},{to},{},", l.token.unit()).as_bytes());
            datadao_core::numbers::push_f64(&mut buf, l.value);
            buf.push(b'\n');
        }
        out.write_all(&buf)
    }

    /// The node named `id`, if anything flowed through it.
    pub fn node(&self, id: &str) -> Option<&FlowNode> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The band from `from` to `to`, by id: 0 when nothing flowed.
    pub fn flow(&self, from: &str, to: &str) -> f64 {
        self.links
            .iter()
            .filter(|l| self.nodes[l.from].id == from && self.nodes[l.to].id == to)
            .map(|l| l.value)
            .sum()
    }
}

/// A type's agents, as a label names them.
fn group_name(kind: AgentType, types: &TypeNames) -> String {
    match kind {
        AgentType::DEGEN => "degens".into(),
        AgentType::ORGANIZATION => "organizations".into(),
        AgentType::POWER => "power members".into(),
        AgentType::ACTIVE => "active members".into(),
        AgentType::CASUAL => "casual members".into(),
        _ => types.name(kind).to_string(),
    }
}

fn agents_ddt(totals: &FlowTotals, action: Action) -> f64 {
    totals.by_agents(action).ddt
}

fn ddt_part(b: &mut Builder, t: &FlowTotals, last: &StepMetrics, types: &TypeNames) {
    use Part::Ddt as P;
    use Token::{Crc, Ddt};
    let treasury = |a: Action| t.moved(a, FlowParty::Treasury);
    let crc = b.node("crc_locked", "CRC locked", 0, P, Crc, None);
    let minted = b.node("ddt_minted", "dDT minted", 1, P, Ddt, None);
    let endowed = b.node("ddt_endowed", "dDT given at joining", 1, P, Ddt, None);
    let bought = b.node("bought_from_pool", "bought from the pool", 1, P, Ddt, None);
    let from_pie = b.node("from_pie", "from The Pie (shares, grants)", 1, P, Ddt, None);
    let withdrawn = b.node(
        "liquidity_withdrawn",
        "liquidity withdrawn",
        1,
        P,
        Ddt,
        None,
    );
    let hands = b.node("agents_ddt", "dDT in agents' hands", 2, P, Ddt, None);
    let sold = b.node("sold_to_pool", "sold to the pool", 3, P, Ddt, None);
    let spent = b.node("spent_on_compute", "spent on compute", 3, P, Ddt, None);
    let redeemed = b.node("redeemed", "redeemed for CRC", 3, P, Ddt, None);
    let deposited = b.node("added_liquidity", "added as liquidity", 3, P, Ddt, None);
    let decayed = b.node("agents_demurrage", "lost to demurrage", 3, P, Ddt, None);
    let held = b.node("held_at_end", "held at the end", 3, P, Ddt, None);

    let mint = agents_ddt(t, Action::Mint);
    b.link(crc, minted, mint);
    b.link(minted, hands, mint);
    b.link(endowed, hands, agents_ddt(t, Action::Join));
    b.link(bought, hands, agents_ddt(t, Action::Buy));
    let pie_paid = agents_ddt(t, Action::PieShare);
    let granted = agents_ddt(t, Action::Grant);
    b.link(from_pie, hands, pie_paid + granted);
    b.link(withdrawn, hands, agents_ddt(t, Action::RemoveLiquidity));
    b.link(hands, sold, -agents_ddt(t, Action::Sell));
    b.link(hands, spent, -agents_ddt(t, Action::Compute));
    b.link(hands, redeemed, -agents_ddt(t, Action::Redeem));
    b.link(hands, deposited, -agents_ddt(t, Action::AddLiquidity));
    let decay = t.decayed();
    b.link(hands, decayed, decay.total - decay.pie - decay.pool);
    b.link(
        hands,
        held,
        last.ddt_supply - last.lp_ddt_reserve - last.pie_ddt,
    );
    b.balance(
        hands,
        2,
        (
            "agents_unaccounted",
            "not accounted for (the rules' defects)",
        ),
        ("agents_created", "created by the rules' defects"),
    );

    let pie = b.node("the_pie", "The Pie", 4, P, Ddt, None);
    b.link(spent, pie, -agents_ddt(t, Action::Compute));
    let subsidy = b.node("subsidy", "subsidy (outside budget)", 3, P, Ddt, None);
    b.link(subsidy, pie, t.subsidized());
    for kind in types.types() {
        let paid = t.moved(Action::PieShare, FlowParty::Agent(kind)).ddt;
        let id = format!("paid_to_{}", types.name(kind));
        let label = format!("paid to {}", group_name(kind, types));
        let n = b.node(&id, &label, 5, P, Ddt, Some(kind));
        b.link(pie, n, paid);
    }
    let grants = b.node("granted", "granted to members", 5, P, Ddt, None);
    b.link(pie, grants, granted);
    let burned = b.node(
        "burned_by_governance",
        "burned by governance",
        5,
        P,
        Ddt,
        None,
    );
    b.link(pie, burned, -treasury(Action::TreasuryBurn).ddt);
    let sold_by_dao = b.node("sold_by_treasury", "sold by the treasury", 5, P, Ddt, None);
    b.link(pie, sold_by_dao, -treasury(Action::TreasurySell).ddt);
    let pooled = b.node(
        "deposited_by_treasury",
        "deposited by the treasury",
        5,
        P,
        Ddt,
        None,
    );
    b.link(pie, pooled, -treasury(Action::TreasuryAddLiquidity).ddt);
    let pie_decay = b.node("pie_demurrage", "lost to demurrage", 5, P, Ddt, None);
    b.link(pie, pie_decay, decay.pie);
    let kept = b.node("kept_in_pie", "still in The Pie", 5, P, Ddt, None);
    b.link(pie, kept, last.pie_ddt);
    b.balance(
        pie,
        4,
        ("pie_unaccounted", "not paid out (the rules' defects)"),
        ("pie_created", "created by the rules' defects"),
    );
}

fn xdai_part(b: &mut Builder, t: &FlowTotals, last: &StepMetrics) {
    use Part::Xdai as P;
    use Token::Xdai;
    let treasury = |a: Action| t.moved(a, FlowParty::Treasury);
    let org = FlowParty::Agent(AgentType::ORGANIZATION);
    let by_orgs = b.node(
        "bought_by_organizations",
        "organizations' purchases",
        0,
        P,
        Xdai,
        Some(AgentType::ORGANIZATION),
    );
    let by_others = b.node("bought_by_others", "other purchases", 0, P, Xdai, None);
    let liquidity = b.node("liquidity_xdai", "liquidity added", 0, P, Xdai, None);
    let pool = b.node("pool_xdai", "the pool's xDAI", 1, P, Xdai, None);
    let org_buys = -t.moved(Action::Buy, org).xdai;
    b.link(by_orgs, pool, org_buys);
    b.link(by_others, pool, -t.by_agents(Action::Buy).xdai - org_buys);
    let added =
        -t.by_agents(Action::AddLiquidity).xdai - treasury(Action::TreasuryAddLiquidity).xdai;
    b.link(liquidity, pool, added);

    let sellers = b.node("paid_to_sellers", "paid to sellers", 2, P, Xdai, None);
    b.link(pool, sellers, t.by_agents(Action::Sell).xdai);
    let to_treasury = b.node("paid_to_treasury", "paid to the treasury", 2, P, Xdai, None);
    b.link(pool, to_treasury, treasury(Action::TreasurySell).xdai);
    let withdrawn = b.node(
        "withdrawn_xdai",
        "withdrawn by liquidity providers",
        2,
        P,
        Xdai,
        None,
    );
    let out = t.by_agents(Action::RemoveLiquidity).xdai + t.by_agents(Action::CollectFees).xdai;
    b.link(pool, withdrawn, out);
    // The fees paid in xDAI stay in the reserve, with the liquidity providers; shown
    // apart while the reserve still holds them all.
    let fees = t.fees().xdai;
    let reserve = last.lp_xdai_reserve;
    if fees <= reserve {
        let f = b.node(
            "fees_xdai",
            "fees (stay with liquidity providers)",
            2,
            P,
            Xdai,
            None,
        );
        b.link(pool, f, fees);
        let r = b.node(
            "pool_reserve",
            "rest of the pool's reserve",
            2,
            P,
            Xdai,
            None,
        );
        b.link(pool, r, reserve - fees);
    } else {
        let r = b.node(
            "pool_reserve",
            "the pool's reserve, fees included",
            2,
            P,
            Xdai,
            None,
        );
        b.link(pool, r, reserve);
    }
    b.balance(
        pool,
        1,
        ("pool_unaccounted", "not accounted for (the rules' defects)"),
        ("pool_created", "created by the rules' defects"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use datadao_core::{Config, Economy, NullObserver};

    fn run(config: Config) -> (Economy, StepMetrics) {
        let mut e = Economy::new(config).unwrap();
        let mut last = None;
        while !e.is_finished() {
            last = Some(e.step(&mut NullObserver).unwrap());
        }
        (e, last.unwrap())
    }

    /// Every node of a model run balances without a node for the unaccounted, and
    /// each of its main bands equals the CSV column it sums.
    #[test]
    fn a_model_run_balances_and_matches_its_columns() {
        let mut config = Config::default();
        config.simulation.total_steps = 120;
        let mut e = Economy::new(config).unwrap();
        let (mut minted, mut spent, mut fees) = (0.0, 0.0, 0.0);
        let mut last = None;
        while !e.is_finished() {
            let m = e.step(&mut NullObserver).unwrap();
            minted += m.flows.minted_ddt;
            spent += m.flows.pie_inflow_ddt;
            fees += m.flows.fees_xdai;
            last = Some(m);
        }
        let d = FlowDiagram::new(e.flows(), &last.unwrap(), &TypeNames::seed());
        assert!(d
            .nodes
            .iter()
            .all(|n| !n.id.contains("unaccounted") && !n.id.contains("created")));
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
        assert!(close(d.flow("crc_locked", "ddt_minted"), minted));
        assert!(close(d.flow("spent_on_compute", "the_pie"), spent));
        assert!(close(d.flow("pool_xdai", "fees_xdai"), fees));
        assert!(minted > 0.0 && spent > 0.0 && fees > 0.0);
    }

    #[test]
    fn the_2024_rules_show_their_defects_as_nodes() {
        let mut config = Config::default();
        config.simulation.rules = datadao_core::config::Rules::Original2024;
        config.simulation.total_steps = 50;
        let (e, last) = run(config);
        let d = FlowDiagram::new(e.flows(), &last, &TypeNames::seed());
        assert!(d.node("ddt_endowed").is_some());
        assert!(d.node("pie_unaccounted").is_some(), "{:?}", d.nodes);
    }

    #[test]
    fn the_csv_lists_every_band() {
        let mut config = Config::default();
        config.simulation.total_steps = 30;
        let (e, last) = run(config);
        let d = FlowDiagram::new(e.flows(), &last, &TypeNames::seed());
        let mut out = Vec::new();
        d.write_csv(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), d.links.len() + 1);
        assert!(text.starts_with("from,to,token,amount\ncrc_locked,ddt_minted,CRC,"));
    }
}
