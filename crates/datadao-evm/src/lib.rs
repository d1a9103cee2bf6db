//! # datadao-evm
//!
//! The real contracts in an in-process EVM (revm): the deployed Uniswap v2 pair's
//! bytecode, driven by the calls a client would send, to prove that datadao's wei-mode
//! arithmetic (`datadao_core::uniswap_v2`) is the chain's to the wei.
//!
//! The bytecode is not in this repository: `scripts/fetch-contracts` fetches the pinned
//! npm packages into a cache folder and writes each creation bytecode as hex
//! (`bin/NAME.hex`); [`Contracts::load`] reads them from there. Nothing is downloaded
//! here.

use std::path::{Path, PathBuf};

use revm::context::TxEnv;
use revm::context_interface::result::{ExecutionResult, Output};
use revm::context_interface::ContextTr;
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::{keccak256, Address, Bytes, TxKind, U256};
use revm::{Context, ExecuteCommitEvm, MainBuilder, MainContext};

/// Why the chain could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EvmError {
    /// The cache of `scripts/fetch-contracts` is missing or damaged.
    #[error("{path}: {problem}; run scripts/fetch-contracts (it fetches the pinned npm packages into {dir})")]
    Contracts {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
        /// The cache folder.
        dir: PathBuf,
    },
    /// A deployment failed.
    #[error("deploying {name} failed: {reason}")]
    Deploy {
        /// The contract.
        name: &'static str,
        /// The EVM's answer.
        reason: String,
    },
    /// The EVM refused a transaction (not a revert: a malformed transaction).
    #[error("the EVM refused the transaction: {0}")]
    Transaction(String),
}

/// The cache folder of `scripts/fetch-contracts`: `DATADAO_CONTRACTS_DIR`, else
/// `$XDG_CACHE_HOME/datadao/contracts`, else `~/.cache/datadao/contracts`.
pub fn contracts_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DATADAO_CONTRACTS_DIR") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("datadao").join("contracts")
}

/// The contracts for a proof's test, or `None` after saying loudly that `proof` is
/// skipped (to the process's stderr: libtest captures `eprintln!` of a passing test,
/// which would make the skip read as a bare `ok`). Under `DATADAO_REQUIRE_CONTRACTS=1`
/// (as `.ci/run` sets it) missing contracts are a failure instead.
pub fn contracts_or_skip(proof: &str) -> Option<Contracts> {
    match Contracts::load(&contracts_dir()) {
        Ok(c) => Some(c),
        Err(e) if std::env::var("DATADAO_REQUIRE_CONTRACTS").as_deref() == Ok("1") => {
            panic!("DATADAO_REQUIRE_CONTRACTS=1 but the contracts are missing: {e}")
        }
        Err(e) => {
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr().lock(),
                "\nSKIPPED {proof}: it needs the contracts: {e}\n"
            );
            None
        }
    }
}

/// Creation bytecode of the contracts the proof deploys.
#[derive(Clone, Debug)]
pub struct Contracts {
    /// `UniswapV2Pair` (`@uniswap/v2-core@1.0.1`).
    pub pair: Vec<u8>,
    /// `UniswapV2Factory` (`@uniswap/v2-core@1.0.1`): it creates the pair, and the pair
    /// asks it for `feeTo` on every mint and burn.
    pub factory: Vec<u8>,
    /// The test `ERC20` of `@uniswap/v2-core@1.0.1` (`constructor(uint totalSupply)`).
    pub erc20: Vec<u8>,
    /// The Circles v2 `Hub` (`@circles-sdk/abi-v2@0.29.2`).
    pub hub: Vec<u8>,
    /// `UniswapV2Router02` (`@uniswap/v2-periphery@1.1.0-beta.0`).
    pub router: Vec<u8>,
    /// The Hub's stand-ins, compiled from `contracts/StandIns.sol`.
    pub stand_ins: StandIns,
}

/// Creation bytecode of the stand-ins the Hub is deployed with (`contracts/StandIns.sol`,
/// which says what each replaces). None computes an amount.
#[derive(Clone, Debug)]
pub struct StandIns {
    /// Circles Hub v1 and a human's stopped v1 token.
    pub hub_v1: Vec<u8>,
    /// The name registry.
    pub name_registry: Vec<u8>,
    /// The ERC20 lift.
    pub lift_erc20: Vec<u8>,
    /// A group's mint policy.
    pub mint_policy: Vec<u8>,
    /// The StandardTreasury (a group's vault).
    pub treasury: Vec<u8>,
}

