//! Units of a scenario file and of command-line flags: rates, sizes, durations, percentages.
//!
//! The rules (also in docs/scenarios.md, "Units"):
//! - Numbers are decimal, optionally with a fraction (`1.5Mpps`); the result must be a whole
//!   number of the base unit (`0.5pps` is rejected, `1.5kpps` = 1500 pps).
//! - The unit follows the number **without a space** (`10Mpps`; `10 Mpps` is rejected with the fix
//!   in the message). A bare number is rejected: units are explicit.
//! - SI prefixes are case-sensitive: `k` = 10³, `M` = 10⁶, `G` = 10⁹. `K` is rejected (write `k`),
//!   and so is `m` (milli: `10mpps` is ambiguous, write `10Mpps`).
//! - Rates: `pps`, `kpps`, `Mpps`, `Gpps` (frames per second); `bps`, `kbps`, `Mbps`, `Gbps` (L2
//!   bits per second as tcpreplay counts them: frame bytes without the FCS × 8); `max` (as fast
//!   as the generator can). `Bps` (bytes) is rejected. Zero and negative rates are rejected.
//! - Rate ranges: `START..END step STEP` expand to `START, START+STEP, …` up to and including
//!   `END` when it lies on the step grid (at most [`MAX_RANGE_POINTS`] values). The unit is
//!   written on at least one of the three parts (`100k..1Mpps step 100k`,
//!   `100kpps..1Mpps step 100kpps`); parts without a unit take it; parts with one must agree.
//! - Sizes: `B`; `KiB`, `MiB`, `GiB` (1024ⁿ); `kB`, `MB`, `GB` (1000ⁿ). `KB`, `Mb`, `mb`… are
//!   rejected with a hint (`b` would be bits).
//! - Durations: as the `humantime` crate reads them: `3s`, `500ms`, `1m30s`, `2min`.
//! - Percentages: `5%` (0 to 100, fractions allowed).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// At most this many values come out of one rate range.
pub const MAX_RANGE_POINTS: usize = 1000;

/// A rate the generator is asked to offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rate {
    /// Frames per second.
    Pps(u64),
    /// L2 bits per second: frame bytes without the FCS × 8, as tcpreplay's `--mbps` counts.
    L2BitsPerSec(u64),
    /// As fast as the generator can.
    Max,
}

impl Rate {
    /// The asked rate in frames per second for frames of `frame_len` bytes (L2, without the FCS),
    /// or `None` for [`Rate::Max`] (or a zero frame length). `100Mbps` with 60-byte frames is
    /// 208 333.3 pps.
    pub fn pps(&self, frame_len: usize) -> Option<f64> {
        match *self {
            Rate::Pps(pps) => Some(pps as f64),
            Rate::L2BitsPerSec(bps) if frame_len > 0 => Some(bps as f64 / (frame_len as f64 * 8.0)),
            Rate::L2BitsPerSec(_) | Rate::Max => None,
        }
    }
}

impl fmt::Display for Rate {
    /// The canonical spelling, which [`parse_rate`] reads back: `100kpps`, `1500kpps`, `100Mbps`,
    /// `max`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (value, unit) = match *self {
            Rate::Pps(v) => (v, "pps"),
            Rate::L2BitsPerSec(v) => (v, "bps"),
            Rate::Max => return f.write_str("max"),
        };
        for (factor, prefix) in [(1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")] {
            if value >= factor && value % factor == 0 {
                return write!(f, "{}{prefix}{unit}", value / factor);
            }
        }
        write!(f, "{value}{unit}")
    }
}

impl FromStr for Rate {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_rate(s)
    }
}

impl serde::Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_rate(&text).map_err(serde::de::Error::custom)
    }
}

/// Why a quantity could not be read. The `Display` form names the input and the fix:
/// `"10 Mpps" is not a rate: no space between number and unit (write "10Mpps")`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{input}\" is not {what}: {problem}")]
pub struct UnitError {
    /// The text as written.
    pub input: String,
    /// What was expected: "a rate", "a size", "a duration", "a percentage", "a rate range".
    pub what: &'static str,
    /// What is wrong with it.
    pub problem: Problem,
}

