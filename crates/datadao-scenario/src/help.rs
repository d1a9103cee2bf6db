//! One line per setting saying what it does: `datadao config` prints it above each key,
//! and the page shows it under each control and for a searched key, so the CLI and the
//! page explain a setting in the same words. Every known key has a line (a test checks).
//!
//! Per-type keys share a line with `{a type}` or `{types}` in it (`agents.<type>.share` for every
//! type, the seed's five and a scenario's own), so a line is written once. A scenario's type
//! keeps its data settings under `data` (its `member` is a switch), and they read the
//! seed members' lines.

use datadao_core::AgentType;

/// Lines by key; `*` stands for one agent type's name, or for one governed setting.
const LINES: &[(&str, &str)] = &[
    ("simulation.total_steps", "Number of steps (days) to simulate."),
    ("simulation.entry_steps", "Agents join at every step that is a multiple of this."),
    ("simulation.agents_per_entry", "How many agents join at each entry step."),
    ("simulation.initial_agents", "How many agents join before step 0."),
    ("simulation.seed", "Seed of the run's random generator: the same seed gives the same run."),
    ("simulation.activation", "Order of agents within a step: sequential (by arrival) or shuffled each step."),
    ("simulation.audit", "Check the token ledger after every step and stop at the first violation."),
    ("simulation.rules", "Which rules run the economy: model, or original-2024 (the 2024 program's, defects and all)."),
    ("market.fee_rate", "Swap fee of the dDT/xDAI pool, kept in the pool for its liquidity providers."),
    ("pie.policy", "Who gets The Pie: groups (fixed shares per type), usage (by data used) or weight (by Contribution Weight)."),
    ("pie.interval_steps", "The Pie pays out every this many steps."),
    ("pie.distribution_rate", "Share of The Pie paid out at each payout; the rest stays for governance."),
    ("pie.subsidy_per_step", "dDT minted into The Pie every step from an outside reward budget (no CRC behind it); 0: none."),
    ("pie.shares.*", "Share of each payout that goes to {types} (policy groups); the shares sum to 1."),
    ("circles.issuance_per_day", "Personal CRC issued to each member per day (24 in Circles v2: 1 per hour)."),
    ("circles.claim_interval_days", "Members claim their CRC issuance every this many days."),
    ("circles.max_claim_days", "At most this many days of issuance can be claimed at once (14 in Circles v2)."),
    ("circles.demurrage_per_year", "Yearly demurrage on personal CRC (7% in Circles v2), applied daily."),
    ("circles.ddt_demurrage", "Let dDT decay like CRC: every balance, the Pie, the pool's reserve and the locked CRC shrink alike."),
    ("circles.initial_crc", "CRC a member holds when it joins."),
    ("minting.policy", "Which cap limits minting: weight (CRC locked per Contribution Weight) or issuance-score."),
    ("minting.mint_per_weight", "CRC a member may lock (and so dDT it may mint) per unit of its Contribution Weight."),
    ("data.use_cases", "The use cases members consent to or not (at most 8)."),
    ("data.quality_exponent", "Exponent of quality in Contribution Weight = quality^a * quantity^b."),
    ("data.quantity_exponent", "Exponent of quantity in Contribution Weight = quality^a * quantity^b."),
    ("data.quantity_unit", "Name of the unit of data quantity (KB, triplets, ...), for reports only."),
    ("data.demand_scales_with_allowed_data", "Organizations buy compute only in proportion to the data that allows their use case."),
    ("agents.*.share", "Share of arriving agents who are {types}; the shares of all types sum to 1."),
    ("agents.*.initial_ddt", "dDT {a type} starts with (minted against its CRC for members)."),
    ("agents.*.initial_xdai", "xDAI {a type} brings when it joins."),
    ("agents.*.liquidity_ddt", "dDT {a type} offers to the pool on its first step (sized as the router does)."),
    ("agents.*.liquidity_xdai", "xDAI {a type} offers to the pool on its first step (sized as the router does)."),
    ("agents.*.daily_compute_ddt", "dDT {a type} spends on compute each step."),
    ("agents.*.daily_sell_ddt", "dDT {a type} sells each step after compute, as far as its balance allows."),
    ("agents.*.max_buy_price", "Highest price (xDAI per dDT) at which {a type} buys what it lacks for compute."),
    ("agents.*.job_use_case", "Use case of {a type}'s compute jobs."),
    ("agents.*.rules", "Rules that replace {a type}'s built-in behaviour: a list of tables with when, do, amount (see the README's rule language)."),
    ("agents.*.pie_share", "What {a type} does with a Pie share: keep, sell or spend it."),
    ("agents.*.member", "Whether {types} are members (hold data and CRC, mint, vote, get Pie shares) or customers, as organizations are."),
    ("agents.*.turnout", "Probability that {a type} votes on a proposal."),
    ("agents.*.objective", "What {a type} looks at when it votes with foresight."),
    ("agents.*.fixed_yes", "Probability that {a type} votes yes on any proposal under voting = fixed."),
    ("agents.*.member.quantity_draw", "How {a type}'s contribution quantities are drawn: fixed or lognormal."),
    ("agents.*.member.quantity", "Quantity of each of {a type}'s contributions under fixed."),
    ("agents.*.member.quantity_mu", "mu of {a type}'s lognormal contribution quantity."),
    ("agents.*.member.quantity_sigma", "sigma of {a type}'s lognormal contribution quantity."),
    ("agents.*.member.quality_draw", "How {a type}'s contribution qualities are drawn: fixed or beta."),
    ("agents.*.member.quality", "Quality (0 to 1) of each of {a type}'s contributions under fixed."),
    ("agents.*.member.quality_alpha", "alpha of {a type}'s beta-distributed contribution quality."),
    ("agents.*.member.quality_beta", "beta of {a type}'s beta-distributed contribution quality."),
    ("agents.*.member.contribution_rate", "Probability per day that {a type} contributes another dataset."),
    ("agents.*.member.restrict_probability", "Probability, per use case, that {a type}'s new dataset does not allow it."),
    ("agents.*.member.revoke_probability", "Probability per day that {a type} revokes consent for one use case."),
    ("agents.*.member.remove_probability", "Probability per day that {a type} removes all its data from the pool."),
    ("agents.*.member.daily_mint_ddt", "dDT {a type} tries to mint each day, as far as its cap and CRC allow."),
    ("agents.*.member.daily_redeem_ddt", "dDT {a type} redeems (burns to unlock CRC) each day."),
    ("agents.*.member.job_use_case", "Use case of {a type}'s compute jobs."),
    ("noise.skip_probability.*", "Probability that {a type} skips its action on a given day."),
    ("noise.amount_jitter.*", "Relative jitter on the amounts {a type} plans (each times a uniform draw in [1-j, 1+j])."),
    ("original_2024.correct_lp_fees", "Rules original-2024: fees accrue to every provider by its shares."),
    ("original_2024.correct_reinvest", "Rules original-2024: a degen keeps the fees it collects instead of adding half, unpaid, to the pool."),
    ("original_2024.correct_pie", "Rules original-2024: The Pie's 70% reaches power, active and casual users as intended."),
    ("governance.enabled", "Whether members govern: proposals on the treasury and the governed settings, decided by vote."),
    ("governance.interval_steps", "A proposal is put every this many steps."),
    ("governance.proposals", "The kinds of proposal put, in turn or at random: liquidity, burn, grants, set."),
    ("governance.selection", "Which kind comes next: in turn, or at random."),
    ("governance.weight", "What a vote weighs: person (one each), ddt (dDT held), quadratic (its square root) or crc_locked (CRC locked)."),
    ("governance.quorum", "Share of all members' weight that must vote for a vote to count."),
    ("governance.threshold", "A proposal passes when yes is more than this share of yes + no."),
    ("governance.voting", "How members decide: foresight (simulate with and without the proposal) or fixed (yes-probabilities)."),
    ("governance.horizon", "Steps each foresight vote looks ahead."),
    ("governance.fork_agent_steps", "Most agent-steps one foresight look-ahead may simulate; at scale the horizon shortens."),
    ("governance.turnout.*", "Probability that {a type} votes on a proposal."),
    ("governance.objective.*", "What {a type} looks at when it votes with foresight."),
    ("governance.fixed.*.*", "Probability that a member votes yes under voting = fixed, per kind of proposal and type."),
    ("governance.liquidity.fraction", "Share of the treasury a liquidity proposal sells half of and deposits in the pool."),
    ("governance.burn.fraction", "Share of the treasury a burn proposal burns."),
    ("governance.grants.fraction", "Share of the treasury a grants proposal pays to members by Contribution Weight."),
    ("governance.set.settings", "Which settings set proposals may move (each up, then down)."),
    ("governance.set.*.step", "How far one set proposal moves this governed setting."),
    ("governance.set.*.min", "Lowest value set proposals may move this governed setting to."),
    ("governance.set.*.max", "Highest value set proposals may move this governed setting to."),
    ("events", "Scheduled shocks: a list of tables with step and one of set, join, leave, remove_data, revoke (see the README)."),
    ("output.dir", "Folder the outputs are written into (replacing the previous set whole)."),
    ("output.plot", "Draw the figures (simulation_results.png and flows.png)."),
    ("output.transactions", "Write transaction_history.csv, one row per transaction (about 600 MB by default)."),
    ("output.agents", "Write agents.csv: every agent at the end of the run, with its balances and wealth."),
    ("output.distribution", "Add each type's Gini coefficient and 10th/50th/90th percentiles of wealth (xDAI at the step's price) to simulation_data.csv."),
    ("output.direct_io", "Write the transaction log with O_DIRECT, bypassing the page cache."),
    ("output.allow_huge", "Start work that is estimated not to fit in memory or on disk anyway."),
];

