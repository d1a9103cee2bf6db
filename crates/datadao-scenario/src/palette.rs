//! The one palette of every figure: each agent type's colour, and the colours of other
//! series in order, shared by `simulation_results.png`, `compare`, `sweep`, the page
//! (served in `/api/schema`) and the Python package (`datadao.palette()`), so a type
//! looks the same wherever it is drawn.

use datadao_core::agent_type::{TypeNames, MAX_TYPES};
use datadao_core::AgentType;

/// A colour as red, green, blue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `#rrggbb`, as CSS and matplotlib take it.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// Each agent type's colour by [`AgentType::index`] (matplotlib's tab10 hues for the
/// seed's five, then for a scenario's own types tab10's others and tab20's light ones).
pub const TYPE_COLORS: [Rgb; MAX_TYPES] = [
    Rgb(214, 39, 40),
    Rgb(148, 103, 189),
    Rgb(31, 119, 180),
    Rgb(44, 160, 44),
    Rgb(255, 127, 14),
    Rgb(227, 119, 194),
    Rgb(23, 190, 207),
    Rgb(140, 86, 75),
    Rgb(188, 189, 34),
    Rgb(255, 152, 150),
    Rgb(197, 176, 213),
    Rgb(174, 199, 232),
    Rgb(152, 223, 138),
    Rgb(255, 187, 120),
    Rgb(247, 182, 210),
    Rgb(158, 218, 229),
];

/// Colours of series that are not agent types (a single series, scenarios compared,
/// sweep points, use cases), in the order they are handed out.
pub const SERIES_COLORS: [Rgb; 8] = [
    Rgb(31, 119, 180),
    Rgb(214, 39, 40),
    Rgb(44, 160, 44),
    Rgb(148, 103, 189),
    Rgb(255, 127, 14),
    Rgb(23, 190, 207),
    Rgb(140, 86, 75),
    Rgb(227, 119, 194),
];

/// The flow diagram's colours of CRC, dDT and xDAI.
pub const TOKEN_COLORS: [Rgb; 3] = [Rgb(140, 86, 75), Rgb(31, 119, 180), Rgb(188, 189, 34)];

/// The flow diagram's colour for tokens a rule set created or lost.
pub const DEFECT_COLOR: Rgb = Rgb(127, 127, 127);

/// The colour of agent type `kind`.
pub fn type_color(kind: AgentType) -> Rgb {
    TYPE_COLORS[kind.index()]
}

/// Every agent type's colour by name, in type order.
pub fn type_colors(types: &TypeNames) -> Vec<(String, String)> {
    types
        .types()
        .map(|k| (types.name(k).to_string(), type_color(k).hex()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_spelled_as_css_takes_them() {
        assert_eq!(Rgb(214, 39, 40).hex(), "#d62728");
        let seed = TypeNames::seed();
        assert_eq!(
            type_colors(&seed)[0],
            ("degen".to_string(), "#d62728".to_string())
        );
        assert_eq!(type_colors(&seed).len(), AgentType::SEED.len());
    }
}
