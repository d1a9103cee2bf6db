//! The rule language's expressions: parsed once by a [pest] grammar (`grammar.pest`)
//! with its Pratt parser for precedence, type-checked, and compiled into a small tree of
//! numbers and booleans whose names are already resolved to observables, with constant
//! parts folded. Nothing is parsed or looked up by name while a run steps.
//!
//! pest was chosen because it is the most used and best kept parser generator for Rust,
//! its grammar is a readable file of its own, its errors carry positions, and it ships
//! the Pratt parser operator precedence needs; parsing happens once per scenario, so its
//! speed does not matter, and evaluation is this module's own tree walk.
//!
//! Precedence, lowest first: `or`, `and`, `not`, comparisons, `+ -`, `* /`, unary `-`
//! (so `not price < 1` is `not (price < 1)`, as in Python).
//!
//! Types: numbers (`f64`) and booleans. `and`/`or` evaluate left to right and stop as
//! soon as the answer is known, so a `chance(p)` they skip draws nothing.

use pest::iterators::Pairs;
use pest::pratt_parser::{Assoc, Op, PrattParser};
use pest::Parser;

use super::Observable;

use crate::validation::DUST;

#[derive(pest_derive::Parser)]
#[grammar = "rules/grammar.pest"]
struct Grammar;

/// A refusal of an expression: where in the text (1-based character) and why.
#[derive(Clone, Debug, PartialEq)]
pub struct ExprError {
    /// 1-based character position in the expression's text.
    pub position: usize,
    /// What is wrong and what is accepted.
    pub message: String,
}

/// A numeric expression, compiled.
#[derive(Clone, Debug, PartialEq)]
pub enum Num {
    /// A constant.
    Const(f64),
    /// An observable's current value.
    Read(Observable),
    /// `-x`.
    Neg(Box<Num>),
    /// `a op b`.
    Bin(Arith, Box<Num>, Box<Num>),
    /// A function of one or two arguments.
    Call(Function, Box<Num>, Option<Box<Num>>),
}

/// A boolean expression, compiled.
#[derive(Clone, Debug, PartialEq)]
pub enum Bool {
    /// A constant.
    Const(bool),
    /// `a op b` on numbers.
    Cmp(Compare, Box<Num>, Box<Num>),
    /// `a and b`.
    And(Box<Bool>, Box<Bool>),
    /// `a or b`.
    Or(Box<Bool>, Box<Bool>),
    /// `not a`.
    Not(Box<Bool>),
    /// `chance(p)`: true with probability `p`, one draw from the run's generator.
    Chance(Box<Num>),
}

/// Arithmetic operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arith {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// The functions of the language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    /// `min(a, b)`
    Min,
    /// `max(a, b)`
    Max,
    /// `abs(a)`
    Abs,
    /// `sqrt(a)`
    Sqrt,
    /// `floor(a)`
    Floor,
}

/// What an expression reads while it is evaluated.
pub trait Environment {
    /// The current value of `o` (NaN when it has none, as a price while the pool is
    /// empty: every comparison with NaN is false).
    fn read(&mut self, o: Observable) -> f64;
    /// A uniform draw in `[0, 1)` from the run's generator.
    fn draw(&mut self) -> f64;
}

impl Num {
    /// The value in `env`. Constants and plain reads, most of what rules hold, are
    /// answered inline; deeper trees walk out of line.
    #[inline(always)]
    pub fn eval<E: Environment>(&self, env: &mut E) -> f64 {
        match self {
            Num::Const(v) => *v,
            Num::Read(o) => env.read(*o),
            _ => self.walk(env),
        }
    }

    #[inline(never)]
    fn walk<E: Environment>(&self, env: &mut E) -> f64 {
        match self {
            Num::Const(v) => *v,
            Num::Read(o) => env.read(*o),
            Num::Neg(a) => -a.eval(env),
            Num::Bin(op, a, b) => arith(*op, a.eval(env), b.eval(env)),
            Num::Call(f, a, b) => {
                let x = a.eval(env);
                let y = b.as_ref().map_or(0.0, |b| b.eval(env));
                call(*f, x, y)
            }
        }
    }
}

impl Bool {
    /// The value in `env`; constants and comparisons of plain operands inline.
    #[inline(always)]
    pub fn eval<E: Environment>(&self, env: &mut E) -> bool {
        match self {
            Bool::Const(v) => *v,
            Bool::Cmp(op, a, b) if a.is_leaf() && b.is_leaf() => {
                compare(*op, a.eval(env), b.eval(env))
            }
            _ => self.walk(env),
        }
    }

