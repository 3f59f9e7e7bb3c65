//! The rooms of both crates (the top-level modules) import each other without a circle: a room
//! may use the rooms below it, never one that uses it back. Read from the source: every
//! `crate::room` path in code (comments and doc links aside). Within rooms: each command of
//! `src/cli/` one file, and "no interface named" worded once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// `room → (room it uses → first place it does)` for the crate whose sources are in `src`.
fn graph(src: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let rooms: BTreeSet<String> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod ").or_else(|| l.trim().strip_prefix("mod ")))
        .map(|l| l.trim_end_matches(';').to_string())
        .collect();
    // Items the crate root re-exports (`pub use afpacket::ifindex;`) belong to their room.
    let mut owner: BTreeMap<String, String> =
        rooms.iter().map(|r| (r.clone(), r.clone())).collect();
    for line in lib.lines() {
        if let Some(path) = line.trim().strip_prefix("pub use ") {
            let (room, items) = path.split_once("::").unwrap_or((path, ""));
            for item in items.trim_matches(|c| "{};".contains(c)).split(',') {
                owner.insert(item.trim().to_string(), room.to_string());
            }
        }
    }
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for path in rust_files(src) {
        let rel = path.strip_prefix(src).unwrap();
        let first = rel.iter().next().unwrap().to_string_lossy();
        let room = first.trim_end_matches(".rs").to_string();
        if !rooms.contains(&room) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap();
            for (i, _) in code.match_indices("crate::") {
                let rest = &code[i + "crate::".len()..];
                let names: Vec<&str> = match rest.strip_prefix('{') {
                    Some(group) => group
                        .split('}')
                        .next()
                        .unwrap()
                        .split(',')
                        .map(|s| s.trim().split("::").next().unwrap())
                        .collect(),
                    None => {
                        vec![rest.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap()]
                    }
                };
                for name in names {
                    let Some(target) = owner.get(name) else { continue };
                    if *target != room {
                        graph
                            .entry(room.clone())
                            .or_default()
                            .entry(target.clone())
                            .or_insert_with(|| format!("{}:{}", rel.display(), n + 1));
                    }
                }
            }
        }
    }
    graph
}

