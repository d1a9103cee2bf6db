//! The row format of `transaction_history.csv`, spelled fast.
//!
//! Numbers are spelled as [`push_f64`] spells them (shortest round trip), but most are
//! looked up rather than spelled: the same values recur (a group's Pie share, the price a
//! sale left, an agent's unchanged balance). Rows are assembled with fixed-size copies;
//! see `Cursor`.

use datadao_core::agent_type::{TypeNames, MAX_TYPES};
use datadao_core::config::PiePolicy;
use datadao_core::{Action, Detail, Transaction};

use datadao_core::numbers::push_f64;

/// Columns of the transaction log.
pub const TRANSACTION_COLUMNS: &str =
    "step,seq,agent_id,agent_type,action,ddt,xdai,lp,ddt_balance,xdai_balance,price,detail";

/// A number and its spelling as [`push_f64`] writes it: 32 bytes, of which the first
/// `len` count, so it is copied with one fixed-size move.
#[derive(Clone, Copy)]
struct Spelled {
    bits: u64,
    len: u8,
    text: [u8; 32],
}

impl Spelled {
    /// Holds 0.0, which is never looked up (zero is spelled `0` directly).
    const EMPTY: Self = Self {
        bits: 0,
        len: 0,
        text: [0; 32],
    };
}

/// Remembers how recent numbers were spelled, so that most numbers are copied rather
/// than spelled: each column looks where its repeats come from (see [`Column`]).
struct NumberCaches {
    /// dDT amounts and balances, by a hash of the number: the same few recur all
    /// through a step (each group's Pie share, received then sold).
    table: Box<[Spelled; SLOTS]>,
    /// Each column's previous number.
    previous: [Spelled; 6],
    /// Each agent's last xDAI balance, by agent id modulo the table's size: an agent's
    /// xDAI does not change between its sell and its next Pie share.
    balances: Box<[Spelled; BALANCE_SLOTS]>,
}

const SLOTS: usize = 256;
/// Agents whose xDAI balances are remembered at once (more share slots).
const BALANCE_SLOTS: usize = 8192;

impl NumberCaches {
    fn new() -> Self {
        Self {
            table: Box::new([Spelled::EMPTY; SLOTS]),
            previous: [Spelled::EMPTY; 6],
            balances: Box::new([Spelled::EMPTY; BALANCE_SLOTS]),
        }
    }

    /// The slot a number `v` of `column` in a row of agent `agent` is looked up in.
    #[inline(always)]
    fn slot(&mut self, column: Column, agent: u32, v: f64) -> &mut Spelled {
        match column {
            Column::Ddt | Column::DdtBalance => {
                let hash = v.to_bits().wrapping_mul(0x9E37_79B9_7F4A_7C15);
                &mut self.table[(hash >> (64 - SLOTS.ilog2())) as usize]
            }
            Column::XdaiBalance => &mut self.balances[agent as usize % BALANCE_SLOTS],
            _ => &mut self.previous[column as usize],
        }
    }
}

/// Where a column's numbers are looked up. Measured on the default run: dDT amounts and
/// balances repeat across rows (a table finds 90%); the price, when it repeats, repeats
/// the row before (a sell, then the next agent's Pie share at the same price); an xDAI
/// balance repeats the same agent's last one; xDAI amounts are nearly all new.
#[derive(Clone, Copy)]
enum Column {
    Ddt = 0,
    Xdai,
    Lp,
    DdtBalance,
    XdaiBalance,
    Price,
}

/// A formatted batch: the first `len` bytes of `buf`. The storage is passed back and
/// forth between writer and formatters at its full size, so it is never zeroed again.
pub struct Formatted {
    buf: Vec<u8>,
    len: usize,
}

impl Formatted {
    /// The rows' bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The storage, to format the next batch into.
    pub fn into_buffer(self) -> Vec<u8> {
        self.buf
    }
}

/// A name of at most 16 bytes, padded to 16 so it is copied in one move.
#[derive(Clone, Copy, Default)]
struct Padded {
    len: usize,
    text: [u8; 16],
}