    #[inline(never)]
    fn walk<E: Environment>(&self, env: &mut E) -> bool {
        match self {
            Bool::Const(v) => *v,
            Bool::Cmp(op, a, b) => compare(*op, a.eval(env), b.eval(env)),
            Bool::And(a, b) => a.eval(env) && b.eval(env),
            Bool::Or(a, b) => a.eval(env) || b.eval(env),
            Bool::Not(a) => !a.eval(env),
            Bool::Chance(p) => {
                let p = p.eval(env);
                env.draw() < p
            }
        }
    }
}

impl Num {
    /// A constant or a plain read.
    #[inline(always)]
    fn is_leaf(&self) -> bool {
        matches!(self, Num::Const(_) | Num::Read(_))
    }
}

fn arith(op: Arith, a: f64, b: f64) -> f64 {
    match op {
        Arith::Add => a + b,
        Arith::Sub => a - b,
        Arith::Mul => a * b,
        Arith::Div => a / b,
    }
}

fn compare(op: Compare, a: f64, b: f64) -> bool {
    match op {
        Compare::Eq => a == b,
        Compare::Ne => a != b,
        Compare::Lt => a < b,
        Compare::Le => a <= b,
        Compare::Gt => a > b,
        Compare::Ge => a >= b,
    }
}

fn call(f: Function, a: f64, b: f64) -> f64 {
    match f {
        Function::Min => a.min(b),
        Function::Max => a.max(b),
        Function::Abs => a.abs(),
        Function::Sqrt => a.sqrt(),
        Function::Floor => a.floor(),
    }
}

/// A parsed expression before its types are checked.
#[derive(Clone, Debug)]
enum Ast {
    Number(f64),
    Name(String),
    Call(String, Vec<Spanned>),
    Neg(Box<Spanned>),
    Not(Box<Spanned>),
    Infix(&'static str, Box<Spanned>, Box<Spanned>),
}

#[derive(Clone, Debug)]
struct Spanned {
    ast: Ast,
    /// 0-based character offset of its first character.
    at: usize,
}

/// A compiled expression of either type.
#[derive(Clone, Debug, PartialEq)]
pub enum Typed {
    /// A number.
    Num(Num),
    /// A boolean.
    Bool(Bool),
}

fn pratt() -> PrattParser<Rule> {
    PrattParser::new()
        .op(Op::infix(Rule::or, Assoc::Left))
        .op(Op::infix(Rule::and, Assoc::Left))
        // As in Python: `not a < b` is `not (a < b)`.
        .op(Op::prefix(Rule::not))
        .op(Op::infix(Rule::eq, Assoc::Left)
            | Op::infix(Rule::ne, Assoc::Left)
            | Op::infix(Rule::lt, Assoc::Left)
            | Op::infix(Rule::le, Assoc::Left)
            | Op::infix(Rule::gt, Assoc::Left)
            | Op::infix(Rule::ge, Assoc::Left))
        .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
        .op(Op::infix(Rule::mul, Assoc::Left) | Op::infix(Rule::div, Assoc::Left))
        .op(Op::prefix(Rule::neg))
}

fn char_offset(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].chars().count()
}

fn build(pairs: Pairs<Rule>, text: &str, parser: &PrattParser<Rule>) -> Spanned {
    parser
        .map_primary(|p| {
            let at = char_offset(text, p.as_span().start());
            match p.as_rule() {
                Rule::number => Spanned {
                    // The grammar admits only what `f64` parses.
                    ast: Ast::Number(p.as_str().parse().unwrap_or(f64::NAN)),
                    at,
                },
                Rule::ident => Spanned {
                    ast: Ast::Name(p.as_str().to_owned()),
                    at,
                },
                Rule::call => {
                    let mut inner = p.into_inner();
                    let name = inner
                        .next()
                        .map(|n| n.as_str().to_owned())
                        .unwrap_or_default();
                    let args = inner.map(|e| build(e.into_inner(), text, parser)).collect();
                    Spanned {
                        ast: Ast::Call(name, args),
                        at,
                    }
                }
                _ => build(p.into_inner(), text, parser),
            }
        })
        .map_prefix(|op, rhs| {
            let at = char_offset(text, op.as_span().start());
            let ast = if op.as_rule() == Rule::neg {
                Ast::Neg(Box::new(rhs))
            } else {
                Ast::Not(Box::new(rhs))
            };
            Spanned { ast, at }
        })
        .map_infix(|lhs, op, rhs| {
            let name = match op.as_rule() {
                Rule::or => "or",
                Rule::and => "and",
                Rule::eq => "==",
                Rule::ne => "!=",
                Rule::lt => "<",
                Rule::le => "<=",
                Rule::gt => ">",
                Rule::ge => ">=",
                Rule::add => "+",
                Rule::sub => "-",
                Rule::mul => "*",
                _ => "/",
            };
            let at = char_offset(text, op.as_span().start());
            Spanned {
                ast: Ast::Infix(name, Box::new(lhs), Box::new(rhs)),
                at,
            }
        })
        .parse(pairs)
}