/// A type's agents, one (with its article) and many, as the lines name them.
fn names(type_name: &str) -> (String, String) {
    let seed = |one: &str, many: &str| {
        let article = if one.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        (format!("{article} {one}"), many.to_owned())
    };
    match type_name {
        "degen" => seed("degen", "degens"),
        "organization" => seed("organization", "organizations"),
        "power" => seed("power member", "power members"),
        "active" => seed("active member", "active members"),
        "casual" => seed("casual member", "casual members"),
        own => (
            format!("an agent of type {own}"),
            format!("agents of type {own}"),
        ),
    }
}

/// Whether `key` fits `pattern`, and the type name a per-type line is about: the first
/// `*` of an `agents.*` key (any name: a scenario's types are its own), or a seed type's
/// name elsewhere (`pie.shares.*` also holds a scenario's groups).
fn matches(pattern: &str, key: &str) -> Option<Option<String>> {
    let (p, k): (Vec<&str>, Vec<&str>) = (pattern.split('.').collect(), key.split('.').collect());
    if p.len() != k.len() {
        return None;
    }
    let mut kind = None;
    for (i, (a, b)) in p.iter().zip(&k).enumerate() {
        if *a == "*" {
            let per_type =
                (i == 1 && p[0] == "agents") || (i == 2 && key.starts_with("pie.shares."));
            if kind.is_none() && (per_type || AgentType::SEED_NAMES.contains(b)) {
                kind = Some((*b).to_owned());
            }
        } else if a != b {
            return None;
        }
    }
    Some(kind)
}

