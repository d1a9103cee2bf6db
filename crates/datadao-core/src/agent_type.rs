//! The five kinds of participant: a plain enum that settings, agents, metrics and the
//! transaction log all name, kept in a module of its own so that none of them has to
//! import another to speak of a type.

use serde::{Deserialize, Serialize};

/// The five kinds of participant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentType {
    /// Speculators: provide liquidity once and sell their dDT.
    Degen,
    /// Buyers of compute; not members of the dataDAO.
    Organization,
    /// Heavy compute users.
    Power,
    /// Regular compute users.
    Active,
    /// Light users who also sell.
    Casual,
}

impl AgentType {
    /// Every type, in the canonical order used for ties, columns and legends.
    pub const ALL: [AgentType; 5] = [
        AgentType::Degen,
        AgentType::Organization,
        AgentType::Power,
        AgentType::Active,
        AgentType::Casual,
    ];

    /// The lowercase name used in keys, columns and the transaction log.
    pub fn name(self) -> &'static str {
        match self {
            AgentType::Degen => "degen",
            AgentType::Organization => "organization",
            AgentType::Power => "power",
            AgentType::Active => "active",
            AgentType::Casual => "casual",
        }
    }

    /// Position in [`AgentType::ALL`], for per-type arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Members hold data and may mint dDT; organizations only buy.
    pub fn is_member(self) -> bool {
        self != AgentType::Organization
    }
}