/// What is wrong with a quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// Nothing written.
    #[error("it is empty")]
    Empty,
    /// A space between number and unit.
    #[error("no space between number and unit (write \"{fixed}\")")]
    Space {
        /// The input without the space.
        fixed: String,
    },
    /// No number in front of the unit.
    #[error("expected a number first, e.g. {example}")]
    NoNumber {
        /// An example of the expected form.
        example: &'static str,
    },
    /// A number without a unit.
    #[error("the unit is missing (units are explicit: {valid})")]
    NoUnit {
        /// The valid units.
        valid: &'static str,
    },
    /// A unit that is not valid here.
    #[error("unknown unit `{unit}`{hint} (valid: {valid})")]
    UnknownUnit {
        /// The unit as written.
        unit: String,
        /// A hint on the likely mistake, starting with "; ", or empty.
        hint: &'static str,
        /// The valid units.
        valid: &'static str,
    },
    /// A negative value.
    #[error("it must be positive")]
    Negative,
    /// Zero where zero means nothing.
    #[error("it must be greater than zero")]
    Zero,
    /// Not a whole number of the base unit.
    #[error("it is not a whole number of {base}")]
    Fraction {
        /// The base unit (`pps`, `bps`, `B`).
        base: &'static str,
    },
    /// Larger than 64 bits hold.
    #[error("it is too large")]
    TooLarge,
    /// A rate above what any send engine can offer ([`MAX_PPS`], [`MAX_L2_BPS`]).
    #[error(
        "it is above {limit}, the most netlab accepts: no send engine offers more (the fastest, \
         xdp, sends about 12 Mpps on 2 cores)"
    )]
    TooFast {
        /// The limit, as a rate (`100Mpps`).
        limit: &'static str,
    },
    /// Out of the allowed range.
    #[error("it must be between {min} and {max}")]
    OutOfRange {
        /// The smallest allowed value, as text.
        min: &'static str,
        /// The largest allowed value, as text.
        max: &'static str,
    },
    /// A malformed range.
    #[error("{0}")]
    Range(RangeProblem),
    /// What the duration parser said.
    #[error("{0}")]
    Duration(String),
}

/// What is wrong with a rate range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeProblem {
    /// Not of the form `START..END step STEP`.
    #[error("write a range as START..END step STEP, e.g. \"100k..1Mpps step 100k\"")]
    Form,
    /// One part is not a number with an optional prefix and unit.
    #[error("`{part}` is not a number with an optional unit")]
    Part {
        /// The part as written.
        part: String,
    },
    /// No part names a unit.
    #[error("no unit: write it on an end, e.g. \"{example}\"")]
    NoUnit {
        /// The input with `pps` appended to the end value.
        example: String,
    },
    /// Parts name different units.
    #[error("the parts mix pps and bps")]
    MixedUnits,
    /// `max` inside a range.
    #[error("`max` cannot be part of a range")]
    Max,
    /// END below START.
    #[error("the end is below the start")]
    Backwards,
    /// Too many values.
    #[error("it expands to more than {MAX_RANGE_POINTS} rates")]
    TooMany,
}

const RATE_UNITS: &str = "pps, kpps, Mpps, Gpps, bps, kbps, Mbps, Gbps, max";
const SIZE_UNITS: &str = "B, KiB, MiB, GiB, kB, MB, GB";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RateKind {
    Pps,
    Bps,
}

/// Splits `text` into the decimal number in front and the rest, rejecting a space between.
fn split_number<'a>(
    text: &'a str,
    what: &'static str,
    example: &'static str,
) -> Result<(&'a str, &'a str), UnitError> {
    let err = |problem| UnitError { input: text.to_string(), what, problem };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(err(Problem::Empty));
    }
    if trimmed.starts_with('-') {
        return Err(err(Problem::Negative));
    }
    let end = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
    let (number, rest) = trimmed.split_at(end);
    if number.is_empty() || number.starts_with('.') || number.matches('.').count() > 1 {
        return Err(err(Problem::NoNumber { example }));
    }
    if rest.starts_with(char::is_whitespace) || trimmed.len() != text.len() {
        let fixed: String = text.split_whitespace().collect();
        return Err(err(Problem::Space { fixed }));
    }
    Ok((number, rest))
}