/// What setting `key` does, in one line; `None` for a key datadao does not know.
pub fn help(key: &str) -> Option<String> {
    // A scenario's type's `data.<field>` reads the seed members' `member.<field>` line.
    let parts: Vec<&str> = key.split('.').collect();
    let is_own_type = parts.len() > 1 && !AgentType::SEED_NAMES.contains(&parts[1]);
    let lookup = match parts.as_slice() {
        ["agents", name, "data", field] if is_own_type => format!("agents.{name}.member.{field}"),
        _ => key.to_owned(),
    };
    LINES.iter().find_map(|(pattern, line)| {
        let kind = matches(pattern, &lookup)?;
        Some(match kind {
            Some(name) => {
                let (one, many) = names(&name);
                line.replace("{a type}", &one).replace("{types}", &many)
            }
            None => (*line).to_owned(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_key_has_a_line() {
        let missing: Vec<String> = crate::settings::known_keys()
            .into_keys()
            .filter(|k| help(k).is_none())
            .collect();
        assert!(missing.is_empty(), "no help for {missing:?}");
        // A scenario's own type: every key it makes known has a line too.
        let inputs = crate::settings::Inputs {
            flags: vec![crate::settings::Given::new(
                "agents.farmer.share",
                "0.1",
                crate::source::Source::Flag("--set agents.farmer.share=0.1".into()),
            )],
            ..Default::default()
        };
        let own = crate::settings::resolve(&inputs).expect("a declared type");
        let own_keys: Vec<String> = crate::settings::flat(&own.settings)
            .into_keys()
            .filter(|k| k.contains("farmer"))
            .collect();
        assert!(own_keys.len() > 20, "{own_keys:?}");
        for key in own_keys {
            let line = help(&key).unwrap_or_else(|| panic!("no help for {key}"));
            assert!(!line.contains('{') && line.ends_with('.'), "{key}: {line}");
        }
        for key in crate::settings::known_keys().keys() {
            let line = help(key).unwrap();
            assert!(!line.contains('{') && line.ends_with('.'), "{key}: {line}");
        }
    }

    #[test]
    fn a_type_name_goes_into_its_line() {
        assert_eq!(
            help("agents.degen.share").unwrap(),
            "Share of arriving agents who are degens; the shares of all types sum to 1."
        );
        assert!(help("pie.shares.power").unwrap().contains("power members"));
        assert_eq!(
            help("agents.farmer.data.quantity").unwrap(),
            "Quantity of each of an agent of type farmer's contributions under fixed."
        );
        assert!(help("pie.shares.farmer")
            .unwrap()
            .contains("agents of type farmer"));
        assert!(help("agents.farmer.fixed_yes").is_some());
        assert!(help("governance.set.fee_rate.step").is_some());
        assert_eq!(help("no.such.key"), None);
    }
}
