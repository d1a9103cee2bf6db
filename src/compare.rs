//! `datadao compare`: several scenarios (presets or TOML files) run with the same flags,
//! drawn together in `compare_results.png` (`plot::compare_panels`) beside
//! `compare_summary.csv`, with one line each on the terminal.

use datadao_scenario::outputs::COMPARE_SUMMARY_FILE;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use datadao_core::experiment::KpiTracker;
use datadao_core::Economy;
use datadao_scenario::{limits, presets};

use crate::cli::CompareArgs;
use crate::inputs::resolve_with;
use crate::output;
use crate::output_set::OutputSet;
use crate::plot;
use crate::series;
use crate::signals;
use crate::terminal::emit;

/// What a compared run leaves behind: the figure's points and the summary figures.
#[derive(Default)]
struct ComparedRun {
    series: series::Series,
    stats: KpiTracker,
}

impl datadao_core::Observer for ComparedRun {
    fn on_step(&mut self, m: &datadao_core::StepMetrics) {
        self.series.push(m);
        self.stats.update(m);
    }
}

/// Run each scenario (a preset or a TOML file) with the shared settings, then draw them
/// together and print one line each.
pub fn compare(args: &CompareArgs) -> Result<()> {
    if args.shared.preset.is_some() || args.shared.config.is_some() {
        anyhow::bail!(
            "compare takes its scenarios as arguments (preset names or TOML files), not --preset or --config"
        );
    }
    let mut scenarios = Vec::new();
    for scenario in &args.scenarios {
        let mut shared = args.shared.clone();
        let file = if presets::find(scenario).is_ok() {
            shared.preset = Some(scenario.clone());
            None
        } else if Path::new(scenario).exists() {
            // Not necessarily a regular file: the reader says what it is if not.
            Some(PathBuf::from(scenario))
        } else {
            anyhow::bail!(
                "compare: '{scenario}' is neither a preset nor a readable file; accepted: {} or a TOML scenario file",
                presets::names().join(", ")
            );
        };
        let resolved = resolve_with(&shared, file)?;
        limits::check_memory(
            &resolved.settings.model,
            1,
            Some(&resolved),
            resolved.settings.output.allow_huge,
        )?;
        scenarios.push((scenario.clone(), resolved));
    }
    // Every scenario shares the flags, so the first one's folder (and figure setting)
    // is every one's.
    let first = &scenarios[0].1;
    let plot = first.settings.output.plot;
    let set = OutputSet::begin(
        &first.settings.output.dir,
        &[output::COMPARE_FILE, COMPARE_SUMMARY_FILE],
        &first.describe("output.dir"),
    )?;
    set.check_targets()?;
    let mut runs = Vec::new();
    for (scenario, resolved) in &scenarios {
        let mut economy = Economy::new(resolved.settings.model.clone())?;
        economy.set_stop(signals::stop_flag());
        let mut compared = ComparedRun::default();
        while !economy.is_finished() {
            signals::check()?;
            economy
                .step(&mut compared)
                .map_err(signals::step_error)
                .with_context(|| format!("scenario {scenario}"))?;
        }
        runs.push((scenario.clone(), compared));
    }
    if plot {
        let named: Vec<(String, Vec<series::Point>)> = runs
            .iter()
            .map(|(name, t)| (name.clone(), t.series.points()))
            .collect();
        let title = format!("datadao: {}", args.scenarios.join(" vs "));
        let configured: Vec<_> = scenarios
            .iter()
            .map(|(_, r)| r.settings.model.governed_settings())
            .collect();
        let panels = plot::compare_panels(&named, &configured);
        let path = set.path(output::COMPARE_FILE);
        // Governed runs dip for a step when a burn or liquidity passes: see render_segmented.
        if named
            .iter()
            .any(|(_, p)| p.iter().any(|p| p.governance.is_some()))
        {
            plot::render_segmented(&path, &title, &panels)?;
        } else {
            plot::render(&path, &title, &panels)?;
        }
    }
    output::write_whole(&set, COMPARE_SUMMARY_FILE, compare_csv(&runs).as_bytes())?;
    signals::check()?;
    let files = set.commit()?;
    if !args.quiet {
        let w = args
            .scenarios
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(8)
            .max(8);
        let mut text = format!(
            "{:<w$} {:>13} {:>13} {:>13} {:>11} {:>12}\n",
            "scenario", "final price", "dDT reserve", "xDAI reserve", "Pie", "dDT supply"
        );
        for (name, t) in &runs {
            let k = t.stats.kpis();
            if k.last_step.is_some() {
                let price = k
                    .final_price
                    .map(|p| format!("{p:.6e}"))
                    .unwrap_or_else(|| "-".into());
                text.push_str(&format!(
                    "{:<w$} {:>13} {:>13.1} {:>13.4} {:>11.3} {:>12.1}\n",
                    name,
                    price,
                    k.final_ddt_reserve,
                    k.final_xdai_reserve,
                    k.final_pie,
                    k.ddt_supply
                ));
            }
        }
        for f in files {
            text.push_str(&format!("wrote {}\n", f.display()));
        }
        emit(&text)?;
    }
    Ok(())
}

/// [`COMPARE_SUMMARY_FILE`]'s text: each scenario's final figures at full precision (an
/// empty price where the market has none).
fn compare_csv(runs: &[(String, ComparedRun)]) -> String {
    let quote = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out =
        String::from("scenario,steps,final_price,ddt_reserve,xdai_reserve,pie_ddt,ddt_supply\n");
    for (name, t) in runs {
        let k = t.stats.kpis();
        if let Some(last_step) = k.last_step {
            let price = k.final_price.map(|p| p.to_string()).unwrap_or_default();
            out.push_str(&format!(
                "{},{},{price},{},{},{},{}\n",
                quote(name),
                last_step + 1,
                k.final_ddt_reserve,
                k.final_xdai_reserve,
                k.final_pie,
                k.ddt_supply
            ));
        }
    }
    out
}