/// keccak256 of the pair's creation code: the init-code hash of every Uniswap v2
/// deployment.
pub const PAIR_INIT_CODE_HASH: &str =
    "96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f";

impl Contracts {
    /// Read the bytecode from `dir` (see [`contracts_dir`]), checking the pair's
    /// init-code hash.
    pub fn load(dir: &Path) -> Result<Contracts, EvmError> {
        let read = |name: &str| -> Result<Vec<u8>, EvmError> {
            let path = dir.join("bin").join(format!("{name}.hex"));
            let fail = |problem: String| EvmError::Contracts {
                path: path.clone(),
                problem,
                dir: dir.to_path_buf(),
            };
            let text = std::fs::read_to_string(&path).map_err(|e| fail(e.to_string()))?;
            decode_hex(text.trim()).ok_or_else(|| fail("not hex".into()))
        };
        let pair = read("UniswapV2Pair")?;
        let hash = keccak256(&pair);
        if hex(hash.as_slice()) != PAIR_INIT_CODE_HASH {
            return Err(EvmError::Contracts {
                path: dir.join("bin/UniswapV2Pair.hex"),
                problem: format!(
                    "init-code hash 0x{}, expected 0x{PAIR_INIT_CODE_HASH}",
                    hex(hash.as_slice())
                ),
                dir: dir.to_path_buf(),
            });
        }
        Ok(Contracts {
            pair,
            factory: read("UniswapV2Factory")?,
            erc20: read("ERC20")?,
            hub: read("Hub")?,
            router: read("UniswapV2Router02")?,
            stand_ins: StandIns {
                hub_v1: read("StandInHubV1")?,
                name_registry: read("StandInNameRegistry")?,
                lift_erc20: read("StandInLiftERC20")?,
                mint_policy: read("StandInMintPolicy")?,
                treasury: read("StandInTreasury")?,
            },
        })
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let text = text.strip_prefix("0x").unwrap_or(text);
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The 4-byte selector of a function signature.
pub fn selector(signature: &str) -> [u8; 4] {
    let h = keccak256(signature.as_bytes());
    [h[0], h[1], h[2], h[3]]
}

/// One ABI word.
#[derive(Clone, Copy, Debug)]
pub enum Word {
    /// A `uint256`.
    Uint(U256),
    /// An `address`.
    Address(Address),
}

/// Calldata: the selector of `signature`, then its static arguments, then `tail` (the
/// head and body of a trailing `bytes` argument, when there is one).
pub fn calldata(signature: &str, args: &[Word], tail: &[u8]) -> Bytes {
    let mut out = selector(signature).to_vec();
    for a in args {
        match a {
            Word::Uint(v) => out.extend_from_slice(&v.to_be_bytes::<32>()),
            Word::Address(addr) => {
                out.extend_from_slice(&[0u8; 12]);
                out.extend_from_slice(addr.as_slice());
            }
        }
    }
    out.extend_from_slice(tail);
    Bytes::from(out)
}

/// The `n`-th 32-byte word of a call's output as a number.
pub fn word(output: &[u8], n: usize) -> Option<U256> {
    let w = output.get(n * 32..n * 32 + 32)?;
    Some(U256::from_be_slice(w))
}

/// The reason of a reverted call: the `Error(string)` message, or the raw bytes in hex.
pub fn revert_reason(output: &[u8]) -> String {
    if output.len() >= 68 && output[..4] == selector("Error(string)") {
        let len = word(&output[4..], 1).map_or(0, |l| l.to::<usize>());
        if let Some(text) = output.get(68..68 + len) {
            return String::from_utf8_lossy(text).into_owned();
        }
    }
    format!("0x{}", hex(output))
}

type Evm = revm::MainnetEvm<revm::handler::MainnetContext<CacheDB<EmptyDB>>>;

/// An in-memory chain: accounts, contracts, and calls committed one by one.
pub struct Chain {
    evm: Evm,
}

/// What a call did: returned its output, or reverted with a reason.
pub type CallResult = Result<Bytes, String>;

impl Default for Chain {
    fn default() -> Self {
        Chain::new()
    }
}

impl Chain {
    /// An empty chain of the latest hard fork, gas free.
    pub fn new() -> Chain {
        let evm = Context::mainnet()
            .with_db(CacheDB::<EmptyDB>::default())
            .modify_cfg_chained(|cfg| cfg.disable_nonce_check = true)
            .build_mainnet();
        Chain { evm }
    }

    fn transact(
        &mut self,
        caller: Address,
        kind: TxKind,
        data: Bytes,
    ) -> Result<ExecutionResult, EvmError> {
        let tx = TxEnv {
            caller,
            kind,
            data,
            gas_limit: 16_000_000,
            ..Default::default()
        };
        self.evm
            .transact_commit(tx)
            .map_err(|e| EvmError::Transaction(format!("{e:?}")))
    }

    /// Deploy `code` with ABI-encoded constructor arguments from `caller`.
    pub fn deploy(
        &mut self,
        name: &'static str,
        caller: Address,
        code: &[u8],
        args: &[Word],
    ) -> Result<Address, EvmError> {
        self.deploy_with_tail(name, caller, code, args, &[])
    }

    /// As [`Chain::deploy`], with the encoded dynamic arguments after the static ones.
    pub fn deploy_with_tail(
        &mut self,
        name: &'static str,
        caller: Address,
        code: &[u8],
        args: &[Word],
        tail: &[u8],
    ) -> Result<Address, EvmError> {
        let mut data = code.to_vec();
        data.extend_from_slice(&calldata("x()", args, tail)[4..]);
        match self.transact(caller, TxKind::Create, Bytes::from(data))? {
            ExecutionResult::Success {
                output: Output::Create(_, Some(address)),
                ..
            } => Ok(address),
            other => Err(EvmError::Deploy {
                name,
                reason: format!("{other:?}"),
            }),
        }
    }

    /// The whole state, to go back to ([`Chain::restore`]): a client's transfer and
    /// call are one transaction through a router, undone together when the call
    /// reverts.
    pub fn snapshot(&self) -> CacheDB<EmptyDB> {
        self.evm.ctx.db_ref().clone()
    }

    /// Go back to a [`Chain::snapshot`].
    pub fn restore(&mut self, state: CacheDB<EmptyDB>) {
        *self.evm.ctx.db_mut() = state;
    }

    /// Set the block's timestamp for the calls that follow.
    pub fn set_time(&mut self, timestamp: u64) {
        self.evm.ctx.block.timestamp = U256::from(timestamp);
    }

    /// Call `to` from `caller`, committing what it changed.
    pub fn call(
        &mut self,
        caller: Address,
        to: Address,
        data: Bytes,
    ) -> Result<CallResult, EvmError> {
        Ok(match self.transact(caller, TxKind::Call(to), data)? {
            ExecutionResult::Success { output, .. } => Ok(output.into_data()),
            ExecutionResult::Revert { output, .. } => Err(revert_reason(&output)),
            ExecutionResult::Halt { reason, .. } => Err(format!("halt: {reason:?}")),
        })
    }
}

/// The real pair between two test tokens, and the account that trades on it.
pub struct PairOnChain {
    /// The chain.
    pub chain: Chain,
    /// The pair.
    pub pair: Address,
    /// token0 and token1, in the pair's order.
    pub tokens: [Address; 2],
    /// The trader: holds both tokens' whole supply and every LP token.
    pub trader: Address,
    /// The real factory.
    pub factory: Address,
}

impl PairOnChain {
    /// Deploy two tokens of `supply` each to the trader, the real factory, and the pair
    /// through `UniswapV2Factory.createPair` (CREATE2 of the pair's init code; its
    /// protocol fee `feeTo` stays off).
    pub fn deploy(contracts: &Contracts, supply: U256) -> Result<PairOnChain, EvmError> {
        let mut chain = Chain::new();
        let trader = Address::with_last_byte(0xaa);
        let setter = Address::with_last_byte(0xfe);
        let a = chain.deploy("ERC20", trader, &contracts.erc20, &[Word::Uint(supply)])?;
        let b = chain.deploy("ERC20", trader, &contracts.erc20, &[Word::Uint(supply)])?;
        let tokens = if a < b { [a, b] } else { [b, a] };
        let factory = chain.deploy(
            "UniswapV2Factory",
            setter,
            &contracts.factory,
            &[Word::Address(setter)],
        )?;
        let create = calldata(
            "createPair(address,address)",
            &[Word::Address(tokens[0]), Word::Address(tokens[1])],
            &[],
        );
        let out = chain
            .call(trader, factory, create)?
            .map_err(|reason| EvmError::Deploy {
                name: "UniswapV2Factory.createPair",
                reason,
            })?;
        let word = out.get(12..32).ok_or_else(|| EvmError::Deploy {
            name: "UniswapV2Factory.createPair",
            reason: "no pair address returned".into(),
        })?;
        let pair = Address::from_slice(word);
        Ok(PairOnChain {
            chain,
            pair,
            tokens,
            trader,
            factory,
        })
    }

    /// Deploy the real `UniswapV2Router02` over this pair's factory (its WETH is a
    /// stand-in address it never calls here) and let it move the trader's tokens and LP
    /// tokens (`approve` of everything).
    pub fn deploy_router(&mut self, contracts: &Contracts) -> Result<Address, EvmError> {
        let weth = Address::with_last_byte(0xee);
        let router = self.chain.deploy(
            "UniswapV2Router02",
            self.trader,
            &contracts.router,
            &[Word::Address(self.factory), Word::Address(weth)],
        )?;
        for token in [self.tokens[0], self.tokens[1], self.pair] {
            let data = calldata(
                "approve(address,uint256)",
                &[Word::Address(router), Word::Uint(U256::MAX)],
                &[],
            );
            self.chain
                .call(self.trader, token, data)?
                .map_err(|reason| EvmError::Deploy {
                    name: "approve",
                    reason,
                })?;
        }
        Ok(router)
    }

    /// The router's `addLiquidity(token0, token1, desired0, desired1, min0, min1, trader,
    /// deadline)`: (amount0, amount1, liquidity), or the revert.
    pub fn router_add_liquidity(
        &mut self,
        router: Address,
        desired: [U256; 2],
        min: [U256; 2],
    ) -> Result<Result<[U256; 3], String>, EvmError> {
        let data = calldata(
            "addLiquidity(address,address,uint256,uint256,uint256,uint256,address,uint256)",
            &[
                Word::Address(self.tokens[0]),
                Word::Address(self.tokens[1]),
                Word::Uint(desired[0]),
                Word::Uint(desired[1]),
                Word::Uint(min[0]),
                Word::Uint(min[1]),
                Word::Address(self.trader),
                Word::Uint(U256::MAX),
            ],
            &[],
        );
        Ok(self
            .chain
            .call(self.trader, router, data)?
            .map(|out| [0, 1, 2].map(|i| word(&out, i).unwrap_or_default())))
    }

    /// The router's `swapExactTokensForTokens(amount, min_out, [in, out], trader,
    /// deadline)` (`exact_in`) or `swapTokensForExactTokens(amount, max_in, ...)`:
    /// (amount in, amount out), or the revert.
    pub fn router_swap(
        &mut self,
        router: Address,
        exact_in: bool,
        amount: U256,
        limit: U256,
        zero_for_one: bool,
    ) -> Result<Result<[U256; 2], String>, EvmError> {
        let path = if zero_for_one {
            [self.tokens[0], self.tokens[1]]
        } else {
            [self.tokens[1], self.tokens[0]]
        };
        let signature = if exact_in {
            "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)"
        } else {
            "swapTokensForExactTokens(uint256,uint256,address[],address,uint256)"
        };
        let mut tail = U256::from(2u8).to_be_bytes::<32>().to_vec();
        for a in path {
            tail.extend_from_slice(&[0u8; 12]);
            tail.extend_from_slice(a.as_slice());
        }
        let data = calldata(
            signature,
            &[
                Word::Uint(amount),
                Word::Uint(limit),
                Word::Uint(U256::from(5u64 * 32)),
                Word::Address(self.trader),
                Word::Uint(U256::MAX),
            ],
            &tail,
        );
        // The output: the `amounts` array (offset, length 2, in, out).
        Ok(self
            .chain
            .call(self.trader, router, data)?
            .map(|out| [2, 3].map(|i| word(&out, i).unwrap_or_default())))
    }

    fn transfer(
        &mut self,
        token: Address,
        to: Address,
        amount: U256,
    ) -> Result<CallResult, EvmError> {
        let data = calldata(
            "transfer(address,uint256)",
            &[Word::Address(to), Word::Uint(amount)],
            &[],
        );
        self.chain.call(self.trader, token, data)
    }

    /// `getReserves()`: (reserve0, reserve1).
    pub fn reserves(&mut self) -> Result<(U256, U256), EvmError> {
        let out = self
            .chain
            .call(self.trader, self.pair, calldata("getReserves()", &[], &[]))?
            .map_err(EvmError::Transaction)?;
        Ok((
            word(&out, 0).unwrap_or_default(),
            word(&out, 1).unwrap_or_default(),
        ))
    }

    /// `totalSupply()` of the LP token.
    pub fn total_supply(&mut self) -> Result<U256, EvmError> {
        let out = self
            .chain
            .call(self.trader, self.pair, calldata("totalSupply()", &[], &[]))?
            .map_err(EvmError::Transaction)?;
        Ok(word(&out, 0).unwrap_or_default())
    }

    /// Send `amount0` and `amount1` to the pair and call `mint(trader)`: the liquidity
    /// minted, or the revert.
    pub fn mint(&mut self, amount0: U256, amount1: U256) -> Result<Result<U256, String>, EvmError> {
        let before = self.chain.snapshot();
        let r = self.mint_steps(amount0, amount1)?;
        if r.is_err() {
            self.chain.restore(before);
        }
        Ok(r)
    }

    fn mint_steps(
        &mut self,
        amount0: U256,
        amount1: U256,
    ) -> Result<Result<U256, String>, EvmError> {
        let [t0, t1] = self.tokens;
        if let Err(e) = self.transfer(t0, self.pair, amount0)? {
            return Ok(Err(e));
        }
        if let Err(e) = self.transfer(t1, self.pair, amount1)? {
            return Ok(Err(e));
        }
        let data = calldata("mint(address)", &[Word::Address(self.trader)], &[]);
        Ok(self
            .chain
            .call(self.trader, self.pair, data)?
            .map(|out| word(&out, 0).unwrap_or_default()))
    }

    /// Send `liquidity` LP tokens to the pair and call `burn(trader)`: the amounts paid.
    pub fn burn(&mut self, liquidity: U256) -> Result<Result<(U256, U256), String>, EvmError> {
        let before = self.chain.snapshot();
        let r = self.burn_steps(liquidity)?;
        if r.is_err() {
            self.chain.restore(before);
        }
        Ok(r)
    }

    fn burn_steps(&mut self, liquidity: U256) -> Result<Result<(U256, U256), String>, EvmError> {
        if let Err(e) = self.transfer(self.pair, self.pair, liquidity)? {
            return Ok(Err(e));
        }
        let data = calldata("burn(address)", &[Word::Address(self.trader)], &[]);
        Ok(self.chain.call(self.trader, self.pair, data)?.map(|out| {
            (
                word(&out, 0).unwrap_or_default(),
                word(&out, 1).unwrap_or_default(),
            )
        }))
    }

    /// Send `amount_in` of token0 (`zero_for_one`) or token1 to the pair and call
    /// `swap` for `amount_out` of the other, as the router's `_swap` does.
    pub fn swap(
        &mut self,
        amount_in: U256,
        amount_out: U256,
        zero_for_one: bool,
    ) -> Result<CallResult, EvmError> {
        let before = self.chain.snapshot();
        let r = self.swap_steps(amount_in, amount_out, zero_for_one)?;
        if r.is_err() {
            self.chain.restore(before);
        }
        Ok(r)
    }

    fn swap_steps(
        &mut self,
        amount_in: U256,
        amount_out: U256,
        zero_for_one: bool,
    ) -> Result<CallResult, EvmError> {
        let token_in = self.tokens[usize::from(!zero_for_one)];
        if let Err(e) = self.transfer(token_in, self.pair, amount_in)? {
            return Ok(Err(e));
        }
        let (out0, out1) = if zero_for_one {
            (U256::ZERO, amount_out)
        } else {
            (amount_out, U256::ZERO)
        };
        // swap(uint amount0Out, uint amount1Out, address to, bytes data) with empty data.
        let mut tail = U256::from(0x80u32).to_be_bytes::<32>().to_vec();
        tail.extend_from_slice(&[0u8; 32]);
        let data = calldata(
            "swap(uint256,uint256,address,bytes)",
            &[
                Word::Uint(out0),
                Word::Uint(out1),
                Word::Address(self.trader),
            ],
            &tail,
        );
        self.chain.call(self.trader, self.pair, data)
    }
}

/// The Circles v2 Hub, deployed with stand-in addresses for the contracts its
/// constructor only records (v1 hub, name registry, migration, ERC20 lift, standard
/// treasury): enough for its pure demurrage arithmetic, which calls none of them.
pub struct HubOnChain {
    /// The chain.
    pub chain: Chain,
    /// The Hub.
    pub hub: Address,
    /// Who calls it.
    pub caller: Address,
    /// The stand-in treasury (`StandInTreasury` of `contracts/StandIns.sol`): where a
    /// group mint's collateral goes.
    pub treasury: Address,
    /// The stand-in mint policy of groups (`StandInMintPolicy`).
    pub mint_policy: Address,
}

/// ABI encoding of a string argument's body: its length and its bytes, padded.
fn abi_string(text: &str) -> Vec<u8> {
    let mut out = U256::from(text.len()).to_be_bytes::<32>().to_vec();
    out.extend_from_slice(text.as_bytes());
    out.resize(32 + text.len().div_ceil(32) * 32, 0);
    out
}

/// `inflationDayZero` of the deployed Hub: midnight before Circles v1's deployment
/// (15 October 2020), as `Demurrage.sol` prescribes for production.
pub const INFLATION_DAY_ZERO: u64 = 1_602_720_000;

impl HubOnChain {
    /// Deploy the stand-ins of `contracts/StandIns.sol` (compiled by
    /// `scripts/fetch-contracts`), then the Hub over them.
    pub fn deploy(contracts: &Contracts) -> Result<HubOnChain, EvmError> {
        let mut chain = Chain::new();
        chain.set_time(INFLATION_DAY_ZERO + 86_400);
        let caller = Address::with_last_byte(0xcc);
        let s = &contracts.stand_ins;
        let hub_v1 = chain.deploy("StandInHubV1", caller, &s.hub_v1, &[])?;
        let names = chain.deploy("StandInNameRegistry", caller, &s.name_registry, &[])?;
        let lift = chain.deploy("StandInLiftERC20", caller, &s.lift_erc20, &[])?;
        let treasury = chain.deploy("StandInTreasury", caller, &s.treasury, &[])?;
        let mint_policy = chain.deploy("StandInMintPolicy", caller, &s.mint_policy, &[])?;
        // Migration is only recorded: the Hub calls it for v1 balances, never here.
        let migration = Address::with_last_byte(3);
        let args = [
            Word::Address(hub_v1),
            Word::Address(names),
            Word::Address(migration),
            Word::Address(lift),
            Word::Address(treasury),
            Word::Uint(U256::from(INFLATION_DAY_ZERO)),
            Word::Uint(U256::from(365u64 * 86_400)),
            // The gateway URL, a string: its offset after the eight head words.
            Word::Uint(U256::from(8u64 * 32)),
        ];
        // The empty string: its length word, zero.
        let tail = [0u8; 32];
        let hub = chain.deploy_with_tail("Hub", caller, &contracts.hub, &args, &tail)?;
        Ok(HubOnChain {
            chain,
            hub,
            caller,
            treasury,
            mint_policy,
        })
    }

    /// `convertInflationaryToDemurrageValue(value, day)`: the value, or the revert.
    pub fn demurrage_value(&mut self, value: U256, day: u64) -> Result<CallResult, EvmError> {
        let data = calldata(
            "convertInflationaryToDemurrageValue(uint256,uint64)",
            &[Word::Uint(value), Word::Uint(U256::from(day))],
            &[],
        );
        self.chain.call(self.caller, self.hub, data)
    }

    /// `registerHuman(address(0), 0)` from `human` at `now`: a v1 human whose v1 token
    /// stopped registers without an inviter during the bootstrap year.
    pub fn register_human(&mut self, human: Address, now: u64) -> Result<CallResult, EvmError> {
        self.chain.set_time(now);
        let data = calldata(
            "registerHuman(address,bytes32)",
            &[Word::Address(Address::ZERO), Word::Uint(U256::ZERO)],
            &[],
        );
        self.chain.call(human, self.hub, data)
    }

    /// `personalMint()` from `human` at `now`.
    pub fn personal_mint(&mut self, human: Address, now: u64) -> Result<CallResult, EvmError> {
        self.chain.set_time(now);
        self.chain
            .call(human, self.hub, calldata("personalMint()", &[], &[]))
    }

    /// `calculateIssuance(human)` at `now`: (issuance, start, end), or the revert.
    pub fn issuance(
        &mut self,
        human: Address,
        now: u64,
    ) -> Result<Result<[U256; 3], String>, EvmError> {
        self.chain.set_time(now);
        let data = calldata("calculateIssuance(address)", &[Word::Address(human)], &[]);
        Ok(self
            .chain
            .call(self.caller, self.hub, data)?
            .map(|out| [0, 1, 2].map(|i| word(&out, i).unwrap_or_default())))
    }

    /// `balanceOf(account, toTokenId(avatar))` at `now` (demurraged to its day).
    pub fn balance(
        &mut self,
        account: Address,
        avatar: Address,
        now: u64,
    ) -> Result<CallResult, EvmError> {
        self.chain.set_time(now);
        let id = U256::from_be_slice(avatar.as_slice());
        let data = calldata(
            "balanceOf(address,uint256)",
            &[Word::Address(account), Word::Uint(id)],
            &[],
        );
        self.chain.call(self.caller, self.hub, data)
    }

    /// `registerCustomGroup(policy, treasury, name, symbol, 0)` from `group` at `now`,
    /// with the stand-in mint policy and treasury.
    pub fn register_group(
        &mut self,
        group: Address,
        now: u64,
        name: &str,
        symbol: &str,
    ) -> Result<CallResult, EvmError> {
        self.chain.set_time(now);
        let name_body = abi_string(name);
        let mut tail = name_body.clone();
        tail.extend_from_slice(&abi_string(symbol));
        let data = calldata(
            "registerCustomGroup(address,address,string,string,bytes32)",
            &[
                Word::Address(self.mint_policy),
                Word::Address(self.treasury),
                Word::Uint(U256::from(5u64 * 32)),
                Word::Uint(U256::from(5 * 32 + name_body.len())),
                Word::Uint(U256::ZERO),
            ],
            &tail,
        );
        self.chain.call(group, self.hub, data)
    }

    /// `trust(trustee, uint96::MAX)` from `truster` at `now`.
    pub fn trust(
        &mut self,
        truster: Address,
        trustee: Address,
        now: u64,
    ) -> Result<CallResult, EvmError> {
        self.chain.set_time(now);
        let forever = (U256::from(1u8) << 96) - U256::from(1u8);
        let data = calldata(
            "trust(address,uint96)",
            &[Word::Address(trustee), Word::Uint(forever)],
            &[],
        );
        self.chain.call(truster, self.hub, data)
    }

    /// `groupMint(group, [collateral], [amount], "")` from `sender` at `now`: the group's
    /// tokens minted 1:1 against `amount` of `collateral`'s personal CRC, which go to the
    /// group's treasury.
    pub fn group_mint(
        &mut self,
        sender: Address,
        group: Address,
        collateral: Address,
        amount: U256,
        now: u64,
    ) -> Result<CallResult, EvmError> {
        self.chain.set_time(now);
        let mut tail = Vec::new();
        for w in [U256::from(1u8), U256::from_be_slice(collateral.as_slice())] {
            tail.extend_from_slice(&w.to_be_bytes::<32>());
        }
        for w in [U256::from(1u8), amount, U256::ZERO] {
            tail.extend_from_slice(&w.to_be_bytes::<32>());
        }
        let data = calldata(
            "groupMint(address,address[],uint256[],bytes)",
            &[
                Word::Address(group),
                Word::Uint(U256::from(4u64 * 32)),
                Word::Uint(U256::from(6u64 * 32)),
                Word::Uint(U256::from(8u64 * 32)),
            ],
            &tail,
        );
        self.chain.call(sender, self.hub, data)
    }

    /// `day(timestamp)`.
    pub fn day(&mut self, timestamp: u64) -> Result<CallResult, EvmError> {
        let data = calldata("day(uint256)", &[Word::Uint(U256::from(timestamp))], &[]);
        self.chain.call(self.caller, self.hub, data)
    }
}
