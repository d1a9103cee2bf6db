//! [`Config::validate`]: every setting checked once, the first problem returned with
//! its key, its value and what is accepted.

use super::{Config, ConfigError, Draw, Rules};
use crate::agent_type::{AgentType, MAX_TYPES};
use crate::data_pool::MAX_USE_CASES;
use crate::validation::{amount, at_least_one, err, fraction, positive, sums_to_one, MAX_EXPONENT};

impl Config {
    /// Check every setting; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let s = &self.simulation;
        at_least_one("simulation.total_steps", s.total_steps)?;
        at_least_one("simulation.entry_steps", s.entry_steps)?;
        at_least_one("simulation.agents_per_entry", s.agents_per_entry)?;
        if s.total_steps > u64::from(u32::MAX) {
            return Err(err(
                "simulation.total_steps",
                s.total_steps,
                "a whole number from 1 to 4294967295",
            ));
        }
        let most_agents = s.initial_agents.saturating_add(
            s.agents_per_entry
                .saturating_mul(s.total_steps.div_ceil(s.entry_steps)),
        );
        if most_agents > u64::from(u32::MAX) {
            let mut e = err(
                "simulation.agents_per_entry",
                s.agents_per_entry,
                &format!(
                    "a population that stays below 4294967295 agents over the run (initial_agents + agents_per_entry x ceil(total_steps / entry_steps) = {most_agents} here)"
                ),
            );
            e.related = [
                "simulation.total_steps",
                "simulation.entry_steps",
                "simulation.initial_agents",
            ]
            .map(String::from)
            .to_vec();
            return Err(e);
        }
        if s.seed > i64::MAX as u64 {
            return Err(err(
                "simulation.seed",
                s.seed,
                "a whole number from 0 to 9223372036854775807",
            ));
        }
        let fee = self.market.fee_rate;
        if !(0.0..1.0).contains(&fee) {
            return Err(err("market.fee_rate", fee, "a number in [0, 1)"));
        }
        fraction("pie.distribution_rate", self.pie.distribution_rate)?;
        amount("pie.subsidy_per_step", self.pie.subsidy_per_step)?;
        let ps = &self.pie.shares;
        for (key, v) in [
            ("pie.shares.power", ps.power),
            ("pie.shares.active", ps.active),
            ("pie.shares.casual", ps.casual),
        ] {
            fraction(key, v)?;
        }
        let mut groups = vec![
            ("power", ps.power),
            ("active", ps.active),
            ("casual", ps.casual),
        ];
        groups.extend(ps.custom.iter().map(|(n, &v)| (n.as_str(), v)));
        sums_to_one("pie.shares", &groups)?;

