//! Kinds of participant: an index into a run's list of types, the seed's five first
//! (their names and order are fixed), then the scenario's own (`[agents.<name>]`), kept
//! in a module of its own so that settings, agents, metrics and the transaction log can
//! all speak of a type without importing one another. The names of a run's types live in
//! its [`TypeNames`]; the seed's five also have static names.

use serde::{Deserialize, Serialize};

/// One kind of participant: a position in the run's list of types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgentType(u8);

/// The most types a run may have (the seed's five and up to eleven of a scenario's own):
/// per-type state is kept in fixed arrays of this size, so the hot loops allocate nothing.
pub const MAX_TYPES: usize = 16;

/// One value per type of a run, indexed by [`AgentType::index`]; positions past the
/// run's types stay at their default.
pub type PerTypeArray<T> = [T; MAX_TYPES];

impl AgentType {
    /// Speculators: provide liquidity once and sell their dDT.
    pub const DEGEN: AgentType = AgentType(0);
    /// Buyers of compute; not members of the dataDAO.
    pub const ORGANIZATION: AgentType = AgentType(1);
    /// Heavy compute users.
    pub const POWER: AgentType = AgentType(2);
    /// Regular compute users.
    pub const ACTIVE: AgentType = AgentType(3);
    /// Light users who also sell.
    pub const CASUAL: AgentType = AgentType(4);

    /// The seed's five types, in the canonical order used for ties, columns and legends.
    pub const SEED: [AgentType; 5] = [
        AgentType::DEGEN,
        AgentType::ORGANIZATION,
        AgentType::POWER,
        AgentType::ACTIVE,
        AgentType::CASUAL,
    ];

    /// The seed's names, in [`AgentType::SEED`] order.
    pub const SEED_NAMES: [&'static str; 5] =
        ["degen", "organization", "power", "active", "casual"];

    /// The type at position `index` of a run's list (below [`MAX_TYPES`]).
    pub const fn from_index(index: usize) -> Self {
        assert!(index < MAX_TYPES);
        AgentType(index as u8)
    }

    /// Position in the run's list of types, for per-type arrays.
    #[inline]
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// Whether it is one of the seed's five (with built-in behaviour).
    #[inline]
    pub const fn is_seed(self) -> bool {
        self.0 < 5
    }

    /// The lowercase name of a seed type; `None` for a scenario's own (whose names are in
    /// the run's [`TypeNames`]).
    pub fn seed_name(self) -> Option<&'static str> {
        Self::SEED_NAMES.get(self.index()).copied()
    }
}

/// The names of a run's types, in order: the seed's five, then the scenario's own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeNames(Vec<String>);

impl Default for TypeNames {
    /// The seed's five.
    fn default() -> Self {
        Self::seed()
    }
}

impl TypeNames {
    /// The seed's five.
    pub fn seed() -> Self {
        Self(
            AgentType::SEED_NAMES
                .iter()
                .map(|n| n.to_string())
                .collect(),
        )
    }

    /// The seed's five followed by `custom` (at most [`MAX_TYPES`] in all).
    pub fn with_custom<'a>(custom: impl IntoIterator<Item = &'a str>) -> Self {
        let mut names = Self::seed();
        names.0.extend(custom.into_iter().map(str::to_string));
        assert!(names.0.len() <= MAX_TYPES);
        names
    }

    /// How many types the run has.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never: the seed's five are always there.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The name of `kind`.
    pub fn name(&self, kind: AgentType) -> &str {
        self.0.get(kind.index()).map_or("", String::as_str)
    }

    /// Every type, in order.
    pub fn types(&self) -> impl ExactSizeIterator<Item = AgentType> + Clone {
        (0..self.0.len()).map(AgentType::from_index)
    }

    /// Every name, in order.
    pub fn names(&self) -> &[String] {
        &self.0
    }

    /// The type called `name`.
    pub fn find(&self, name: &str) -> Option<AgentType> {
        self.0
            .iter()
            .position(|n| n == name)
            .map(AgentType::from_index)
    }
}
