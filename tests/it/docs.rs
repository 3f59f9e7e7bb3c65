//! The documentation says what the code does: the README's methods and exit-code tables and
//! `netlab recv`'s knob help come from the code, CONTRIBUTING lists the files a new method
//! touches, and every relative link and `#anchor` of the Markdown files resolves.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use netlab::method::{methods_table, Method};

use super::util::netlab;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(file: &str) -> String {
    std::fs::read_to_string(root().join(file)).unwrap()
}

#[test]
fn readme_methods_table_is_the_descriptors() {
    let readme = read("README.md");
    let table = methods_table();
    assert!(readme.contains(&table), "README's methods table differs; it should read:\n{table}");
}

#[test]
fn recv_help_lists_every_method_and_what_each_knob_sets() {
    let out = netlab().args(["recv", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for m in Method::all() {
        assert!(help.contains(m.name()), "{m} missing from recv --help");
        for k in m.descriptor().knobs() {
            assert!(
                help.contains(&format!("  {:<14} {}", m.name(), k.sets)),
                "{m}: {:?} not in help",
                k.knob
            );
        }
    }
    for flag in
        ["--buffer", "--batch", "--frames", "--wait busy", "--max-delay", "--write", "--command"]
    {
        assert!(help.lines().any(|l| l == flag), "{flag} heading missing:\n{help}");
    }
    // A flag is spelled with dashes wherever help shows it (`--max-delay`, never `--max_delay`).
    for word in help.split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == '`') {
        if let Some(flag) = word.strip_prefix("--") {
            assert!(!flag.contains('_'), "recv --help shows --{flag}:\n{help}");
        }
    }
}

#[test]
fn readme_exit_codes_table_is_the_codes() {
    let table = netlab::exit::codes_table();
    assert_eq!(table.lines().count(), netlab::exit::Code::ALL.len() + 2);
    assert!(
        read("README.md").contains(&table),
        "README's exit codes table differs; it should read:\n{table}"
    );
}

/// The README is a student's path: short, and `doctor` comes before the first run.
#[test]
fn readme_is_short_and_says_doctor_first() {
    let readme = read("README.md");
    let lines = readme.lines().count();
    assert!(lines <= 300, "README.md has {lines} lines");
    let doctor = readme.find("sudo netlab doctor").expect("README never says `sudo netlab doctor`");
    let run = readme.find("sudo netlab run").expect("README never says `sudo netlab run`");
    assert!(doctor < run, "README runs a lab before it says `netlab doctor`");
    let docs = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "md"))
        .count();
    assert!(docs >= 4, "docs/ has {docs} Markdown files");
}

/// The Markdown files whose links must resolve: README, CONTRIBUTING, docs/ and benchmarks/.
fn markdown_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    let mut files = vec![root().join("README.md"), root().join("CONTRIBUTING.md")];
    walk(&root().join("docs"), &mut files);
    walk(&root().join("benchmarks"), &mut files);
    files
}

/// `text` without fenced code blocks and inline code spans (links there are not links).
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            out.push('\n');
            continue;
        }
        if !fenced {
            out.push_str(line);
        }
        out.push('\n');
    }
    out.split('`').step_by(2).collect()
}

/// The targets of the inline links and images in `text` (`[text](target "title")`).
fn link_targets(text: &str) -> Vec<String> {
    let prose = prose(text);
    let mut targets = Vec::new();
    let mut rest = prose.as_str();
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let end = after.find(')').unwrap_or(after.len());
        let target = after[..end].split_whitespace().next().unwrap_or("");
        targets.push(target.trim_matches(|c| c == '<' || c == '>').to_string());
        rest = &after[end..];
    }
    targets
}