/// A circle through `from`, as `a → b → … → a`, if there is one.
fn circle(graph: &BTreeMap<String, BTreeMap<String, String>>, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![(from.to_string(), vec![from.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((room, path)) = stack.pop() {
        for next in graph.get(&room).into_iter().flat_map(BTreeMap::keys) {
            let mut path = path.clone();
            path.push(next.clone());
            if next == from {
                return Some(path);
            }
            if seen.insert(next.clone()) {
                stack.push((next.clone(), path));
            }
        }
    }
    None
}

fn assert_no_circle(src: PathBuf) {
    let graph = graph(&src);
    assert!(graph.len() > 5, "{} rooms found in {}", graph.len(), src.display());
    for room in graph.keys() {
        if let Some(path) = circle(&graph, room) {
            let wheres: Vec<String> = path
                .windows(2)
                .map(|w| format!("{} → {} at {}", w[0], w[1], graph[&w[0]][&w[1]]))
                .collect();
            panic!(
                "import circle in {}: {}\n{}",
                src.display(),
                path.join(" → "),
                wheres.join("\n")
            );
        }
    }
}

#[test]
fn netlab_rooms_have_no_import_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    assert_no_circle(src.clone());
    // The rooms the issues named stay in order: methods below scenario and receiver, location
    // below scenario and topology, the run's results model below the runner and the report
    // (its views), the machine's facts below the agent that reports them.
    let graph = graph(&src);
    for (low, high) in [
        ("method", "scenario"),
        ("method", "receiver"),
        ("location", "topology"),
        ("results", "runner"),
        ("results", "report"),
        ("host_facts", "agent"),
        ("host_facts", "results"),
    ] {
        assert!(graph[high].contains_key(low), "{high} no longer uses {low}");
        assert!(!graph.get(low).is_some_and(|g| g.contains_key(high)), "{low} uses {high}");
    }
    // The agent speaks the protocol; what a report shows is not its business.
    assert!(
        !graph["agent"].contains_key("report"),
        "agent uses report at {}",
        graph["agent"]["report"]
    );
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut files = vec![dir.to_path_buf()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
    found
}

/// The code of every `.rs` file under `dir` (tests modules and comments left out), as
/// `(path relative to dir, line number, line)`.
fn code_lines(dir: &Path) -> Vec<(PathBuf, usize, String)> {
    let mut lines = Vec::new();
    for path in rust_files(dir) {
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        let rel = path.strip_prefix(dir).unwrap().to_path_buf();
        for (n, line) in code.lines().enumerate() {
            let line = line.split("//").next().unwrap().trim();
            if !line.is_empty() {
                lines.push((rel.clone(), n + 1, line.to_string()));
            }
        }
    }
    lines
}

/// Each command of `src/cli/` is one room: no command's file uses another command's file
/// (`mod.rs` dispatches to them; `flag.rs` holds the flag groups several commands share).
#[test]
fn no_command_file_uses_another() {
    let cli = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cli");
    let commands: Vec<String> = std::fs::read_dir(&cli)
        .unwrap()
        .map(|e| e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|name| name != "mod" && name != "flag")
        .collect();
    assert!(commands.len() > 10, "commands found: {commands:?}");
    let mut found = Vec::new();
    for (file, n, line) in code_lines(&cli) {
        let own = file.file_stem().unwrap().to_string_lossy().into_owned();
        if !commands.contains(&own) {
            continue;
        }
        for prefix in ["super::", "crate::cli::"] {
            for (i, _) in line.match_indices(prefix) {
                let rest = &line[i + prefix.len()..];
                let names: Vec<&str> = match rest.strip_prefix('{') {
                    Some(group) => group.split('}').next().unwrap().split(',').collect(),
                    None => vec![rest],
                };
                for name in names {
                    let name = name.trim().split(|c: char| !c.is_alphanumeric() && c != '_');
                    let name = name.into_iter().next().unwrap();
                    if name != own && commands.iter().any(|c| c == name) {
                        found.push(format!("cli/{}:{n}: {line}", file.display()));
                    }
                }
            }
        }
    }
    assert!(found.is_empty(), "a command's file uses another's:\n{}", found.join("\n"));
}

/// "No interface named …" is worded once, by `topology::interface::NotFound`; every caller
/// renders that one message as its flag, scenario key or field.
#[test]
fn no_interface_is_worded_once() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let places: Vec<String> = code_lines(&src)
        .into_iter()
        .filter(|(_, _, line)| line.contains("no interface named"))
        .map(|(file, n, line)| format!("{}:{n}: {line}", file.display()))
        .collect();
    assert_eq!(places.len(), 1, "worded in {} places:\n{}", places.len(), places.join("\n"));
    assert!(places[0].starts_with("topology/interface.rs:"), "worded in {}", places[0]);
}

#[test]
fn fastnet_rooms_have_no_import_circle() {
    assert_no_circle(Path::new(env!("CARGO_MANIFEST_DIR")).join("fastnet/src"));
}

#[test]
fn the_circle_finder_finds_circles() {
    let mut g: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        g.entry(a.into()).or_default().insert(b.into(), String::new());
    }
    assert_eq!(circle(&g, "a").unwrap(), ["a", "b", "c", "a"]);
    assert_eq!(circle(&g, "d"), None);
}

/// The library speaks of fields, never of command-line flags: outside `src/cli/` (the edge that
/// renders fields as flags) no string in code names a flag. `doctor.rs` is the report of
/// `netlab doctor` itself and tells the user which netlab command to type.
#[test]
fn no_flag_text_in_the_library() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for (file, n, line) in code_lines(&src) {
        if file.starts_with("cli") || file == Path::new("doctor.rs") {
            continue;
        }
        let flag = line.match_indices("--").any(|(i, _)| {
            line[i + 2..].starts_with(|c: char| c.is_ascii_lowercase())
                && !line[..i].ends_with(|c: char| c.is_ascii_alphanumeric())
        });
        if flag {
            found.push(format!("{}:{n}: {line}", file.display()));
        }
    }
    assert!(found.is_empty(), "flag text in library code:\n{}", found.join("\n"));
}