impl Padded {
    /// # Panics
    /// If `name` is longer than 16 bytes: names are the program's own, and a test
    /// spells every one.
    const fn new(name: &str) -> Self {
        let bytes = name.as_bytes();
        let mut text = [0u8; 16];
        let mut i = 0;
        while i < bytes.len() {
            text[i] = bytes[i];
            i += 1;
        }
        Self {
            len: bytes.len(),
            text,
        }
    }
}

/// Longest row apart from a slow-path detail: three integers, two names, six numbers,
/// a Pie policy, commas and the newline.
const ROW_MAX: usize = 3 * 20 + 2 * 24 + 6 * 32 + 16 + 16;

/// A Pie policy's name in the detail column.
fn policy_name(policy: PiePolicy) -> Padded {
    const GROUPS: Padded = Padded::new("groups");
    const USAGE: Padded = Padded::new("usage");
    const WEIGHT: Padded = Padded::new("weight");
    match policy {
        PiePolicy::Groups => GROUPS,
        PiePolicy::Usage => USAGE,
        PiePolicy::Weight => WEIGHT,
    }
}

/// One row's room in the output and how far the row has got: a local of its own, so
/// the position stays in a register. Fixed-size pieces are copied whole (a spelled
/// number's 32 bytes, a name's 16) and the position advanced by their true length: a
/// few vector moves a row where appending slices would call `memcpy` a dozen times.
struct Cursor<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Cursor<'_> {
    fn byte(&mut self, b: u8) {
        self.out[self.at] = b;
        self.at += 1;
    }

    /// Append the first `len` of `N` bytes, copying all `N`.
    fn fixed<const N: usize>(&mut self, s: &[u8; N], len: usize) {
        self.out[self.at..self.at + N].copy_from_slice(s);
        self.at += len;
    }

    /// Append an integer in decimal, spelled by `itoa`; room for 32 bytes must be left.
    fn integer(&mut self, v: u64) {
        let mut b = itoa::Buffer::new();
        let s = b.format(v).as_bytes();
        copy_short(s, &mut self.out[self.at..self.at + 32]);
        self.at += s.len();
    }

    /// Append a number of `column` in a row of agent `agent` as [`push_f64`] spells it:
    /// copied from its cache slot if the slot holds it, else spelled and remembered.
    /// Inlined, because it runs six times a row.
    #[inline(always)]
    fn number(&mut self, caches: &mut NumberCaches, agent: u32, column: Column, v: f64) {
        if v == 0.0 {
            return self.byte(b'0');
        }
        if !v.is_finite() {
            return self.fixed(b"NaN\0", 3);
        }
        let slot = caches.slot(column, agent, v);
        let out = &mut self.out[self.at..self.at + 32];
        if slot.bits == v.to_bits() {
            out.copy_from_slice(&slot.text);
            self.at += usize::from(slot.len);
        } else {
            self.at += spell_new(v, out, slot);
        }
    }
}

/// Spell finite, non-zero `v` into `out` and remember it in `slot`; returns its length.
/// Spelled straight into the row and copied into the slot from there: a slot read back
/// right after being written would stall on the store.
#[inline(never)]
fn spell_new(v: f64, out: &mut [u8], slot: &mut Spelled) -> usize {
    let mut b = zmij::Buffer::new();
    let s = b.format_finite(v).as_bytes();
    copy_short(s, out);
    copy_short(s, &mut slot.text);
    slot.len = s.len() as u8;
    slot.bits = v.to_bits();
    s.len()
}

/// Copy `s` (at most 32 bytes) to the start of `out` (at least 32) with fixed-size
/// moves: two overlapping ones of 16 or 8 bytes, where `copy_from_slice` of a length
/// known only at run time is a call to `memcpy`, twice for every new number.
fn copy_short(s: &[u8], out: &mut [u8]) {
    let n = s.len();
    if n >= 16 {
        out[..16].copy_from_slice(&s[..16]);
        out[n - 16..n].copy_from_slice(&s[n - 16..]);
    } else if n >= 8 {
        out[..8].copy_from_slice(&s[..8]);
        out[n - 8..n].copy_from_slice(&s[n - 8..]);
    } else {
        out[..n].copy_from_slice(s);
    }
}