/// Parse and check `text`, resolving names with `resolve`; `accepted` lists the names
/// for a refusal. Returns a number or a boolean.
pub fn compile(
    text: &str,
    resolve: &dyn Fn(&str) -> Option<Observable>,
    accepted: &str,
) -> Result<Typed, ExprError> {
    let mut pairs = Grammar::parse(Rule::program, text).map_err(|e| {
        let byte = match e.location {
            pest::error::InputLocation::Pos(p) => p,
            pest::error::InputLocation::Span((p, _)) => p,
        };
        ExprError {
            position: char_offset(text, byte) + 1,
            message: "not an expression here: expected a number, a name, a call such as min(a, b), an operator (+ - * / == != < <= > >= and or not) or a parenthesis".into(),
        }
    })?;
    let expr = pairs.next().ok_or_else(|| ExprError {
        position: 1,
        message: "the expression is empty".into(),
    })?;
    let tree = build(expr.into_inner(), text, &pratt());
    check(&tree, resolve, accepted)
}

fn err(at: usize, message: String) -> ExprError {
    ExprError {
        position: at + 1,
        message,
    }
}

fn number(
    e: &Spanned,
    resolve: &dyn Fn(&str) -> Option<Observable>,
    accepted: &str,
) -> Result<Num, ExprError> {
    match check(e, resolve, accepted)? {
        Typed::Num(n) => Ok(n),
        Typed::Bool(_) => Err(err(
            e.at,
            "a number is needed here, not a true/false value".into(),
        )),
    }
}

fn boolean(
    e: &Spanned,
    resolve: &dyn Fn(&str) -> Option<Observable>,
    accepted: &str,
) -> Result<Bool, ExprError> {
    match check(e, resolve, accepted)? {
        Typed::Bool(b) => Ok(b),
        Typed::Num(_) => Err(err(
            e.at,
            "a true/false value is needed here (a comparison such as price < 1, true, false, chance(p)), not a number".into(),
        )),
    }
}