        let a = &self.agents;
        self.validate_custom_types()?;
        let names = a.type_names();
        let shares = a.shares();
        for (kind, &share) in names.types().zip(&shares) {
            fraction(&format!("agents.{}.share", names.name(kind)), share)?;
        }
        let named: Vec<(&str, f64)> = names
            .names()
            .iter()
            .map(String::as_str)
            .zip(shares.iter().copied())
            .collect();
        sums_to_one("agents.<type>.share", &named)?;
        for kind in names.types() {
            let (ddt, xdai) = a.endowment(kind);
            amount(&format!("agents.{}.initial_ddt", names.name(kind)), ddt)?;
            amount(&format!("agents.{}.initial_xdai", names.name(kind)), xdai)?;
        }
        if a.organization.initial_ddt != 0.0 {
            return Err(err(
                "agents.organization.initial_ddt",
                a.organization.initial_ddt,
                "0 (organizations are buyers, not members: no dDT is minted for them)",
            ));
        }
        amount("agents.degen.liquidity_ddt", a.degen.liquidity_ddt)?;
        amount("agents.degen.liquidity_xdai", a.degen.liquidity_xdai)?;
        amount(
            "agents.organization.daily_compute_ddt",
            a.organization.daily_compute_ddt,
        )?;
        amount("agents.power.daily_compute_ddt", a.power.daily_compute_ddt)?;
        positive("agents.power.max_buy_price", a.power.max_buy_price)?;
        amount(
            "agents.active.daily_compute_ddt",
            a.active.daily_compute_ddt,
        )?;
        amount(
            "agents.casual.daily_compute_ddt",
            a.casual.daily_compute_ddt,
        )?;
        amount("agents.casual.daily_sell_ddt", a.casual.daily_sell_ddt)?;
        at_least_one("pie.interval_steps", self.pie.interval_steps)?;
        for (kind, name) in AgentType::SEED.into_iter().zip(AgentType::SEED_NAMES) {
            fraction(
                &format!("noise.skip_probability.{name}"),
                self.noise.skip_probability.of(kind),
            )?;
            fraction(
                &format!("noise.amount_jitter.{name}"),
                self.noise.amount_jitter.of(kind),
            )?;
        }
        self.validate_circles_and_data()?;
        if self.governance.enabled && self.simulation.rules != Rules::Model {
            let mut e = err(
                "governance.enabled",
                true,
                "false under simulation.rules = \"original-2024\" (that program has no governance)",
            );
            e.related = vec!["simulation.rules".to_string()];
            return Err(e);
        }
        self.governance.validate(&self.governed_settings())
    }

    /// The governable settings' values as configured (before any vote).
    pub fn governed_settings(&self) -> crate::governance::GovernedSettings {
        crate::governance::GovernedSettings {
            fee_rate: self.market.fee_rate,
            distribution_rate: self.pie.distribution_rate,
            shares: self.pie.shares.governed(),
            mint_per_weight: self.minting.mint_per_weight,
        }
    }

    /// Type `kind`'s rules, compiled against the scenario's use cases; a customer
    /// (organizations) has no CRC, no data and no vote, so it may not mint, redeem or
    /// touch data.
    pub fn compile_rules(&self, kind: AgentType) -> Result<Vec<crate::rules::Rule>, ConfigError> {
        let key = format!("agents.{}", self.agents.type_names().name(kind));
        let job = self.job_use_case_index(kind) as u8;
        let rules =
            crate::rules::compile(&key, self.agents.rules(kind), &self.data.use_cases, job)?;
        if !self.agents.is_member(kind) {
            use crate::rules::ActionKind as A;
            if let Some(n) = rules.iter().position(|r| {
                matches!(
                    r.action,
                    A::Mint | A::Redeem | A::Contribute | A::Revoke | A::RemoveData
                )
            }) {
                return Err(err(
                    &format!("{key}.rules[{n}].do"),
                    &self.agents.rules(kind)[n].action,
                    "an action a customer can take (buy, buy_with, sell, spend, buy_and_spend, add_liquidity, remove_liquidity): customers (organizations, and types with member = false) hold no CRC and no data",
                ));
            }
        }
        Ok(rules)
    }

    /// The columns of `simulation_data.csv` for this scenario.
    pub fn event_columns(&self) -> Vec<String> {
        self.columns(false)
    }

    /// The columns of `simulation_data.csv` for this scenario, with each type's wealth
    /// columns when `wealth` (`output.distribution`).
    pub fn columns(&self, wealth: bool) -> Vec<String> {
        crate::metrics::StepMetrics::columns_of(
            &self.data.use_cases,
            &self.agents.type_names(),
            self.governance.enabled,
            crate::events::set_mask(&self.events),
            wealth,
        )
    }

    /// The index in `data.use_cases` of a type's job use case (the first use case for
    /// one validation has not checked yet).
    pub fn job_use_case_index(&self, kind: AgentType) -> usize {
        self.use_case_index(self.agents.job_use_case(kind))
            .unwrap_or(0)
    }

    /// Index of a use case in `data.use_cases`.
    pub fn use_case_index(&self, name: &str) -> Option<usize> {
        self.data.use_cases.iter().position(|u| u == name)
    }

    /// A scenario's own types: names that cannot be mistaken for anything else, at most
    /// [`MAX_TYPES`] types in all, settings in range, and a Pie group only for a member
    /// type that exists.
    fn validate_custom_types(&self) -> Result<(), ConfigError> {
        let custom = &self.agents.custom;
        if custom.len() > MAX_TYPES - 5 {
            let name = custom.keys().nth(MAX_TYPES - 5).map_or("", String::as_str);
            return Err(err(
                &format!("agents.{name}"),
                format!("{} types of the scenario's own", custom.len()),
                &format!("at most {} types besides the seed's five", MAX_TYPES - 5),
            ));
        }
        for (name, c) in custom {
            let ok = name.starts_with(|ch: char| ch.is_ascii_lowercase())
                && name
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
                && name.len() <= 16
                && !["event", "treasury", "total"].contains(&name.as_str());
            if !ok {
                return Err(err(
                    &format!("agents.{name}"),
                    name,
                    "a type name of at most 16 lowercase letters, digits and '_', starting with a letter, other than `event`, `treasury` and `total`",
                ));
            }
            let key = |field: &str| format!("agents.{name}.{field}");
            if !c.member && c.initial_ddt != 0.0 {
                return Err(err(
                    &key("initial_ddt"),
                    c.initial_ddt,
                    "0 for a type with member = false (no dDT is minted for customers)",
                ));
            }
            fraction(&key("turnout"), c.turnout)?;
            fraction(&key("fixed_yes"), c.fixed_yes)?;
            // Members' data settings are checked with the seed's below.
            if !c.member && self.use_case_index(&c.data.job_use_case).is_none() {
                return Err(err(
                    &key("data.job_use_case"),
                    &c.data.job_use_case,
                    &format!("one of data.use_cases {:?}", self.data.use_cases),
                ));
            }
            if !c.member && c.pie_share != crate::agents::PieShareUse::Keep {
                return Err(err(
                    &key("pie_share"),
                    format!("{:?}", c.pie_share).to_lowercase(),
                    "keep for a type with member = false (customers get no Pie shares)",
                ));
            }
        }
        for (group, &share) in &self.pie.shares.custom {
            let key = format!("pie.shares.{group}");
            match custom.get(group) {
                Some(c) if c.member => fraction(&key, share)?,
                // A customer type's group is there, at 0: customers get no shares.
                Some(_) if share == 0.0 => {}
                _ => {
                    let members: Vec<&str> = custom
                        .iter()
                        .filter(|(_, c)| c.member)
                        .map(|(n, _)| n.as_str())
                        .collect();
                    return Err(err(
                        &key,
                        share,
                        &format!(
                            "a group of a member type the scenario declares ({})",
                            if members.is_empty() {
                                "it declares none".to_string()
                            } else {
                                members.join(", ")
                            }
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn validate_circles_and_data(&self) -> Result<(), ConfigError> {
        let c = &self.circles;
        amount("circles.issuance_per_day", c.issuance_per_day)?;
        at_least_one("circles.claim_interval_days", c.claim_interval_days)?;
        at_least_one("circles.max_claim_days", c.max_claim_days)?;
        if !(0.0..1.0).contains(&c.demurrage_per_year) {
            return Err(err(
                "circles.demurrage_per_year",
                c.demurrage_per_year,
                "a number in [0, 1)",
            ));
        }
        amount("circles.initial_crc", c.initial_crc)?;
        amount("minting.mint_per_weight", self.minting.mint_per_weight)?;
        let d = &self.data;
        let uc = &d.use_cases;
        if uc.is_empty() || uc.len() > MAX_USE_CASES {
            return Err(err(
                "data.use_cases",
                format!("{uc:?}"),
                "a list of 1 to 8 names",
            ));
        }
        for (i, name) in uc.iter().enumerate() {
            let ok = !name.is_empty()
                && name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-');
            if !ok || uc[..i].contains(name) {
                return Err(err(
                    "data.use_cases",
                    format!("{uc:?}"),
                    "distinct names of letters, digits, '_' or '-'",
                ));
            }
        }
        for (key, value) in [
            ("data.quality_exponent", d.quality_exponent),
            ("data.quantity_exponent", d.quantity_exponent),
        ] {
            if !(0.0..=MAX_EXPONENT).contains(&value) {
                return Err(err(key, value, "a number from 0 to 10"));
            }
        }
        let org_case = &self.agents.organization.job_use_case;
        if self.use_case_index(org_case).is_none() {
            return Err(err(
                "agents.organization.job_use_case",
                org_case,
                &format!("one of data.use_cases {uc:?}"),
            ));
        }
        for kind in self.agents.type_names().types() {
            self.compile_rules(kind)?;
        }
        crate::events::compile(
            &self.events,
            self.simulation.total_steps,
            &self.data.use_cases,
            &self.agents,
        )?;
        if self.simulation.rules == Rules::Original2024 {
            // Those rules are the 2024 program's: they have no events and no rules.
            if !self.events.is_empty() {
                return Err(err(
                    "events",
                    format!("{} events", self.events.len()),
                    "none under simulation.rules = original-2024 (the program had no events)",
                ));
            }
            if let Some(name) = self.agents.custom.keys().next() {
                return Err(err(&format!("agents.{name}"), "a type of its own", "only the seed's five types under simulation.rules = original-2024 (that program had no others)"));
            }
            if let Some(name) = AgentType::SEED_NAMES
                .into_iter()
                .zip(AgentType::SEED)
                .find_map(|(n, k)| (!self.agents.rules(k).is_empty()).then_some(n))
            {
                return Err(err(&format!("agents.{name}.rules"), "rules", "none under simulation.rules = original-2024 (its types' behaviour is the program's)"));
            }
        }
        let names = self.agents.type_names();
        for kind in names.types() {
            let Some(m) = self.agents.member(kind) else {
                continue;
            };
            let table = if kind.is_seed() { "member" } else { "data" };
            let name = names.name(kind);
            let key = |field: &str| format!("agents.{name}.{table}.{field}");
            if m.quantity_draw == Draw::Beta {
                return Err(err(&key("quantity_draw"), "beta", "fixed or lognormal"));
            }
            if m.quality_draw == Draw::Lognormal {
                return Err(err(&key("quality_draw"), "lognormal", "fixed or beta"));
            }
            amount(&key("quantity"), m.quantity)?;
            // Draws are capped at MAX_AMOUNT; these bounds keep the distribution itself
            // meaningful below that cap (e^34.5 is about 1e15).
            if !(-34.5..=34.5).contains(&m.quantity_mu) {
                return Err(err(
                    &key("quantity_mu"),
                    m.quantity_mu,
                    "a number from -34.5 to 34.5",
                ));
            }
            if !(0.0..=10.0).contains(&m.quantity_sigma) {
                return Err(err(
                    &key("quantity_sigma"),
                    m.quantity_sigma,
                    "a number from 0 to 10",
                ));
            }
            fraction(&key("quality"), m.quality)?;
            positive(&key("quality_alpha"), m.quality_alpha)?;
            positive(&key("quality_beta"), m.quality_beta)?;
            fraction(&key("contribution_rate"), m.contribution_rate)?;
            fraction(&key("revoke_probability"), m.revoke_probability)?;
            fraction(&key("remove_probability"), m.remove_probability)?;
            amount(&key("daily_mint_ddt"), m.daily_mint_ddt)?;
            amount(&key("daily_redeem_ddt"), m.daily_redeem_ddt)?;
            let rp = &m.restrict_probability;
            if !(rp.len() == 1 || rp.len() == uc.len())
                || rp.iter().any(|p| !(0.0..=1.0).contains(p))
            {
                return Err(err(
                    &key("restrict_probability"),
                    format!("{rp:?}"),
                    &format!(
                        "one probability in [0, 1], or one per use case ({})",
                        uc.len()
                    ),
                ));
            }
            if self.use_case_index(&m.job_use_case).is_none() {
                return Err(err(
                    &key("job_use_case"),
                    &m.job_use_case,
                    &format!("one of data.use_cases {uc:?}"),
                ));
            }
        }
        Ok(())
    }
}
