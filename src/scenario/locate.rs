//! Where in a scenario file something is: byte span → `line:column` and key path
//! (`generator.rates[2]`), and the one-line error that names both.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml_edit::{ImDocument, Item, TableLike, Value};

use crate::exit::{Field, Section};
use crate::location::{closest, line_column};

/// A problem in a scenario file, located: `labs/x.toml:12:1: generator.rates[2]: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    /// The file as the user named it.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The key path (`generator.rates[2]`), empty when the file could not be parsed that far.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// The text of a scenario file and its name, to turn spans into [`ScenarioError`]s.
pub(super) struct Source<'a> {
    file: &'a Path,
    text: &'a str,
    doc: Option<ImDocument<&'a str>>,
}

impl<'a> Source<'a> {
    pub(super) fn new(file: &'a Path, text: &'a str) -> Self {
        Source { file, text, doc: ImDocument::parse(text).ok() }
    }

    /// An error at byte `span` (the start counts), with the key path found there.
    pub(super) fn error(
        &self,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> ScenarioError {
        let offset = span.as_ref().map_or(0, |s| s.start.min(self.text.len()));
        let (line, column) = line_column(self.text, offset);
        let path = match (&self.doc, span) {
            (Some(doc), Some(_)) => path_at(doc, offset),
            _ => String::new(),
        };
        ScenarioError { file: self.file.to_path_buf(), line, column, path, message: message.into() }
    }

    /// An error at the value of `keys` (e.g. `["topology", "rx_core"]`), or at the start of the
    /// file when it is not written there.
    pub(super) fn error_at_key(&self, keys: &[&str], message: impl Into<String>) -> ScenarioError {
        let span = self.doc.as_ref().and_then(|doc| {
            let mut item = doc.as_item();
            for key in keys {
                item = item.get(key)?;
            }
            item.span()
        });
        let mut error = self.error(span.clone(), message);
        if span.is_none() {
            error.path = keys.join(".");
        }
        error
    }

    /// An error about `field` at its value, else at the header of its table, else at the start
    /// of the file; the path is always the field's (`receiver[1].buffer`, `generator.batch`).
    pub(super) fn error_at_field(
        &self,
        field: &Field,
        receiver: usize,
        message: impl Into<String>,
    ) -> ScenarioError {
        let key = field.key.as_str();
        let (table, path) = match field.section {
            Section::Top => (None, key.to_string()),
            Section::Topology => (Some("topology"), format!("topology.{key}")),
            Section::Generator => (Some("generator"), format!("generator.{key}")),
            Section::Receiver => (Some("receiver"), format!("receiver[{receiver}].{key}")),
            Section::Packet => (Some("packet"), format!("packet.{key}")),
        };
        let span = self.doc.as_ref().and_then(|doc| {
            let table_item = match (field.section, table) {
                (_, None) => doc.as_item(),
                (Section::Receiver, Some(t)) => {
                    let table = doc.get(t)?.as_array_of_tables()?.get(receiver)?;
                    return table.get(key).and_then(Item::span).or_else(|| table.span());
                }
                (_, Some(t)) => doc.get(t)?,
            };
            table_item.get(key).and_then(Item::span).or_else(|| match table_item {
                Item::Table(t) => t.span(),
                _ => None,
            })
        });
        let mut error = self.error(span, message);
        error.path = path;
        error
    }

    /// Turns a serde/TOML error into a located one, rewriting serde's wording into the file's
    /// terms and adding "did you mean".
    pub(super) fn toml_error(&self, err: &toml::de::Error) -> ScenarioError {
        let message = err.message().trim().lines().map(str::trim).collect::<Vec<_>>().join("; ");
        self.error(err.span(), explain(&message))
    }
}

/// Rewrites serde's messages: `unknown field `x`, expected one of `a`, `b`` → `unknown key `x`;
/// did you mean `a`? (valid keys: a, b)`, and the same for unknown variants (values).
fn explain(message: &str) -> String {
    for (serde_word, ours, plural) in [
        ("unknown field", "unknown key", "valid keys"),
        ("unknown variant", "unknown value", "valid values"),
    ] {
        let Some(rest) = message.strip_prefix(serde_word) else { continue };
        let names: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
        let Some((name, valid)) = names.split_first() else { continue };
        let suggestion = closest(name, valid.iter().copied())
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        let valid = if valid.is_empty() { "none".to_string() } else { valid.join(", ") };
        return format!("{ours} `{name}`{suggestion} ({plural}: {valid})");
    }
    if let Some(rest) = message.strip_prefix("missing field") {
        return format!("missing key{rest}");
    }
    if message.starts_with("invalid type: integer") && message.ends_with("expected a string") {
        return format!(
            "{message}: quantities are strings with their unit, e.g. \"100kpps\", \"4MiB\", \"3s\""
        );
    }
    message.to_string()
}

/// The key path of the innermost key or value that contains `offset`.
fn path_at(doc: &ImDocument<&str>, offset: usize) -> String {
    let mut path = Vec::new();
    let Some(root) = doc.as_item().as_table_like() else { return String::new() };
    walk_table(root, offset, &mut path);
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                    out.push_str(&k);
                } else {
                    out.push_str(&format!("{k:?}"));
                }
            }
        }
    }
    out
}

