//! The short report printed at the end of a run.

use std::fmt::Write as _;
use std::path::PathBuf;

use datadao_core::agent_type::TypeNames;
use datadao_core::experiment::KpiTracker;
use datadao_core::original_2024::Defects;

/// Six significant digits whatever the magnitude (a collapsed price is ~1e-9).
fn sig(v: f64) -> String {
    if v != 0.0 && !(1e-3..1e9).contains(&v.abs()) {
        format!("{v:.5e}")
    } else {
        format!("{v:.6}")
    }
}

fn price(p: Option<f64>) -> String {
    p.map_or("none (pool empty)".into(), |p| {
        format!("{} xDAI/dDT", sig(p))
    })
}

/// One line per criterion: met or not, and the metric's value in this run (empty: the
/// event never happened, counted as +infinity). Nothing without criteria.
pub fn render_criteria(
    criteria: &[datadao_scenario::criteria::Criterion],
    verdicts: &[(Option<f64>, bool)],
) -> String {
    let mut s = String::new();
    for (i, (c, (value, met))) in criteria.iter().zip(verdicts).enumerate() {
        let label = if i == 0 {
            "  criteria    "
        } else {
            "              "
        };
        let _ = writeln!(
            s,
            "{label} {} ({} {} {}): {} ({})",
            c.name,
            c.metric,
            c.op.symbol(),
            c.threshold,
            if *met { "met" } else { "NOT met" },
            value.map_or("empty, counted as +infinity".to_string(), sig)
        );
    }
    s
}

/// The summary text, from the run's figures (the core's `KpiTracker`, which also
/// gives Python's `Result.summary`, the page's summary and a row of `sweep_runs.csv`).
pub fn render(
    tracker: &KpiTracker,
    files: &[PathBuf],
    seconds: f64,
    transaction_rows: Option<u64>,
    types: &TypeNames,
) -> String {
    let stats = &tracker.kpis();
    let mut s = String::new();
    let Some(last_step) = stats.last_step else {
        return "no steps were run\n".into();
    };
    let _ = writeln!(s, "datadao: {} steps in {seconds:.2} s", last_step + 1);
    let _ = writeln!(s, "  price        final {}", price(stats.final_price));
    if let (Some(lo), Some(lo_step), Some(hi), Some(hi_step)) = (
        stats.min_price,
        stats.min_price_step,
        stats.max_price,
        stats.max_price_step,
    ) {
        let _ = writeln!(
            s,
            "               min {} (step {lo_step}), max {} (step {hi_step})",
            sig(lo),
            sig(hi)
        );
    }
    let _ = writeln!(
        s,
        "  pool         {} dDT / {} xDAI",
        sig(stats.final_ddt_reserve),
        sig(stats.final_xdai_reserve)
    );
    let _ = writeln!(
        s,
        "  Pie          {:.3} dDT left; {:.3} in, {:.3} paid out over the run",
        stats.final_pie, stats.pie_inflow, stats.pie_distributed
    );
    let _ = writeln!(s, "  dDT supply   {:.3}", stats.ddt_supply);
    if let Some(g) = &stats.final_governance {
        let _ = writeln!(
            s,
            "  governance   {} proposals, {} passed; treasury {:.3} dDT, {} xDAI, {} LP; {:.3} dDT burned, backing {}",
            g.proposals,
            g.proposals_passed,
            g.treasury_ddt,
            sig(g.treasury_xdai),
            sig(g.treasury_lp),
            g.ddt_burned,
            g.backing_ratio.map_or("none (no dDT)".into(), sig)
        );
        let st = &g.settings;
        let _ = writeln!(
            s,
            "               fee {}, distribution {}, shares {}/{}/{}, mint per weight {}",
            sig(st.fee_rate),
            sig(st.distribution_rate),
            sig(st.shares.power),
            sig(st.shares.active),
            sig(st.shares.casual),
            sig(st.mint_per_weight)
        );
    }
    let _ = writeln!(s, "  volume       {:.3} xDAI", stats.volume_xdai);
    let by_type: Vec<String> = types
        .types()
        .zip(&stats.final_agents)
        .map(|(k, n)| format!("{} {n}", types.name(k)))
        .collect();
    let _ = writeln!(
        s,
        "  agents       {} ({})",
        stats.final_agents.iter().sum::<u64>(),
        by_type.join(", ")
    );
    if let Some(rows) = transaction_rows {
        let _ = writeln!(s, "  transactions {rows}");
    }
    for f in files {
        let size = std::fs::metadata(f).map_or(String::new(), |m| format!("  {}", size(m.len())));
        let hint = if f
            .file_name()
            .is_some_and(|n| n == crate::output::TRANSACTIONS_FILE)
        {
            "  (--no-transactions skips it)"
        } else {
            ""
        };
        let _ = writeln!(s, "  wrote        {}{size}{hint}", f.display());
    }
    s
}

/// A file size as people read it: 617 MB, 1.1 MB, 20 kB, 512 B (decimal units, as `ls -h
/// --si` and file managers show them).
fn size(bytes: u64) -> String {
    let b = bytes as f64;
    if bytes >= 1_000_000_000 {
        format!("{:.1} GB", b / 1e9)
    } else if bytes >= 10_000_000 {
        format!("{:.0} MB", b / 1e6)
    } else if bytes >= 1_000_000 {
        format!("{:.1} MB", b / 1e6)
    } else if bytes >= 1_000 {
        format!("{:.0} kB", b / 1e3)
    } else {
        format!("{bytes} B")
    }
}

/// What rules with known accounting defects created and destroyed over the run.
pub fn render_defects(d: &Defects) -> String {
    let mut s = String::from(
        "  accounting defects of these rules (created or destroyed, not traded):
",
    );
    let _ = writeln!(
        s,
        "    LP fees owed to other providers, lost at collection  {:.6} xDAI",
        d.lp_fees_lost_xdai
    );
    let _ = writeln!(
        s,
        "    liquidity added without payment                      {:.6} dDT + {:.6} xDAI",
        d.unpaid_liquidity_ddt, d.unpaid_liquidity_xdai
    );
    let _ = writeln!(
        s,
        "    collected fees neither kept nor paid in              {:.6} xDAI",
        d.uncredited_fees_xdai
    );
    let _ = writeln!(
        s,
        "    Pie payouts that reached nobody                      {:.3} dDT",
        d.pie_lost_ddt
    );
    let _ = writeln!(
        s,
        "    lowest dDT balance (the rules allow negatives)       {:.6} dDT",
        d.lowest_ddt_balance
    );
    s
}

#[cfg(test)]
mod tests {
    use super::size;

    #[test]
    fn sizes_read_as_people_read_them() {
        assert_eq!(size(512), "512 B");
        assert_eq!(size(20_480), "20 kB");
        assert_eq!(size(1_084_909), "1.1 MB");
        assert_eq!(size(624_918_181), "625 MB");
        assert_eq!(size(2_500_000_000), "2.5 GB");
    }
}
