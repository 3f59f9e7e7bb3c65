//! `[search]`: the loss targets `generator.rates` may name, and the settings of the searches
//! it asks for.

use std::time::Duration;

use crate::scenario::locate::Source;
use crate::scenario::schema::RawSearch;
use crate::scenario::{
    parse_duration, parse_percent, parse_rate, GeneratorSpec, LossTarget, Rate, ScenarioError,
    SearchSpec, DEFAULT_TARGETS,
};

const DEFAULT_PRECISION: f64 = 0.05;
const DEFAULT_SHORT_TRIAL: Duration = Duration::from_millis(300);
const DEFAULT_LOWER_PPS: u64 = 10_000;

/// The targets `generator.rates` may name: NDR and PDR, and `[search.targets]` (which may
/// set their loss too).
pub(super) fn targets(
    source: &Source<'_>,
    raw: Option<&RawSearch>,
) -> Result<Vec<LossTarget>, ScenarioError> {
    let mut targets: Vec<LossTarget> = DEFAULT_TARGETS
        .iter()
        .map(|(name, loss_pct)| LossTarget { name: (*name).to_string(), loss_pct: *loss_pct })
        .collect();
    for (name, loss) in raw.map(|r| &r.targets).into_iter().flatten() {
        if !name.starts_with(|c: char| c.is_ascii_lowercase())
            || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            || name == "max"
        {
            return Err(source.error_at_key(
                &["search", "targets", name],
                format!(
                    "`{name}` is not a target name (lowercase letters, digits, `_`, starting \
                     with a letter; not `max`)"
                ),
            ));
        }
        let loss_pct = 100.0
            * parse_percent(loss.get_ref())
                .map_err(|e| source.error(Some(loss.span()), e.to_string()))?;
        match targets.iter_mut().find(|t| t.name == *name) {
            Some(t) => t.loss_pct = loss_pct,
            None => targets.push(LossTarget { name: name.clone(), loss_pct }),
        }
    }
    Ok(targets)
}

/// `[search]` validated for the `targets` `generator.rates` names.
pub(super) fn spec(
    source: &Source<'_>,
    raw: Option<&RawSearch>,
    targets: Vec<LossTarget>,
    generator: &GeneratorSpec,
) -> Result<Option<SearchSpec>, ScenarioError> {
    if targets.is_empty() {
        return match raw {
            Some(_) => Err(source.error_at_key(
                &["search"],
                "no search asked: add a target (\"ndr\", \"pdr\", …) to generator.rates",
            )),
            None => Ok(None),
        };
    }
    let err = |span: std::ops::Range<usize>, msg: String| source.error(Some(span), msg);
    let duration_of = |value: Option<&toml::Spanned<String>>, default: Duration| match value {
        None => Ok(default),
        Some(v) => {
            let d = parse_duration(v.get_ref()).map_err(|e| err(v.span(), e.to_string()))?;
            if d.is_zero() {
                return Err(err(v.span(), "the duration must be greater than zero".into()));
            }
            Ok(d)
        }
    };
    let pps_of = |value: &toml::Spanned<String>| match parse_rate(value.get_ref()) {
        Ok(Rate::Pps(pps)) => Ok(Some(pps)),
        Ok(Rate::Max) => Ok(None),
        Ok(Rate::L2BitsPerSec(_)) => Err(err(
            value.span(),
            "give the search's bounds in frames per second (e.g. \"10kpps\")".into(),
        )),
        Err(e) => Err(err(value.span(), e.to_string())),
    };
    let precision = match raw.and_then(|r| r.precision.as_ref()) {
        None => DEFAULT_PRECISION,
        Some(p) => {
            let value = parse_percent(p.get_ref()).map_err(|e| err(p.span(), e.to_string()))?;
            if !(0.001..=0.5).contains(&value) {
                return Err(err(p.span(), "the precision must be between 0.1% and 50%".into()));
            }
            value
        }
    };
    let short_trial = duration_of(raw.and_then(|r| r.short_trial.as_ref()), DEFAULT_SHORT_TRIAL)?;
    let final_trial = duration_of(raw.and_then(|r| r.final_trial.as_ref()), generator.duration)?;
    let lower_pps = match raw.and_then(|r| r.lower.as_ref()) {
        None => DEFAULT_LOWER_PPS,
        Some(l) => pps_of(l)?.ok_or_else(|| {
            err(l.span(), "the lower bound must be a rate (e.g. \"10kpps\"), not max".into())
        })?,
    };
    let upper_pps = match raw.and_then(|r| r.upper.as_ref()) {
        // No higher than the engine paces without faking the loss.
        None => {
            let ceiling = crate::generator::search_ceiling(generator.engine);
            if let (Some(ceiling), Some(l)) = (ceiling, raw.and_then(|r| r.lower.as_ref())) {
                if lower_pps >= ceiling {
                    return Err(err(
                        l.span(),
                        format!(
                            "the lower bound must be below {ceiling} pps, the most the {} \
                             engine paces without bursts that lose frames of their own; set \
                             search.upper to search higher",
                            generator.engine
                        ),
                    ));
                }
            }
            ceiling
        }
        Some(u) => {
            let upper = pps_of(u)?;
            if upper.is_some_and(|upper| upper <= lower_pps) {
                return Err(err(
                    u.span(),
                    format!("the upper bound must be above the lower bound ({lower_pps} pps)"),
                ));
            }
            upper
        }
    };
    Ok(Some(SearchSpec { targets, precision, short_trial, final_trial, lower_pps, upper_pps }))
}