/// `number × factor` exactly, or `Fraction` when the result is not whole.
fn scale(number: &str, factor: u64, base: &'static str) -> Result<u64, Problem> {
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let digits = format!("{int}{frac}");
    let mantissa: u128 = digits.parse().map_err(|_| Problem::TooLarge)?;
    let divisor = 10u128.checked_pow(frac.len() as u32).ok_or(Problem::TooLarge)?;
    let scaled = mantissa.checked_mul(u128::from(factor)).ok_or(Problem::TooLarge)?;
    if scaled % divisor != 0 {
        return Err(Problem::Fraction { base });
    }
    u64::try_from(scaled / divisor).map_err(|_| Problem::TooLarge)
}

/// The SI prefix factor of `prefix` (`""`, `k`, `M`, `G`), with hints for `K` and `m`.
fn si_prefix(prefix: &str) -> Result<u64, &'static str> {
    match prefix {
        "" => Ok(1),
        "k" => Ok(1_000),
        "M" => Ok(1_000_000),
        "G" => Ok(1_000_000_000),
        "K" => Err("; the SI prefix kilo is a lowercase `k`"),
        "m" => Err("; `m` is milli, write `M` for mega"),
        "g" => Err("; write `G` for giga"),
        _ => Err(""),
    }
}

/// Reads `<number><prefix?><unit?>` where unit is `pps` or `bps`.
fn rate_part(
    text: &str,
    what: &'static str,
) -> Result<(u64, Option<RateKind>, &'static str), UnitError> {
    let (number, suffix) = split_number(text, what, "\"100kpps\"")?;
    let err = |problem| UnitError { input: text.to_string(), what, problem };
    let (prefix, kind) = if let Some(p) = suffix.strip_suffix("pps") {
        (p, Some(RateKind::Pps))
    } else if let Some(p) = suffix.strip_suffix("bps") {
        (p, Some(RateKind::Bps))
    } else {
        (suffix, None)
    };
    let unknown =
        |hint| err(Problem::UnknownUnit { unit: suffix.to_string(), hint, valid: RATE_UNITS });
    let factor = si_prefix(prefix).map_err(|hint| {
        if kind.is_none() && suffix.ends_with("Bps") {
            unknown("; `B` is bytes, rates are in bits: `bps`")
        } else {
            unknown(hint)
        }
    })?;
    let base = match kind {
        Some(RateKind::Bps) => "bps",
        _ => "pps",
    };
    let value = scale(number, factor, base).map_err(err)?;
    Ok((value, kind, base))
}

/// The highest frame rate a scenario or `netlab replay` may ask for: well above what any send
/// engine offers (the xdp engine sends ~12 Mpps with a core to itself), so a typo such as an
/// extra `000` is refused instead of planning a point that could never end on time.
pub const MAX_PPS: u64 = 100_000_000;

/// The highest L2 bit rate that may be asked for (100 Gbps).
pub const MAX_L2_BPS: u64 = 100_000_000_000;

impl Rate {
    /// [`Problem::TooFast`] for a rate above [`MAX_PPS`] or [`MAX_L2_BPS`].
    fn check_limit(self) -> Result<Rate, Problem> {
        match self {
            Rate::Pps(v) if v > MAX_PPS => Err(Problem::TooFast { limit: "100Mpps" }),
            Rate::L2BitsPerSec(v) if v > MAX_L2_BPS => Err(Problem::TooFast { limit: "100Gbps" }),
            rate => Ok(rate),
        }
    }
}