/// Formats rows into a byte buffer, each through a `Cursor`. Each formatter thread has
/// its own: the caches make it fast, and never change what it writes.
pub struct RowWriter {
    caches: NumberCaches,
    /// The previous row's step and sequence number, and their spellings as the 16 bytes
    /// of an integer, so that counting up happens in a register: a byte stored and then
    /// read back as part of a wider load stalls the pipeline.
    step: (u32, usize, u128),
    seq: (u64, usize, u128),
    /// Agent type and action names padded to 16 bytes, indexed by type and discriminant.
    type_names: [Padded; MAX_TYPES],
    action_names: [Padded; Action::ALL.len()],
    use_cases: Vec<String>,
    buf: Vec<u8>,
    len: usize,
}

impl RowWriter {
    /// A writer for a run of the seed's five types with these use cases (named in rows'
    /// details).
    pub fn new(use_cases: Vec<String>) -> Self {
        Self::with_types(use_cases, &TypeNames::seed())
    }

    /// A writer for a run of these types (names of at most 16 bytes, as validation
    /// allows; longer ones are cut) and use cases.
    pub fn with_types(use_cases: Vec<String>, types: &TypeNames) -> Self {
        let mut type_names = [Padded::default(); MAX_TYPES];
        for (slot, name) in type_names.iter_mut().zip(types.names()) {
            let mut end = name.len().min(16);
            while !name.is_char_boundary(end) {
                end -= 1;
            }
            *slot = Padded::new(&name[..end]);
        }
        let mut action_names = [Padded::default(); Action::ALL.len()];
        for a in Action::ALL {
            action_names[a as usize] = Padded::new(a.name());
        }
        Self {
            caches: NumberCaches::new(),
            step: (0, 1, u128::from(b'0')),
            seq: (0, 0, 0),
            type_names,
            action_names,
            use_cases,
            buf: Vec::new(),
            len: 0,
        }
    }

    /// Format `batch` into `buf` (reused storage, overwritten without being cleared).
    pub fn format(&mut self, batch: &[Transaction], buf: Vec<u8>) -> Formatted {
        self.buf = buf;
        self.len = 0;
        for tx in batch {
            self.row(tx);
        }
        Formatted {
            buf: std::mem::take(&mut self.buf),
            len: self.len,
        }
    }

    fn reserve(&mut self, n: usize) {
        if self.len + n > self.buf.len() {
            let size = (self.len + n).max(2 * self.buf.len()).max(1 << 16);
            self.buf.resize(size, 0);
        }
    }

    /// Append any slice, reserving room for it.
    fn put(&mut self, s: &[u8]) {
        self.reserve(s.len());
        self.buf[self.len..self.len + s.len()].copy_from_slice(s);
        self.len += s.len();
    }

    /// The 16 bytes of `v`'s spelling (at most 16 digits) as an integer, and their count.
    fn spell_u64(v: u64) -> (u128, usize) {
        let mut b = itoa::Buffer::new();
        let s = b.format(v).as_bytes();
        let mut text = [0u8; 16];
        let len = s.len().min(16);
        text[..len].copy_from_slice(&s[..len]);
        (u128::from_le_bytes(text), len)
    }

    /// The step: the same as the row before's, nearly always.
    fn step_text(&mut self, step: u32) -> (u128, usize) {
        if self.step.0 != step {
            let (text, len) = Self::spell_u64(u64::from(step));
            self.step = (step, len, text);
        }
        (self.step.2, self.step.1)
    }

