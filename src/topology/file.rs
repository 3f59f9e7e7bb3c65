//! The `[topology]` table of a scenario file, read on its own (`netlab topo up FILE`): every
//! other table is ignored here — `netlab run` and `netlab check` validate those.

use std::path::Path;

use serde::Deserialize;

use super::spec::TopologySpec;
use crate::exit::bad_input;
use crate::location::line_column;

/// The parts of a scenario file `netlab topo up` reads.
#[derive(Debug, Deserialize)]
struct TopologyFile {
    /// The scenario's name: the default lab name.
    name: Option<String>,
    topology: TopologySpec,
    #[serde(flatten)]
    _rest: toml::Table,
}

/// A scenario file's `[topology]` table and the lab name it suggests (the file's `name` key,
/// or else its stem). Errors are bad input, one line: `FILE:LINE:COLUMN: message`.
pub fn read_topology(path: &Path) -> anyhow::Result<(String, TopologySpec)> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad_input(format!("{}: cannot read: {e}", path.display())))?;
    let file: TopologyFile = toml::from_str(&text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |span| line_column(&text, span.start));
        bad_input(format!("{}:{line}:{column}: {}", path.display(), e.message().trim()))
    })?;
    // A lab placed on another host is built there by `netlab run`, never here.
    let placed = [
        (file.topology.host.is_some(), &["topology", "host"][..]),
        (
            file.topology.generator.as_ref().and_then(|e| e.host()).is_some(),
            &["topology", "generator", "host"][..],
        ),
        (
            file.topology.receiver.as_ref().and_then(|e| e.host()).is_some(),
            &["topology", "receiver", "host"][..],
        ),
    ];
    if let Some((_, keys)) = placed.iter().find(|(is, _)| *is) {
        let span = toml_edit::ImDocument::parse(text.as_str()).ok().and_then(|doc| {
            let mut item = doc.as_item();
            for key in *keys {
                item = item.get(key)?;
            }
            item.span()
        });
        let (line, column) = span.map_or((1, 1), |s| line_column(&text, s.start));
        return Err(bad_input(format!(
            "{}:{line}:{column}: {}: this lab is placed on a host of [hosts], which `netlab run` \
             builds there; `netlab topo` builds labs on this machine only",
            path.display(),
            keys.join(".")
        )));
    }
    let name = file.name.unwrap_or_else(|| {
        path.file_stem().map_or_else(|| "lab".to_string(), |s| s.to_string_lossy().into_owned())
    });
    Ok((name, file.topology))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> anyhow::Result<(String, TopologySpec)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.toml");
        std::fs::write(&path, text).unwrap();
        read_topology(&path).map_err(|e| anyhow::anyhow!("{e:#}"))
    }

    #[test]
    fn other_tables_are_ignored_and_the_name_key_wins() {
        let (name, spec) =
            read("name = \"m3\"\n[topology]\nkind = \"veth\"\n[packet]\nfile = \"x\"\n").unwrap();
        assert_eq!(name, "m3");
        assert_eq!(spec.kind, super::super::Kind::Veth);
        let (name, _) = read("[topology]\nkind = \"bridge\"\n").unwrap();
        assert_eq!(name, "lab");
    }

    #[test]
    fn errors_name_file_line_and_column_on_one_line() {
        let err = read("name = \"x\"\n[topology]\nkind = \"vethh\"\n").unwrap_err().to_string();
        assert!(err.contains("lab.toml:3:8: unknown variant `vethh`"), "{err}");
        assert!(!err.contains('\n'), "{err}");
        let err = read("[topology]\nkind = \"veth\"\nrx_cor = 1\n").unwrap_err().to_string();
        assert!(err.contains("lab.toml:3:1: unknown field `rx_cor`"), "{err}");
        let err = read("[packet]\n").unwrap_err().to_string();
        assert!(err.contains("missing field `topology`"), "{err}");
    }
}
