//! `[generator]`: the engine, the rates (and the search targets named among them), the
//! durations and the send knobs.

use std::time::Duration;

use toml::Spanned;

use super::positive;
use crate::scenario::locate::Source;
use crate::scenario::schema::RawGenerator;
use crate::scenario::{
    parse_duration, parse_rates, GeneratorSpec, LossTarget, Rate, ScenarioError,
};

const DEFAULT_WARMUP: Duration = Duration::from_secs(1);

/// `[generator]`, and the targets of `known` its `rates` name, in their order.
pub(super) fn generator(
    source: &Source<'_>,
    raw: RawGenerator,
    known: &[LossTarget],
) -> Result<(GeneratorSpec, Vec<LossTarget>), ScenarioError> {
    let err = |span: std::ops::Range<usize>, msg: String| source.error(Some(span), msg);
    let (rates, targets) = rates(source, &raw.rates, known)?;
    let duration = parse_duration(raw.duration.get_ref())
        .map_err(|e| err(raw.duration.span(), e.to_string()))?;
    if duration.is_zero() {
        return Err(err(raw.duration.span(), "the duration must be greater than zero".into()));
    }
    let warmup = match &raw.warmup {
        None => DEFAULT_WARMUP,
        Some(w) => parse_duration(w.get_ref()).map_err(|e| err(w.span(), e.to_string()))?,
    };
    let generator = GeneratorSpec {
        engine: raw.engine,
        rates,
        duration,
        warmup,
        batch: positive(source, raw.batch, "batch")?,
        burst: positive(source, raw.burst, "burst")?,
    };
    Ok((generator, targets))
}

/// `generator.rates`: the rates, ranges expanded, and the targets of `known` named among them.
fn rates(
    source: &Source<'_>,
    list: &Spanned<Vec<Spanned<String>>>,
    known: &[LossTarget],
) -> Result<(Vec<Rate>, Vec<LossTarget>), ScenarioError> {
    let err = |span: std::ops::Range<usize>, msg: String| source.error(Some(span), msg);
    if list.get_ref().is_empty() {
        return Err(err(list.span(), "no rates: give at least one, e.g. [\"1Mpps\"]".into()));
    }
    let mut rates = Vec::new();
    let mut targets: Vec<LossTarget> = Vec::new();
    for written in list.get_ref() {
        let word = written.get_ref();
        if let Some(target) = known.iter().find(|t| t.name == *word) {
            if targets.contains(target) {
                return Err(err(written.span(), format!("`{word}` is listed twice")));
            }
            targets.push(target.clone());
            continue;
        }
        if word.starts_with(|c: char| c.is_ascii_alphabetic()) && word.trim() != "max" {
            let names: Vec<&str> = known.iter().map(|t| t.name.as_str()).collect();
            let hint = crate::location::closest(word, names.iter().copied())
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            return Err(err(
                written.span(),
                format!(
                    "`{word}` is not a rate or a search target: {hint}(targets: {}; more \
                     in [search.targets])",
                    names.join(", ")
                ),
            ));
        }
        let expanded = parse_rates(word).map_err(|e| err(written.span(), e.to_string()))?;
        for rate in expanded {
            if rates.contains(&rate) {
                return Err(err(written.span(), format!("rate {rate} is listed twice")));
            }
            rates.push(rate);
        }
    }
    Ok((rates, targets))
}
