//! `[[receiver]]`: each receiver's method, label, command and knobs (only those its method
//! uses).

use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use super::positive;
use crate::method::{parse_xdp_mode, parse_zero_copy, Knob, Wait};
use crate::scenario::locate::Source;
use crate::scenario::schema::RawReceiver;
use crate::scenario::{parse_duration, parse_size, Method, ReceiverSpec, ScenarioError};

/// The `[[receiver]]` tables in file order (at least one, labels unique), files resolved
/// against `dir`, the scenario file's directory.
pub(super) fn receivers(
    source: &Source<'_>,
    dir: &Path,
    raw: Vec<RawReceiver>,
) -> Result<Vec<ReceiverSpec>, ScenarioError> {
    if raw.is_empty() {
        return Err(source.error(
            None,
            "no receiver: add at least one [[receiver]] table with a `method`".to_string(),
        ));
    }
    let mut receivers: Vec<ReceiverSpec> = Vec::new();
    for r in raw {
        let receiver = receiver(source, dir, r, &receivers)?;
        receivers.push(receiver);
    }
    Ok(receivers)
}

/// One `[[receiver]]`, its label not among those of `before`.
fn receiver(
    source: &Source<'_>,
    dir: &Path,
    r: RawReceiver,
    before: &[ReceiverSpec],
) -> Result<ReceiverSpec, ScenarioError> {
    let err = |span: Range<usize>, msg: String| source.error(Some(span), msg);
    let method =
        Method::parse(r.method.get_ref()).map_err(|e| err(r.method.span(), e.to_string()))?;
    let label = label(source, &r, method)?;
    if before.iter().any(|other| other.label == label) {
        let span = r.name.as_ref().map_or(r.method.span(), |n| n.span());
        let fix = if r.name.is_some() { "rename one" } else { "give one a `name`" };
        return Err(err(span, format!("receiver `{label}` is listed twice: {fix}")));
    }
    let command = command(source, &r, method)?;
    unused_knobs(source, &r, method)?;
    let buffer = match &r.buffer {
        None => None,
        Some(b) => Some(parse_size(b.get_ref()).map_err(|e| err(b.span(), e.to_string()))?),
    };
    let write = match &r.write {
        Some(w) if w.get_ref().trim().is_empty() => {
            return Err(err(w.span(), "the file name is empty".into()))
        }
        Some(w) => Some(dir.join(w.get_ref())),
        None => None,
    };
    let max_delay = match &r.max_delay {
        None => None,
        Some(d) => {
            let delay = parse_duration(d.get_ref()).map_err(|e| err(d.span(), e.to_string()))?;
            let limit = fastnet::xdp::MAX_DELAY_LIMIT;
            if delay > limit {
                return Err(err(d.span(), format!("{delay:?} is more than {limit:?}")));
            }
            Some(delay)
        }
    };
    let xdp_mode = match &r.xdp_mode {
        None => None,
        Some(m) => parse_xdp_mode(m.get_ref()).map_err(|e| err(m.span(), e))?,
    };
    let zero_copy = match &r.zero_copy {
        None => None,
        Some(m) => parse_zero_copy(m.get_ref()).map_err(|e| err(m.span(), e))?,
    };
    Ok(ReceiverSpec {
        method,
        label,
        write,
        xdp_mode,
        zero_copy,
        buffer,
        batch: positive(source, r.batch, "batch")?,
        frames: positive(source, r.frames, "frames")?,
        wait: r.wait.map(Spanned::into_inner),
        max_delay,
        command,
    })
}

/// `name`, or the method's name (an `exec` receiver must have a name).
fn label(source: &Source<'_>, r: &RawReceiver, method: Method) -> Result<String, ScenarioError> {
    match &r.name {
        Some(name) => {
            let n = name.get_ref();
            if n.is_empty() || n.len() > 32 || !n.chars().all(|c| c.is_ascii_graphic()) {
                return Err(source.error(
                    Some(name.span()),
                    format!(
                        "`{n}` is not a receiver name (1 to 32 printable characters, no spaces)"
                    ),
                ));
            }
            Ok(n.clone())
        }
        None if method == Method::Exec => Err(source.error(
            Some(r.method.span()),
            "an exec receiver needs a `name` (e.g. name = \"student\")",
        )),
        None => Ok(method.name().to_string()),
    }
}

/// `command`: required for `exec`, refused for any other method.
fn command(
    source: &Source<'_>,
    r: &RawReceiver,
    method: Method,
) -> Result<Option<String>, ScenarioError> {
    match (&r.command, method) {
        (Some(c), Method::Exec) if c.get_ref().trim().is_empty() => {
            Err(source.error(Some(c.span()), "the command is empty"))
        }
        (Some(c), Method::Exec) => Ok(Some(c.get_ref().clone())),
        (None, Method::Exec) => Err(source.error(
            Some(r.method.span()),
            "an exec receiver needs a `command` (e.g. command = \"./rx {iface}\")",
        )),
        (Some(c), _) => Err(source
            .error(Some(c.span()), format!("`command` is for method = \"exec\", not `{method}`"))),
        (None, _) => Ok(None),
    }
}

/// Knobs the method does not use: the receiver's own table says which.
fn unused_knobs(source: &Source<'_>, r: &RawReceiver, method: Method) -> Result<(), ScenarioError> {
    let knobs = [
        (Knob::Buffer, r.buffer.as_ref().map(|b| b.span())),
        (Knob::Batch, r.batch.as_ref().map(|b| b.span())),
        (Knob::Frames, r.frames.as_ref().map(|f| f.span())),
        (Knob::BusyWait, r.wait.as_ref().filter(|w| *w.get_ref() == Wait::Busy).map(|w| w.span())),
        (Knob::Write, r.write.as_ref().map(|w| w.span())),
        (Knob::MaxDelay, r.max_delay.as_ref().map(|d| d.span())),
        (Knob::XdpMode, r.xdp_mode.as_ref().filter(|m| m.get_ref() != "auto").map(|m| m.span())),
        (Knob::ZeroCopy, r.zero_copy.as_ref().filter(|m| m.get_ref() != "auto").map(|m| m.span())),
    ];
    for (knob, span) in knobs {
        if let Some(span) = span.filter(|_| !knob.used_by(method)) {
            return Err(source.error(
                Some(span),
                format!(
                    "`{}` does not apply to method `{method}` (used by: {})",
                    knob.written(),
                    knob.users().join(", ")
                ),
            ));
        }
    }
    Ok(())
}
