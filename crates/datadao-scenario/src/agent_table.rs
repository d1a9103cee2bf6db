//! `agents.csv`: every agent at the end of a run, one row each, with its wealth at the
//! final price. Written from the core's [`AgentRow`]s as they are visited, in blocks, so
//! a million agents never sit in memory as text.

use std::io::Write;

use datadao_core::agent_type::TypeNames;
use datadao_core::numbers::push_f64;
use datadao_core::{AgentRow, Economy, StepMetrics};

/// The columns of `agents.csv`.
pub const COLUMNS: &str =
    "agent_id,type,joined_step,ddt,xdai,lp,crc,crc_locked,weight,pie_received_total,wealth_xdai";

/// The column a run with `leave` events adds: the step each agent left at, empty for
/// those still present.
pub const LEFT_COLUMN: &str = "left_step";

/// Bytes a row takes at most, for the disk estimate (11 numbers of at most 24 bytes,
/// the type and the commas).
pub const ROW_BYTES: u64 = 300;

/// One row, in the CSVs' spelling; `wealth_xdai` is empty without a price, and
/// `left_step` (written when `leaves`) for an agent still present.
pub fn push_row(
    out: &mut Vec<u8>,
    row: &AgentRow,
    last: &StepMetrics,
    types: &TypeNames,
    leaves: bool,
) {
    out.extend_from_slice(row.agent_id.to_string().as_bytes());
    out.push(b',');
    out.extend_from_slice(types.name(row.kind).as_bytes());
    out.push(b',');
    out.extend_from_slice(row.joined_step.to_string().as_bytes());
    for v in [
        row.ddt,
        row.xdai,
        row.lp,
        row.crc,
        row.crc_locked,
        row.weight,
        row.pie_received_total,
    ] {
        out.push(b',');
        push_f64(out, v);
    }
    out.push(b',');
    if let Some(w) = row.wealth_xdai(
        last.price,
        last.lp_ddt_reserve,
        last.lp_xdai_reserve,
        last.lp_supply,
    ) {
        push_f64(out, w);
    }
    if leaves {
        out.push(b',');
        if let Some(step) = row.left_step {
            out.extend_from_slice(step.to_string().as_bytes());
        }
    }
    out.push(b'\n');
}

/// Write `agents.csv` for `economy`, whose last step was `last`.
pub fn write<W: Write + ?Sized>(
    economy: &Economy,
    last: &StepMetrics,
    out: &mut W,
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1 << 17);
    buf.extend_from_slice(COLUMNS.as_bytes());
    let leaves = economy.agents_may_leave();
    if leaves {
        buf.push(b',');
        buf.extend_from_slice(LEFT_COLUMN.as_bytes());
    }
    buf.push(b'\n');
    let mut result = Ok(());
    let types = economy.types();
    economy.agent_rows(|row| {
        if result.is_err() {
            return;
        }
        push_row(&mut buf, &row, last, &types, leaves);
        if buf.len() >= 1 << 16 {
            result = out.write_all(&buf);
            buf.clear();
        }
    });
    result?;
    out.write_all(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datadao_core::{Config, NullObserver};

    /// Every agent once, with the balances the run's means say, and wealth at the final
    /// price.
    #[test]
    fn every_agent_once_and_balances_that_add_up() {
        let mut c = Config::default();
        c.simulation.total_steps = 40;
        let mut e = Economy::new(c).unwrap();
        let mut last = None;
        while !e.is_finished() {
            last = Some(e.step(&mut NullObserver).unwrap());
        }
        let last = last.unwrap();
        let mut out = Vec::new();
        write(&e, &last, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let rows: Vec<Vec<&str>> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect())
            .collect();
        assert_eq!(text.lines().next().unwrap(), COLUMNS);
        assert_eq!(rows.len() as u64, last.agents_total());
        let ddt: f64 = rows.iter().map(|r| r[3].parse::<f64>().unwrap()).sum();
        let held = last.ddt_supply - last.lp_ddt_reserve - last.pie_ddt;
        assert!((ddt - held).abs() < 1e-6 * held, "{ddt} vs {held}");
        // Pie receipts add up to what the Pie paid out.
        let received: f64 = rows.iter().map(|r| r[9].parse::<f64>().unwrap()).sum();
        assert!(received > 0.0);
        let price = last.price.unwrap();
        for r in &rows {
            let (ddt, xdai, lp): (f64, f64, f64) = (
                r[3].parse().unwrap(),
                r[4].parse().unwrap(),
                r[5].parse().unwrap(),
            );
            let wealth: f64 = r[10].parse().unwrap();
            if lp == 0.0 {
                assert!((wealth - (xdai + ddt * price)).abs() <= 1e-12 * wealth.abs().max(1.0));
            }
        }
    }
}