fn check(
    e: &Spanned,
    resolve: &dyn Fn(&str) -> Option<Observable>,
    accepted: &str,
) -> Result<Typed, ExprError> {
    Ok(match &e.ast {
        Ast::Number(v) => Typed::Num(Num::Const(*v)),
        Ast::Name(name) => match name.as_str() {
            "true" => Typed::Bool(Bool::Const(true)),
            "false" => Typed::Bool(Bool::Const(false)),
            "inf" => Typed::Num(Num::Const(f64::INFINITY)),
            "dust" => Typed::Num(Num::Const(DUST)),
            _ => match resolve(name) {
                Some(o) => Typed::Num(Num::Read(o)),
                None => {
                    return Err(err(
                        e.at,
                        format!(
                            "unknown name '{name}'; accepted: {accepted}, true, false, inf, dust"
                        ),
                    ))
                }
            },
        },
        Ast::Call(name, args) => {
            let arity = |n: usize| -> Result<(), ExprError> {
                if args.len() == n {
                    Ok(())
                } else {
                    Err(err(
                        e.at,
                        format!(
                            "{name}() takes {n} argument{}, not {}",
                            if n == 1 { "" } else { "s" },
                            args.len()
                        ),
                    ))
                }
            };
            let f = match name.as_str() {
                "chance" => {
                    arity(1)?;
                    return Ok(Typed::Bool(Bool::Chance(Box::new(number(
                        &args[0], resolve, accepted,
                    )?))));
                }
                "min" => Function::Min,
                "max" => Function::Max,
                "abs" => Function::Abs,
                "sqrt" => Function::Sqrt,
                "floor" => Function::Floor,
                _ => {
                    return Err(err(
                        e.at,
                        format!(
                        "unknown function '{name}'; accepted: min, max, abs, sqrt, floor, chance"
                    ),
                    ))
                }
            };
            let two = matches!(f, Function::Min | Function::Max);
            arity(if two { 2 } else { 1 })?;
            let a = number(&args[0], resolve, accepted)?;
            let b = if two {
                Some(Box::new(number(&args[1], resolve, accepted)?))
            } else {
                None
            };
            Typed::Num(fold(Num::Call(f, Box::new(a), b)))
        }
        Ast::Neg(a) => Typed::Num(fold(Num::Neg(Box::new(number(a, resolve, accepted)?)))),
        Ast::Not(a) => Typed::Bool(fold_bool(Bool::Not(Box::new(boolean(
            a, resolve, accepted,
        )?)))),
        Ast::Infix(op, a, b) => match *op {
            "and" | "or" => {
                let (x, y) = (
                    boolean(a, resolve, accepted)?,
                    boolean(b, resolve, accepted)?,
                );
                Typed::Bool(fold_bool(if *op == "and" {
                    Bool::And(Box::new(x), Box::new(y))
                } else {
                    Bool::Or(Box::new(x), Box::new(y))
                }))
            }
            "==" | "!=" | "<" | "<=" | ">" | ">=" => {
                let c = match *op {
                    "==" => Compare::Eq,
                    "!=" => Compare::Ne,
                    "<" => Compare::Lt,
                    "<=" => Compare::Le,
                    ">" => Compare::Gt,
                    _ => Compare::Ge,
                };
                let (x, y) = (number(a, resolve, accepted)?, number(b, resolve, accepted)?);
                Typed::Bool(fold_bool(Bool::Cmp(c, Box::new(x), Box::new(y))))
            }
            _ => {
                let op = match *op {
                    "+" => Arith::Add,
                    "-" => Arith::Sub,
                    "*" => Arith::Mul,
                    _ => Arith::Div,
                };
                let (x, y) = (number(a, resolve, accepted)?, number(b, resolve, accepted)?);
                Typed::Num(fold(Num::Bin(op, Box::new(x), Box::new(y))))
            }
        },
    })
}

/// Evaluate a numeric node whose inputs are all constants.
fn fold(n: Num) -> Num {
    let constant = match &n {
        Num::Neg(a) => matches!(**a, Num::Const(_)),
        Num::Bin(_, a, b) => matches!(**a, Num::Const(_)) && matches!(**b, Num::Const(_)),
        Num::Call(_, a, b) => {
            matches!(**a, Num::Const(_)) && b.as_ref().is_none_or(|b| matches!(**b, Num::Const(_)))
        }
        _ => false,
    };
    if constant {
        Num::Const(n.eval(&mut NoEnvironment))
    } else {
        n
    }
}

/// Evaluate a boolean node whose inputs are all constants (never a `chance`).
fn fold_bool(b: Bool) -> Bool {
    let constant = match &b {
        Bool::Cmp(_, x, y) => matches!(**x, Num::Const(_)) && matches!(**y, Num::Const(_)),
        Bool::Not(a) => matches!(**a, Bool::Const(_)),
        Bool::And(x, y) | Bool::Or(x, y) => {
            matches!(**x, Bool::Const(_)) && matches!(**y, Bool::Const(_))
        }
        _ => false,
    };
    if constant {
        Bool::Const(b.eval(&mut NoEnvironment))
    } else {
        b
    }
}

/// The environment of constant folding: reads and draws never happen there.
struct NoEnvironment;