enum Segment {
    Key(String),
    Index(usize),
}

fn contains(span: Option<Range<usize>>, offset: usize) -> bool {
    span.is_some_and(|s| s.contains(&offset) || (s.is_empty() && s.start == offset))
}

fn walk_table(table: &dyn TableLike, offset: usize, path: &mut Vec<Segment>) -> bool {
    for (key, item) in table.iter() {
        path.push(Segment::Key(key.to_string()));
        let key_span = table.get_key_value(key).and_then(|(k, _)| k.span());
        if contains(key_span, offset) || walk_item(item, offset, path) {
            return true;
        }
        path.pop();
    }
    false
}

fn walk_item(item: &Item, offset: usize, path: &mut Vec<Segment>) -> bool {
    match item {
        Item::None => false,
        Item::Value(value) => walk_value(value, offset, path),
        Item::Table(table) => walk_table(table, offset, path) || contains(table.span(), offset),
        Item::ArrayOfTables(tables) => {
            for (i, table) in tables.iter().enumerate() {
                path.push(Segment::Index(i));
                if walk_table(table, offset, path) || contains(table.span(), offset) {
                    return true;
                }
                path.pop();
            }
            false
        }
    }
}

fn walk_value(value: &Value, offset: usize, path: &mut Vec<Segment>) -> bool {
    match value {
        Value::Array(array) => {
            for (i, element) in array.iter().enumerate() {
                path.push(Segment::Index(i));
                if walk_value(element, offset, path) {
                    return true;
                }
                path.pop();
            }
        }
        Value::InlineTable(table) if walk_table(table, offset, path) => return true,
        _ => {}
    }
    contains(value.span(), offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locate(text: &str, needle: &str) -> ScenarioError {
        let start = text.find(needle).unwrap();
        Source::new(Path::new("x.toml"), text).error(Some(start..start + needle.len()), "m")
    }

    #[test]
    fn spans_become_line_column_and_key_path() {
        let text = "name = \"x\"\n[generator]\nrates = [\"1Mpps\", \"10 Mpps\"]\n\
                    [[receiver]]\nmethod = \"pcap\"\n[[receiver]]\nmethod = \"socket\"\n\
                    [packet]\nmacs = { src = \"02:00:00:00:00:01\" }\n";
        let e = locate(text, "\"10 Mpps\"");
        assert_eq!((e.line, e.column, e.path.as_str()), (3, 19, "generator.rates[1]"));
        assert_eq!(e.to_string(), "x.toml:3:19: generator.rates[1]: m");
        let e = locate(text, "\"socket\"");
        assert_eq!((e.line, e.path.as_str()), (7, "receiver[1].method"));
        let e = locate(text, "src");
        assert_eq!(e.path, "packet.macs.src");
        let e = locate(text, "name");
        assert_eq!((e.line, e.column, e.path.as_str()), (1, 1, "name"));
    }

    #[test]
    fn fields_are_found_at_their_value_else_their_table() {
        let text = "name = \"x\"\n[generator]\nbatch = 9\n[[receiver]]\nmethod = \"pcap\"\n  \
                    [[ receiver ]]\nmethod = \"socket\"\nbuffer = \"1B\"\n";
        let source = Source::new(Path::new("x.toml"), text);
        let at = |section, key: &str, i| {
            let e = source.error_at_field(&Field::new(section, key), i, "m");
            (e.line, e.column, e.path)
        };
        assert_eq!(at(Section::Receiver, "buffer", 1), (8, 10, "receiver[1].buffer".into()));
        assert_eq!(at(Section::Receiver, "batch", 1), (6, 3, "receiver[1].batch".into()));
        assert_eq!(at(Section::Receiver, "batch", 0), (4, 1, "receiver[0].batch".into()));
        assert_eq!(at(Section::Generator, "batch", 0), (3, 9, "generator.batch".into()));
        assert_eq!(at(Section::Generator, "burst", 0), (2, 1, "generator.burst".into()));
        assert_eq!(at(Section::Topology, "mtu", 0), (1, 1, "topology.mtu".into()));
        assert_eq!(at(Section::Top, "name", 0), (1, 8, "name".into()));
        let e = source.error_at_field(&Field::new(Section::Generator, "batch"), 0, "too big");
        assert_eq!(e.to_string(), "x.toml:3:9: generator.batch: too big");
    }

    #[test]
    fn serde_messages_get_did_you_mean() {
        assert_eq!(
            explain("unknown field `ratez`, expected one of `rates`, `duration`"),
            "unknown key `ratez`; did you mean `rates`? (valid keys: rates, duration)"
        );
        assert_eq!(
            explain("unknown field `zzz`, expected `method`"),
            "unknown key `zzz` (valid keys: method)"
        );
        assert_eq!(
            explain("unknown variant `vet`, expected one of `veth`, `bridge`, `interface`"),
            "unknown value `vet`; did you mean `veth`? (valid values: veth, bridge, interface)"
        );
        assert_eq!(explain("missing field `rates`"), "missing key `rates`");
    }
}
