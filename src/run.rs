//! `datadao run` (also the command without a subcommand): one simulation driven step by
//! step, its CSVs and transaction log streamed into the staged output set, then the
//! figure drawn while the CSVs are finished, `run_config.toml`, the commit and the
//! summary.

use std::time::Instant;

use anyhow::{Context, Result};
use datadao_core::Economy;
use datadao_scenario::flows::FlowDiagram;
use datadao_scenario::limits;
use datadao_scenario::settings::Resolved;

use crate::cli::RunArgs;
use crate::config_text::run_config_text;
use crate::flow_figure;
use crate::inputs::resolve;
use crate::output::{self, RunSink};
use crate::output_set::OutputSet;
use crate::plot;
use crate::series;
use crate::signals;
use crate::summary;
use crate::terminal::{emit, progress_bar};

/// Draw `simulation_results.png` for a finished run into the staged set.
fn draw_figure(
    set: &OutputSet,
    resolved: &Resolved,
    series: &[series::Point],
    passed: &[u32],
    use_cases: &[String],
) -> Result<()> {
    let settings = &resolved.settings;
    let preset = resolved.preset.as_deref().unwrap_or("seed");
    let title = format!(
        "datadao: preset {preset}, {} steps, fee {}, seed {}",
        settings.model.simulation.total_steps,
        settings.model.market.fee_rate,
        settings.model.simulation.seed
    );
    let types = settings.model.agents.type_names();
    let mut panels = plot::run_panels(series, use_cases, &types);
    let governance = plot::governance_panels(series, passed);
    if governance.is_empty() {
        plot::render(&set.path(output::PLOT_FILE), &title, &panels)
    } else {
        // Governance's one-step dips (burns, liquidity) would draw mitre spikes.
        panels.extend(governance);
        plot::render_segmented(&set.path(output::PLOT_FILE), &title, &panels)
    }
}

/// Draw `flows.png` for a finished run into the staged set (a run of no steps has no
/// flows to draw).
fn draw_flows(set: &OutputSet, resolved: &Resolved, flows: Option<&FlowDiagram>) -> Result<()> {
    let Some(flows) = flows else {
        return Ok(());
    };
    let settings = &resolved.settings;
    let preset = resolved.preset.as_deref().unwrap_or("seed");
    let title = format!(
        "Flows over the run: preset {preset}, {} steps, seed {}",
        settings.model.simulation.total_steps, settings.model.simulation.seed
    );
    flow_figure::render(
        &set.path(output::FLOWS_PLOT_FILE),
        &title,
        &flow_figure::layout(flows),
    )
}

pub fn run(args: &RunArgs) -> Result<()> {
    let started = Instant::now();
    let resolved = resolve(&args.scenario)?;
    let settings = resolved.settings.clone();
    let allow = settings.output.allow_huge;
    datadao_scenario::sweep::check_run_criteria(&settings.criteria, &settings.model, &|c| {
        resolved.criterion_source(&c.name)
    })?;
    limits::check_memory(&settings.model, 1, Some(&resolved), allow)?;
    let set = OutputSet::begin(
        &settings.output.dir,
        output::RUN_FILES,
        &resolved.describe("output.dir"),
    )?;
    set.check_targets()?;
    let mut keys = vec!["simulation.total_steps"];
    if settings.output.transactions {
        keys.extend(["simulation.agents_per_entry", "output.transactions"]);
    }
    limits::check_disk(
        limits::run_bytes(&settings.model, settings.output.transactions),
        set.dir(),
        "the outputs",
        &keys,
        Some(&resolved),
        allow,
    )?;

    let mut sim = Economy::new(settings.model.clone())?;
    sim.set_stop(signals::stop_flag());
    let use_cases = settings.model.data.use_cases.clone();
    let log = settings
        .output
        .transactions
        .then_some(settings.output.direct_io);
    let wealth = settings.output.distribution;
    sim.set_measure_wealth(wealth)?;
    let mut sink = RunSink::create(&set, log, &settings.model, wealth)?;
    let bar = progress_bar(settings.model.simulation.total_steps, "steps", args.quiet);
    let dir = set.dir().to_path_buf();
    let mut last = None;
    while !sim.is_finished() {
        signals::check()?;
        last = Some(sim.step(&mut sink).map_err(signals::step_error)?);
        if let Some(e) = sink.take_error() {
            return Err(e.context(format!("writing the outputs in {}", dir.display())));
        }
        bar.inc(1);
    }
    bar.finish_and_clear();

    let series = sink.series.points();
    let passed = sink.series.passed().to_vec();
    let stats = sink.stats.clone();
    let rows = sink.transaction_rows();
    let types = sim.types();
    let flows = last
        .as_ref()
        .map(|m| FlowDiagram::new(sim.flows(), m, &types));
    let last_metrics = last;
    // The CSVs are finished (the log's last batches written) while the figures are
    // drawn.
    let (csvs, figure) = std::thread::scope(|scope| {
        let csvs = scope.spawn(|| sink.finish());
        let figure = if settings.output.plot {
            draw_figure(&set, &resolved, &series, &passed, &use_cases)
                .and_then(|()| draw_flows(&set, &resolved, flows.as_ref()))
        } else {
            Ok(())
        };
        let csvs = csvs
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("finishing the CSV files failed")));
        (csvs, figure)
    });
    csvs.with_context(|| format!("writing the outputs in {}", dir.display()))?;
    figure.with_context(|| format!("writing the outputs in {}", dir.display()))?;
    if let Some(flows) = &flows {
        let mut text = Vec::new();
        flows.write_csv(&mut text)?;
        output::write_whole(&set, output::FLOWS_FILE, &text)
            .with_context(|| format!("writing the outputs in {}", dir.display()))?;
    }
    if let (true, Some(last)) = (settings.output.agents, &last_metrics) {
        output::write_with(&set, output::AGENTS_FILE, |w| {
            datadao_scenario::agent_table::write(&sim, last, w)
        })
        .with_context(|| format!("writing the outputs in {}", dir.display()))?;
    }
    let config_text = run_config_text(&resolved);
    output::write_whole(&set, output::CONFIG_FILE, config_text.as_bytes())
        .with_context(|| format!("writing the outputs in {}", dir.display()))?;
    // The last moment a signal can stop the run; past it the set is committed whole.
    signals::check()?;
    let files = set
        .commit()
        .with_context(|| format!("writing the outputs in {}", dir.display()))?;

    if !args.quiet {
        let seconds = started.elapsed().as_secs_f64();
        let mut text = summary::render(&stats, &files, seconds, rows, &types);
        if let Some(defects) = sim.defects() {
            text.push_str(&summary::render_defects(defects));
        }
        text.push_str(&summary::render_criteria(
            &settings.criteria,
            &datadao_scenario::sweep::run_criteria(
                &settings.criteria,
                &settings.model,
                &stats.kpis(),
            ),
        ));
        emit(&text)?;
    }
    Ok(())
}