/// GitHub's anchor of a heading: the text as rendered (no backticks, emphasis or link
/// targets), lower case, spaces as `-`, every character but letters, digits, `-` and `_`
/// dropped; a repeated anchor gets `-1`, `-2`, ….
fn anchors(markdown: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    for line in prose_lines(markdown) {
        let Some(heading) = line.strip_prefix('#') else { continue };
        let heading = heading.trim_start_matches('#');
        if !heading.starts_with(' ') {
            continue;
        }
        let mut text = String::new();
        let mut chars = heading.trim().chars().peekable();
        while let Some(c) = chars.next() {
            // `[text](target)`: the text only.
            if c == ']' && chars.peek() == Some(&'(') {
                for skipped in chars.by_ref() {
                    if skipped == ')' {
                        break;
                    }
                }
                continue;
            }
            text.push(c);
        }
        let mut slug = String::new();
        for c in text.chars() {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                slug.extend(c.to_lowercase());
            } else if c == ' ' {
                slug.push('-');
            }
        }
        let mut unique = slug.clone();
        let mut n = 0;
        while !seen.insert(unique.clone()) {
            n += 1;
            unique = format!("{slug}-{n}");
        }
    }
    seen
}

/// The lines of `text` outside fenced code blocks (a `#` there is no heading).
fn prose_lines(text: &str) -> Vec<&str> {
    let mut fenced = false;
    text.lines()
        .filter(|line| {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect()
}

#[test]
fn github_anchors_are_computed_as_github_does() {
    let a = anchors(
        "# netlab\n## The class's two machines\n### The lesson: `labs/mode3.toml`\n\
         ## A bridge, and the [packet](x.md)'s MAC\n## Install\n## Install\n```\n# not one\n```\n",
    );
    let want = [
        "netlab",
        "the-classs-two-machines",
        "the-lesson-labsmode3toml",
        "a-bridge-and-the-packets-mac",
        "install",
        "install-1",
    ];
    assert_eq!(a, want.iter().map(ToString::to_string).collect::<HashSet<_>>());
}

#[test]
fn every_relative_link_and_anchor_resolves() {
    let mut checked = 0;
    let mut broken = Vec::new();
    for file in markdown_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let dir = file.parent().unwrap();
        for target in link_targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = match target.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (target.as_str(), None),
            };
            let linked = if path.is_empty() { file.clone() } else { dir.join(path) };
            let shown = file.strip_prefix(root()).unwrap().display().to_string();
            checked += 1;
            if !linked.exists() {
                broken.push(format!("{shown}: {target}: no such file"));
                continue;
            }
            if let Some(anchor) = anchor {
                let Ok(linked_text) = std::fs::read_to_string(&linked) else {
                    broken.push(format!("{shown}: {target}: an anchor into a directory"));
                    continue;
                };
                if !anchors(&linked_text).contains(anchor) {
                    broken.push(format!("{shown}: {target}: no heading has that anchor"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "{} broken links:\n{}", broken.len(), broken.join("\n"));
    assert!(checked >= 30, "only {checked} links checked");
}

#[test]
fn contributing_names_files_that_exist() {
    let text = read("CONTRIBUTING.md");
    let mut named = 0;
    for path in text.split('`').skip(1).step_by(2) {
        if (path.starts_with("src/") || path.starts_with("fastnet/") || path.starts_with("tests/"))
            && !path.contains('<')
        {
            let file = root().join(path.trim_end_matches(':'));
            assert!(file.exists(), "CONTRIBUTING.md names {path}, which does not exist");
            named += 1;
        }
    }
    assert!(named >= 5, "CONTRIBUTING.md names {named} files");
    assert!(
        text.contains("## Adding a receive method") && text.contains("## Adding a send engine")
    );
}

#[test]
fn every_engine_is_in_replay_help_and_the_docs() {
    use netlab::generator::EngineKind;
    let out = netlab().args(["replay", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    let generator = read("docs/generator.md");
    for kind in EngineKind::FASTEST_FIRST {
        let d = kind.descriptor();
        assert!(help.contains(&format!("{}:", d.name())) && help.contains(d.help()), "{kind}");
        assert!(generator.contains(&format!("| `{}` |", d.name())), "{kind}: no docs row");
    }
}
