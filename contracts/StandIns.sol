// SPDX-License-Identifier: MIT OR Apache-2.0
// Stand-ins for the contracts the Circles v2 Hub is deployed with, for datadao's proof
// of its wei-mode Circles arithmetic against the Hub's real bytecode
// (crates/datadao-evm/tests/hub.rs). @circles-sdk/abi-v2 ships the Hub's bytecode but
// not these. None of them computes an amount: each answers what the Hub asks so that
// registration, personal mints and a group mint go through, and the arithmetic under
// test stays the Hub's own. scripts/fetch-contracts compiles this file with npm solc
// (pinned there) into the cache; nothing compiled is committed.
pragma solidity 0.8.24;

/// Replaces Circles Hub v1 and a human's v1 token: every human had a v1 token (this
/// contract), and it has stopped minting, so during the bootstrap year a human registers
/// in v2 without an inviter (`registerHuman(address(0), ...)`).
contract StandInHubV1 {
    function userToToken(address) external view returns (address) {
        return address(this);
    }

    function stopped() external pure returns (bool) {
        return true;
    }

    /// Anything else a v1 hub or token is asked answers one word, 1.
    fallback() external {
        assembly {
            mstore(0, 1)
            return(0, 32)
        }
    }
}

/// Replaces the name registry: it records names, symbols and metadata digests, which
/// datadao does not model. Every call succeeds and answers `true`.
contract StandInNameRegistry {
    fallback() external {
        assembly {
            mstore(0, 1)
            return(0, 32)
        }
    }
}

/// Replaces the ERC20 lift (the factory of ERC20 wrappers of ERC1155 Circles):
/// `ensureERC20` answers its own address; nothing here wraps anything.
contract StandInLiftERC20 {
    function ensureERC20(address, uint8) external view returns (address) {
        return address(this);
    }
}

/// Replaces a group's mint policy: approves every mint and burn, as the base mint policy
/// does for collateral the group trusts (the Hub checks the trust itself).
contract StandInMintPolicy {
    function beforeMintPolicy(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        pure
        returns (bool)
    {
        return true;
    }

    function beforeBurnPolicy(address, address, uint256, bytes calldata) external pure returns (bool) {
        return true;
    }
}

/// Replaces the StandardTreasury: the vault a group mint's collateral goes to. It accepts
/// every ERC1155 transfer and keeps it (no vaults per group, no redemption).
contract StandInTreasury {
    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external pure returns (bytes4) {
        return this.onERC1155Received.selector;
    }

    function onERC1155BatchReceived(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        pure
        returns (bytes4)
    {
        return this.onERC1155BatchReceived.selector;
    }
}
