//! Named scenarios shipped with the program (`--preset NAME`, `datadao presets`).
//!
//! Each is a TOML layer applied between the built-in defaults and `--config`, kept as a
//! file in `presets/` so users can read it and copy it as a starting point.

use crate::error::ScenarioError;

/// A named scenario.
pub struct Preset {
    /// Name given to `--preset`.
    pub name: &'static str,
    /// One line for `datadao presets`.
    pub summary: &'static str,
    /// The TOML layer.
    pub toml: &'static str,
}

/// Every preset, default first.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "seed",
        summary: "the default: all data allowed, every member mints its 100 dDT, Pie 40/40/20 by type",
        toml: include_str!("../../../presets/seed.toml"),
    },
    Preset {
        name: "seed-rules",
        summary: "the seed with all five types written in the rule language: byte-identical outputs",
        toml: include_str!("../../../presets/seed-rules.toml"),
    },
    Preset {
        name: "privacy",
        summary: "a third restrict commercial use, some revoke and remove; demand follows allowed data; Pie by usage",
        toml: include_str!("../../../presets/privacy.toml"),
    },
    Preset {
        name: "original-2024",
        summary: "the first published simulation's rules, defects and all; reproduces its default run exactly",
        toml: include_str!("../../../presets/original-2024.toml"),
    },
    Preset {
        name: "original-2024-corrected",
        summary: "the same rules with the three accounting defects corrected, nothing else changed",
        toml: include_str!("../../../presets/original-2024-corrected.toml"),
    },
    Preset {
        name: "scarce-data",
        summary: "lognormal quantities, beta qualities, mint_per_weight 0.5: most members cannot mint all they want",
        toml: include_str!("../../../presets/scarce-data.toml"),
    },
    Preset {
        name: "governed",
        summary: "the seed governed by its members: a proposal a month over the whole menu, one person one vote, foresight",
        toml: include_str!("../../../presets/governed.toml"),
    },
    Preset {
        name: "plutocracy",
        summary: "the governed seed with token voting: each vote weighs the dDT its member holds",
        toml: include_str!("../../../presets/plutocracy.toml"),
    },
    Preset {
        name: "pie-farming",
        summary: "an adversary: farmers buy compute over their own data to farm a usage-paid Pie with a 25 dDT/step reward budget",
        toml: include_str!("../../../presets/pie-farming.toml"),
    },
];

/// The preset called `name`: the one place a name is looked up.
pub fn find(name: &str) -> Result<&'static Preset, ScenarioError> {
    PRESETS
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| ScenarioError::UnknownPreset {
            name: name.to_string(),
            source: None,
            known: names(),
        })
}

/// Every preset's name, default first.
pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|p| p.name).collect()
}

/// The listing printed by `datadao presets`.
pub fn listing() -> String {
    PRESETS
        .iter()
        .map(|p| format!("{:<24} {}\n", p.name, p.summary))
        .collect()
}