impl Environment for NoEnvironment {
    fn read(&mut self, _: Observable) -> f64 {
        f64::NAN
    }
    fn draw(&mut self) -> f64 {
        f64::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Env {
        ddt: f64,
        price: f64,
        draws: Vec<f64>,
    }

    impl Environment for Env {
        fn read(&mut self, o: Observable) -> f64 {
            match o {
                Observable::Ddt => self.ddt,
                Observable::Price => self.price,
                _ => 0.0,
            }
        }
        fn draw(&mut self) -> f64 {
            self.draws.remove(0)
        }
    }

    fn resolve(name: &str) -> Option<Observable> {
        match name {
            "ddt" => Some(Observable::Ddt),
            "price" => Some(Observable::Price),
            _ => None,
        }
    }

    fn num(text: &str, env: &mut Env) -> f64 {
        match compile(text, &resolve, "ddt, price").unwrap() {
            Typed::Num(n) => n.eval(env),
            Typed::Bool(_) => panic!("{text} is boolean"),
        }
    }

    fn truth(text: &str, env: &mut Env) -> bool {
        match compile(text, &resolve, "ddt, price").unwrap() {
            Typed::Bool(b) => b.eval(env),
            Typed::Num(_) => panic!("{text} is a number"),
        }
    }

    fn env() -> Env {
        Env {
            ddt: 10.0,
            price: 0.5,
            draws: Vec::new(),
        }
    }

    /// Hand-computed values: precedence, associativity, functions, NaN comparisons.
    #[test]
    fn expressions_evaluate_as_computed_by_hand() {
        let e = &mut env();
        assert_eq!(num("1 + 2 * 3", e), 7.0);
        assert_eq!(num("(1 + 2) * 3", e), 9.0);
        assert_eq!(num("10 - 4 - 3", e), 3.0);
        assert_eq!(num("12 / 3 / 2", e), 2.0);
        assert_eq!(num("-ddt + 1", e), -9.0);
        assert_eq!(num("min(ddt, 3) + max(price, 2)", e), 5.0);
        assert_eq!(num("abs(-2.5) + sqrt(16) + floor(2.7)", e), 8.5);
        assert_eq!(num("ddt * price / 2", e), 2.5);
        assert_eq!(num("1e3 + .5", e), 1000.5);
        assert_eq!(num("inf", e), f64::INFINITY);
        assert!(truth("ddt >= 10 and price < 1", e));
        assert!(!truth("ddt > 10 or price > 1", e));
        assert!(truth("not ddt < 5", e));
        assert!(truth("ddt == 10 and price != 1", e));
        assert!(
            truth("1 + 1 == 2 or ddt < 0 and price > 9", e),
            "and binds tighter than or"
        );
        let mut empty = Env {
            price: f64::NAN,
            ..env()
        };
        assert!(
            !truth("price <= 2", &mut empty),
            "a price that is not there compares false"
        );
        assert!(!truth("price > 2", &mut empty));
    }

    #[test]
    fn constants_are_folded_and_chance_is_not() {
        let folded = compile("2 * 3 + 1", &resolve, "").unwrap();
        assert_eq!(folded, Typed::Num(Num::Const(7.0)));
        let b = compile("1 < 2 and true", &resolve, "").unwrap();
        assert_eq!(b, Typed::Bool(Bool::Const(true)));
        let c = compile("chance(0.5)", &resolve, "").unwrap();
        assert!(matches!(c, Typed::Bool(Bool::Chance(_))));
    }

    /// `chance` draws once each time it is evaluated, and `and`/`or` skip it when the
    /// answer is already known.
    #[test]
    fn chance_draws_only_when_evaluated() {
        let mut e = Env {
            draws: vec![0.3, 0.7],
            ..env()
        };
        assert!(truth("chance(0.5)", &mut e));
        assert!(
            !truth("ddt < 0 and chance(0.5)", &mut e),
            "skipped: no draw"
        );
        assert!(truth("ddt > 0 or chance(0.0)", &mut e), "skipped: no draw");
        assert!(!truth("chance(0.5)", &mut e));
        assert!(e.draws.is_empty());
    }

    #[test]
    fn bad_expressions_are_refused_with_their_position() {
        let refuse = |text: &str| compile(text, &resolve, "ddt, price").unwrap_err();
        let e = refuse("ddt + prize");
        assert_eq!(e.position, 7);
        assert!(
            e.message.contains("unknown name 'prize'") && e.message.contains("ddt, price"),
            "{e:?}"
        );
        let e = refuse("ddt +");
        assert_eq!(e.position, 6, "{e:?}");
        let e = refuse("ddt and price");
        assert_eq!(e.position, 1);
        assert!(e.message.contains("true/false"), "{e:?}");
        let e = refuse("not 3");
        assert_eq!(e.position, 5, "{e:?}");
        let e = refuse("1 + not true");
        assert!(e.position >= 5, "{e:?}");
        let e = refuse("min(ddt)");
        assert!(e.message.contains("takes 2 arguments, not 1"), "{e:?}");
        let e = refuse("log(ddt)");
        assert!(e.message.contains("unknown function 'log'"), "{e:?}");
        let e = refuse("(price < 1) + 1");
        assert!(e.message.contains("a number is needed"), "{e:?}");
        let e = refuse("");
        assert_eq!(e.position, 1, "{e:?}");
        let e = refuse("ddt < 1 <");
        assert!(e.position >= 9, "{e:?}");
    }
}
