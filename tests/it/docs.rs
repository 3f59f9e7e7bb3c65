//! The documentation says what the code does: the README's methods table and `netlab recv`'s
//! knob help come from the methods' descriptors, and CONTRIBUTING lists the files a new method
//! touches.

use std::path::Path;

use netlab::method::{methods_table, Method};

use super::util::netlab;

fn read(file: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap()
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
    for flag in ["--buffer", "--batch", "--frames", "--wait busy", "--write", "--command"] {
        assert!(help.lines().any(|l| l == flag), "{flag} heading missing:\n{help}");
    }
}

#[test]
fn contributing_names_files_that_exist() {
    let text = read("CONTRIBUTING.md");
    let mut named = 0;
    for path in text.split('`').skip(1).step_by(2) {
        if (path.starts_with("src/") || path.starts_with("fastnet/") || path.starts_with("tests/"))
            && !path.contains('<')
        {
            let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(path.trim_end_matches(':'));
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
fn every_engine_is_in_replay_help_and_the_readme() {
    use netlab::generator::EngineKind;
    let out = netlab().args(["replay", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    let readme = read("README.md");
    for kind in EngineKind::FASTEST_FIRST {
        let d = kind.descriptor();
        assert!(help.contains(&format!("{}:", d.name())) && help.contains(d.help()), "{kind}");
        assert!(readme.contains(&format!("| `{}` |", d.name())), "{kind}: no README row");
    }
}