    /// The sequence number: the row before's plus one, nearly always, so its last digit
    /// is counted up in place (nine times in ten without a carry). `None` past 16 digits.
    fn seq_text(&mut self, seq: u64) -> Option<(u128, usize)> {
        let (last, len, text) = self.seq;
        let counted = len > 0 && Some(seq) == last.checked_add(1) && {
            let last_digit = (text >> (8 * (len - 1))) & 0xff;
            last_digit < u128::from(b'9')
        };
        self.seq = if counted {
            (seq, len, text + (1u128 << (8 * (len - 1))))
        } else {
            let (text, len) = Self::spell_u64(seq);
            (seq, len, text)
        };
        (seq < 10_u64.pow(16)).then_some((self.seq.2, self.seq.1))
    }

    fn row(&mut self, tx: &Transaction) {
        self.reserve(ROW_MAX);
        let step = self.step_text(tx.step);
        let seq = self.seq_text(tx.seq);
        let Self {
            caches,
            type_names,
            action_names,
            buf,
            len,
            ..
        } = self;
        let mut row = Cursor {
            out: &mut buf[*len..*len + ROW_MAX],
            at: 0,
        };
        row.fixed(&step.0.to_le_bytes(), step.1);
        row.byte(b',');
        match seq {
            Some((text, n)) => row.fixed(&text.to_le_bytes(), n),
            None => row.integer(tx.seq),
        }
        row.byte(b',');
        if tx.by_treasury {
            // The treasury (or a scheduled event) is not an agent: no id, and its own
            // name for a type.
            row.byte(b',');
            let name = Padded::new(if tx.action == Action::Event {
                "event"
            } else {
                "treasury"
            });
            row.fixed(&name.text, name.len);
        } else {
            row.integer(u64::from(tx.agent_id));
            row.byte(b',');
            let name = &type_names[tx.agent_type.index()];
            row.fixed(&name.text, name.len);
        }
        row.byte(b',');
        let name = &action_names[tx.action as usize];
        row.fixed(&name.text, name.len);
        let columns = [
            (Column::Ddt, tx.ddt),
            (Column::Xdai, tx.xdai),
            (Column::Lp, tx.lp),
            (Column::DdtBalance, tx.ddt_balance),
            (Column::XdaiBalance, tx.xdai_balance),
        ];
        for (column, v) in columns {
            row.byte(b',');
            row.number(caches, tx.agent_id, column, v);
        }
        row.byte(b',');
        if let Some(p) = tx.price {
            row.number(caches, tx.agent_id, Column::Price, p);
        }
        row.byte(b',');
        // Plain trades and Pie shares, nearly every row, end here; other details are
        // spelled on the slow path.
        match tx.detail {
            Detail::None => row.byte(b'\n'),
            Detail::Policy(p) => {
                let name = policy_name(p);
                row.fixed(&name.text, name.len);
                row.byte(b'\n');
            }
            _ => {}
        }
        *len += row.at;
        if !matches!(tx.detail, Detail::None | Detail::Policy(_)) {
            self.detail(&tx.detail);
            self.put(b"\n");
        }
    }

    /// Spell a transaction's detail other than a Pie policy: a use case, a dataset's
    /// figures, what a capped mint asked for.
    fn detail(&mut self, detail: &Detail) {
        // A job's use case, on every job's row, is appended directly; the rare rest are
        // spelled into a scratch buffer first.
        if let Detail::UseCase(u) = *detail {
            let name = self.use_cases[usize::from(u)].as_bytes();
            self.reserve(name.len());
            let name = self.use_cases[usize::from(u)].as_bytes();
            self.buf[self.len..self.len + name.len()].copy_from_slice(name);
            self.len += name.len();
            return;
        }
        let mut scratch = Vec::new();
        spell_detail(&mut scratch, detail, &self.use_cases);
        if !scratch.is_empty() {
            self.put(&scratch);
        }
    }
}