/// Parses one rate: `100kpps`, `1.5Mpps`, `100Mbps`, `max` (see the module docs for the rules).
/// Zero is rejected.
pub fn parse_rate(text: &str) -> Result<Rate, UnitError> {
    const WHAT: &str = "a rate";
    if text == "max" {
        return Ok(Rate::Max);
    }
    if text.trim() == "max" {
        return Err(UnitError {
            input: text.to_string(),
            what: WHAT,
            problem: Problem::Space { fixed: "max".to_string() },
        });
    }
    let (value, kind, _) = rate_part(text, WHAT)?;
    let err = |problem| UnitError { input: text.to_string(), what: WHAT, problem };
    let kind = kind.ok_or_else(|| err(Problem::NoUnit { valid: RATE_UNITS }))?;
    if value == 0 {
        return Err(err(Problem::Zero));
    }
    match kind {
        RateKind::Pps => Rate::Pps(value),
        RateKind::Bps => Rate::L2BitsPerSec(value),
    }
    .check_limit()
    .map_err(err)
}

/// Parses a rate or a rate range (`100k..1Mpps step 100k`) into the list of rates it stands for.
pub fn parse_rates(text: &str) -> Result<Vec<Rate>, UnitError> {
    if !text.contains("..") {
        return parse_rate(text).map(|r| vec![r]);
    }
    const WHAT: &str = "a rate range";
    let err = |p| UnitError { input: text.to_string(), what: WHAT, problem: Problem::Range(p) };
    let words: Vec<&str> = text.split_whitespace().collect();
    let (span, step) = match words.as_slice() {
        [span, "step", step] => (*span, *step),
        _ => return Err(err(RangeProblem::Form)),
    };
    let (start, end) = span.split_once("..").ok_or_else(|| err(RangeProblem::Form))?;
    let mut kind = None;
    let mut values = [0u64; 3];
    for (slot, part) in values.iter_mut().zip([start, end, step]) {
        if part == "max" {
            return Err(err(RangeProblem::Max));
        }
        let (value, part_kind, _) = rate_part(part, WHAT)
            .map_err(|_| err(RangeProblem::Part { part: part.to_string() }))?;
        match (kind, part_kind) {
            (Some(a), Some(b)) if a != b => return Err(err(RangeProblem::MixedUnits)),
            (None, Some(b)) => kind = Some(b),
            _ => {}
        }
        *slot = value;
    }
    let [start, end, step] = values;
    let kind = kind.ok_or_else(|| {
        err(RangeProblem::NoUnit { example: text.replacen(" step", "pps step", 1) })
    })?;
    let zero = |problem| UnitError { input: text.to_string(), what: WHAT, problem };
    if start == 0 || step == 0 {
        return Err(zero(Problem::Zero));
    }
    if end < start {
        return Err(err(RangeProblem::Backwards));
    }
    if (end - start) / step >= MAX_RANGE_POINTS as u64 {
        return Err(err(RangeProblem::TooMany));
    }
    let make = |v| match kind {
        RateKind::Pps => Rate::Pps(v),
        RateKind::Bps => Rate::L2BitsPerSec(v),
    };
    make(end).check_limit().map_err(zero)?;
    Ok((0..=(end - start) / step).map(|i| make(start + i * step)).collect())
}

/// Parses a size in bytes: `4MiB`, `64KiB`, `1500B`, `2MB` (see the module docs). Zero is
/// rejected.
pub fn parse_size(text: &str) -> Result<u64, UnitError> {
    const WHAT: &str = "a size";
    let (number, unit) = split_number(text, WHAT, "\"4MiB\"")?;
    let err = |problem| UnitError { input: text.to_string(), what: WHAT, problem };
    let factor: u64 = match unit {
        "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "" => return Err(err(Problem::NoUnit { valid: SIZE_UNITS })),
        other => {
            let hint = match other {
                "KB" | "K" | "k" => "; write `kB` (1000 B) or `KiB` (1024 B)",
                "b" | "kb" | "Kb" | "Mb" | "mb" | "Gb" | "gb" | "Kib" | "Mib" | "Gib" => {
                    "; a lowercase `b` would be bits, sizes are in bytes (`B`)"
                }
                "M" | "G" | "m" | "g" => "; add the byte unit: `MiB`, `MB`…",
                "mB" => "; `m` is milli, write `M` for mega",
                _ => "",
            };
            return Err(err(Problem::UnknownUnit {
                unit: other.to_string(),
                hint,
                valid: SIZE_UNITS,
            }));
        }
    };
    let bytes = scale(number, factor, "B").map_err(err)?;
    if bytes == 0 {
        return Err(err(Problem::Zero));
    }
    Ok(bytes)
}