/// How the log spells a transaction's `detail` cell (nothing for none): the one
/// definition, shared by the rows here and by front ends that hand the log over as
/// columns (the Python binding).
pub fn spell_detail(out: &mut Vec<u8>, detail: &Detail, use_cases: &[String]) {
    let names = |out: &mut Vec<u8>, mask: u8| {
        let mut first = true;
        for (u, name) in use_cases.iter().enumerate() {
            if mask & (1 << u) != 0 {
                if !first {
                    out.push(b'|');
                }
                out.extend_from_slice(name.as_bytes());
                first = false;
            }
        }
    };
    match *detail {
        Detail::None => {}
        Detail::Policy(p) => {
            let name = policy_name(p);
            out.extend_from_slice(&name.text[..name.len]);
        }
        Detail::UseCase(u) => out.extend_from_slice(use_cases[usize::from(u)].as_bytes()),
        Detail::UseCases(mask) => names(out, mask),
        Detail::Dataset {
            quantity,
            quality,
            weight,
            allowed,
        } => {
            out.extend_from_slice(b"quantity=");
            push_f64(out, quantity);
            out.extend_from_slice(b";quality=");
            push_f64(out, quality);
            out.extend_from_slice(b";weight=");
            push_f64(out, weight);
            out.extend_from_slice(b";allows=");
            names(out, allowed);
        }
        Detail::Capped { requested } => {
            out.extend_from_slice(b"capped;requested=");
            push_f64(out, requested);
        }
        Detail::Removed { weight } => {
            out.extend_from_slice(b"weight=");
            push_f64(out, weight);
        }
        Detail::Proposal {
            number,
            kind,
            setting,
            old,
            new,
        } => {
            out.extend_from_slice(format!("proposal={number};kind={}", kind.name()).as_bytes());
            let name = setting.map_or("treasury_ddt", |s| s.key());
            out.extend_from_slice(format!(";{name}=").as_bytes());
            push_f64(out, old);
            out.extend_from_slice(b"->");
            push_f64(out, new);
        }
        Detail::Vote {
            number,
            choice,
            weight,
        } => {
            let choice = match choice {
                Some(true) => "yes",
                Some(false) => "no",
                None => "abstain",
            };
            out.extend_from_slice(format!("proposal={number};{choice};weight=").as_bytes());
            push_f64(out, weight);
        }
        Detail::Enacted { number } => {
            out.extend_from_slice(format!("proposal={number}").as_bytes());
        }
        Detail::Event { number } => {
            out.extend_from_slice(format!("event={number}").as_bytes());
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use datadao_core::AgentType;

    /// A Pie share row with the given figures.
    pub(crate) fn tx(seq: u64, ddt: f64, price: Option<f64>, detail: Detail) -> Transaction {
        Transaction {
            step: 849,
            seq,
            agent_id: 113,
            agent_type: AgentType::CASUAL,
            by_treasury: false,
            action: Action::PieShare,
            ddt,
            xdai: -0.0,
            lp: 0.0,
            ddt_balance: ddt,
            xdai_balance: 0.000_321_978_157_010_539_2,
            price,
            detail,
        }
    }

    /// The rows as the log spells them.
    pub(crate) fn format(rows: &[Transaction]) -> String {
        let use_cases = vec!["research".to_string(), "commercial".to_string()];
        let formatted = RowWriter::new(use_cases).format(rows, Vec::new());
        String::from_utf8(formatted.bytes().to_vec()).unwrap()
    }

    #[test]
    fn rows_are_spelled_as_the_columns_say() {
        let rows = [
            tx(
                999_999,
                0.237_424_051_556_393_68,
                Some(1.594_004_860_801_217_5e-8),
                Detail::Policy(PiePolicy::Groups),
            ),
            tx(0, -2.5, None, Detail::UseCases(0b11)),
            tx(
                u64::MAX,
                f64::NAN,
                Some(1.0),
                Detail::Capped { requested: 100.0 },
            ),
        ];
        assert_eq!(
            format(&rows),
            "849,999999,113,casual,pie_share,0.23742405155639368,0,0,0.23742405155639368,0.0003219781570105392,1.5940048608012175e-8,groups\n\
             849,0,113,casual,pie_share,-2.5,0,0,-2.5,0.0003219781570105392,,research|commercial\n\
             849,18446744073709551615,113,casual,pie_share,NaN,0,0,NaN,0.0003219781570105392,1.0,capped;requested=100.0\n"
        );
    }

    #[test]
    fn every_pie_policy_is_named() {
        let rows: Vec<Transaction> = [PiePolicy::Groups, PiePolicy::Usage, PiePolicy::Weight]
            .into_iter()
            .map(|p| tx(1, 1.0, None, Detail::Policy(p)))
            .collect();
        let text = format(&rows);
        let details: Vec<&str> = text
            .lines()
            .map(|l| l.rsplit(',').next().unwrap())
            .collect();
        assert_eq!(details, ["groups", "usage", "weight"]);
    }

    #[test]
    fn short_copies_of_every_length() {
        let source: Vec<u8> = (1..=32).collect();
        for n in 0..=32 {
            let mut out = [0u8; 32];
            copy_short(&source[..n], &mut out);
            assert_eq!(&out[..n], &source[..n], "{n}");
            assert!(out[n..].iter().all(|&b| b == 0), "{n}");
        }
    }

    #[test]
    fn integers_of_every_length() {
        let mut out = [0u8; 64];
        for v in [0, 7, 10, 99, 100, 12_345, 1_000_000, u64::MAX] {
            let mut c = Cursor {
                out: &mut out,
                at: 3,
            };
            c.integer(v);
            let end = c.at;
            assert_eq!(&out[3..end], v.to_string().as_bytes());
        }
    }

    /// Counting up carries, grows a digit, survives gaps and numbers past 16 digits.
    #[test]
    fn sequence_numbers_count_up_in_place() {
        let mut w = RowWriter::new(Vec::new());
        let runs = [0..25, 95..1005, 99_999..100_001, 7..9];
        let big = 10_u64.pow(16);
        let seqs = runs
            .into_iter()
            .flatten()
            .chain([big - 2, big - 1, big, big + 1, 3]);
        for seq in seqs {
            let spelled = match w.seq_text(seq) {
                Some((text, len)) => text.to_le_bytes()[..len].to_vec(),
                None => {
                    assert!(seq >= big);
                    continue;
                }
            };
            assert_eq!(spelled, seq.to_string().as_bytes());
        }
        let rows = [tx(big + 1, 1.0, None, Detail::None)];
        assert!(format(&rows).starts_with("849,10000000000000001,"));
    }

    #[test]
    fn every_name_fits_its_padding() {
        let w = RowWriter::new(Vec::new());
        for (t, name) in AgentType::SEED.into_iter().zip(AgentType::SEED_NAMES) {
            let p = w.type_names[t.index()];
            assert_eq!(&p.text[..p.len], name.as_bytes());
        }
        for a in Action::ALL {
            let p = w.action_names[a as usize];
            assert_eq!(&p.text[..p.len], a.name().as_bytes());
        }
    }

    /// Every column's cache gives the spelling `push_f64` gives, hit or miss.
    #[test]
    fn cached_spelling_matches_direct_spelling() {
        let values = [
            0.5,
            0.1,
            0.5,
            -0.5,
            1e300,
            3.0e-7,
            0.1,
            5e-324,
            0.5,
            f64::INFINITY,
        ];
        let rows: Vec<Transaction> = values
            .iter()
            .map(|&v| Transaction {
                xdai: v,
                lp: -v,
                xdai_balance: v,
                ..tx(1, v, Some(v), Detail::None)
            })
            .collect();
        let text = format(&rows);
        for (line, v) in text.lines().zip(values) {
            let spell = |v: f64| {
                let mut out = Vec::new();
                push_f64(&mut out, v);
                String::from_utf8(out).unwrap()
            };
            let (plus, minus) = (spell(v), spell(-v));
            let want = format!("{plus},{plus},{minus},{plus},{plus},{plus},");
            assert!(line.ends_with(&want), "{line} should end with {want}");
        }
    }
}