/// Parses a duration the way `humantime` does: `3s`, `500ms`, `1m30s`. Zero is allowed (a
/// warm-up of `0s`); callers that need a positive duration check it.
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    const WHAT: &str = "a duration";
    let err = |problem| UnitError { input: text.to_string(), what: WHAT, problem };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(err(Problem::Empty));
    }
    if trimmed.starts_with('-') {
        return Err(err(Problem::Negative));
    }
    if trimmed.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(err(Problem::NoUnit { valid: "ns, us, ms, s, m(in), h, e.g. 3s or 500ms" }));
    }
    humantime::parse_duration(trimmed).map_err(|e| err(Problem::Duration(e.to_string())))
}

/// Parses a percentage `5%` or `2.5%` (0 to 100) into a fraction (0.05, 0.025).
pub fn parse_percent(text: &str) -> Result<f64, UnitError> {
    const WHAT: &str = "a percentage";
    let err = |problem| UnitError { input: text.to_string(), what: WHAT, problem };
    let (number, unit) = split_number(text, WHAT, "\"5%\"")?;
    if unit != "%" {
        return Err(err(if unit.is_empty() {
            Problem::NoUnit { valid: "%, e.g. 5%" }
        } else {
            Problem::UnknownUnit { unit: unit.to_string(), hint: "", valid: "%" }
        }));
    }
    let value: f64 = number.parse().map_err(|_| err(Problem::NoNumber { example: "\"5%\"" }))?;
    if !(0.0..=100.0).contains(&value) {
        return Err(err(Problem::OutOfRange { min: "0%", max: "100%" }));
    }
    Ok(value / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_table() {
        let good = [
            ("1pps", Rate::Pps(1)),
            ("100kpps", Rate::Pps(100_000)),
            ("1.5Mpps", Rate::Pps(1_500_000)),
            ("0.1Gpps", Rate::Pps(100_000_000)),
            ("100Mbps", Rate::L2BitsPerSec(100_000_000)),
            ("64kbps", Rate::L2BitsPerSec(64_000)),
            ("1bps", Rate::L2BitsPerSec(1)),
            ("0.5kpps", Rate::Pps(500)),
            ("max", Rate::Max),
        ];
        for (text, rate) in good {
            assert_eq!(parse_rate(text), Ok(rate), "{text}");
        }
        let bad = [
            ("10 Mpps", "no space between number and unit (write \"10Mpps\")"),
            ("10mpps", "`m` is milli"),
            ("10Kpps", "lowercase `k`"),
            ("10MBps", "`B` is bytes"),
            ("10M", "the unit is missing"),
            ("10kqps", "unknown unit `kqps`"),
            ("1000", "the unit is missing"),
            ("0pps", "greater than zero"),
            ("0Mbps", "greater than zero"),
            ("-1pps", "must be positive"),
            ("0.5pps", "not a whole number of pps"),
            ("Mpps", "expected a number first"),
            ("", "it is empty"),
            ("99999999999Gpps", "too large"),
            ("1000000000000000pps", "above 100Mpps, the most netlab accepts"),
            ("100000001pps", "above 100Mpps"),
            ("101Gbps", "above 100Gbps"),
            ("1.2.3pps", "expected a number first"),
            ("fast", "expected a number first"),
            (" max", "no space"),
            ("1Mpps ", "no space"),
        ];
        for (text, needle) in bad {
            let e = parse_rate(text).expect_err(text).to_string();
            assert!(e.contains(needle), "{text}: {e}");
            assert!(e.starts_with(&format!("\"{text}\" is not a rate")), "{e}");
        }
    }

    #[test]
    fn rate_display_round_trips() {
        for rate in [
            Rate::Pps(1),
            Rate::Pps(100_000),
            Rate::Pps(1_500_000),
            Rate::Pps(12_345_678),
            Rate::L2BitsPerSec(100_000_000),
            Rate::L2BitsPerSec(3_000_000_000),
            Rate::Max,
        ] {
            assert_eq!(parse_rate(&rate.to_string()), Ok(rate));
        }
        assert_eq!(Rate::Pps(1_500_000).to_string(), "1500kpps");
        assert_eq!(Rate::L2BitsPerSec(100_000_000).to_string(), "100Mbps");
    }

    #[test]
    fn rate_to_pps() {
        // tcpreplay's --mbps 100 with the 60-byte (64 with FCS) UDP frame: 208 333 pps.
        let pps = Rate::L2BitsPerSec(100_000_000).pps(60).unwrap();
        assert_eq!(pps.floor(), 208_333.0);
        assert_eq!(Rate::Pps(5).pps(60), Some(5.0));
        assert_eq!(Rate::Max.pps(60), None);
        assert_eq!(Rate::L2BitsPerSec(8).pps(0), None);
    }

    #[test]
    fn ranges_table() {
        let k = |v: u64| Rate::Pps(v * 1000);
        assert_eq!(
            parse_rates("100k..500kpps step 100k"),
            Ok(vec![k(100), k(200), k(300), k(400), k(500)])
        );
        assert_eq!(
            parse_rates("100kpps..1Mpps step 300kpps"),
            Ok(vec![k(100), k(400), k(700), k(1000)])
        );
        assert_eq!(parse_rates("1kpps..2500pps step 1k"), Ok(vec![k(1), k(2)]));
        assert_eq!(
            parse_rates("10Mbps..10Mbps step 1Mbps"),
            Ok(vec![Rate::L2BitsPerSec(10_000_000)])
        );
        assert_eq!(parse_rates("1Mpps"), Ok(vec![Rate::Pps(1_000_000)]));
        let bad = [
            ("100k..1M step 100k", "no unit: write it on an end, e.g. \"100k..1Mpps step 100k\""),
            ("100kpps..1Mbps step 100k", "mix pps and bps"),
            ("1M..100kpps step 1k", "end is below the start"),
            ("0..1kpps step 1", "greater than zero"),
            ("1..1kpps step 0", "greater than zero"),
            ("1..1Mpps step 1", "more than 1000 rates"),
            ("1k..2kpps", "START..END step STEP"),
            ("1k..max step 1k", "`max` cannot"),
            ("1k..2kqps step 1k", "`2kqps` is not a number"),
            ("50M..150Mpps step 50M", "above 100Mpps"),
        ];
        for (text, needle) in bad {
            let e = parse_rates(text).expect_err(text).to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn sizes_table() {
        let good = [
            ("1B", 1),
            ("1500B", 1500),
            ("4KiB", 4096),
            ("4MiB", 4 << 20),
            ("1GiB", 1 << 30),
            ("2kB", 2000),
            ("1.5MB", 1_500_000),
            ("0.5KiB", 512),
        ];
        for (text, bytes) in good {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
        let bad = [
            ("4 MiB", "no space"),
            ("4KB", "write `kB`"),
            ("4Mb", "bits"),
            ("4mB", "milli"),
            ("4M", "add the byte unit"),
            ("4096", "unit is missing"),
            ("0B", "greater than zero"),
            ("0.3B", "whole number of B"),
            ("4TiB", "unknown unit `TiB`"),
        ];
        for (text, needle) in bad {
            let e = parse_size(text).expect_err(text).to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn durations_and_percentages() {
        assert_eq!(parse_duration("3s"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        for (text, needle) in [
            ("3", "unit is missing"),
            ("-1s", "positive"),
            ("3 parsecs", "not a duration"),
            ("", "empty"),
        ] {
            let e = parse_duration(text).expect_err(text).to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
        assert_eq!(parse_percent("5%"), Ok(0.05));
        assert_eq!(parse_percent("20%"), Ok(0.2));
        for (text, needle) in [("5", "unit is missing"), ("101%", "between"), ("5 %", "no space")] {
            let e = parse_percent(text).expect_err(text).to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}
