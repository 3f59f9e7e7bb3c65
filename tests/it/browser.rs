//! `report.html` in a real browser: headless Chromium (Debian's `chromium`) loads the page of a
//! run with searches, takes a screenshot, and the test checks the page it rendered has the
//! table's method names, that the browser loaded no file but the page, and that it logged no
//! console message (a script error, a refused resource). Under `CI=true` a missing Chromium
//! fails the test.

use std::path::Path;
use std::process::{Command, Output};

use crate::report::searched_run;

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Headless Chromium on `page` with `extra` arguments, in a profile of its own; as root it
/// needs `--no-sandbox`; everything that would reach the network is switched off.
fn chromium(page: &Path, extra: &[&str]) -> Output {
    let profile = tempfile::tempdir().unwrap();
    let mut profile_arg = std::ffi::OsString::from("--user-data-dir=");
    profile_arg.push(profile.path());
    Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=1",
        ])
        .arg(profile_arg)
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs")
}

#[test]
fn report_html_renders_in_chromium_with_the_table_and_no_errors() {
    let test = "report_html_renders_in_chromium_with_the_table_and_no_errors";
    let found =
        Command::new("chromium").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(!under_ci(), "{test}: `chromium` is required under CI but is not installed");
        eprintln!("SKIPPED {test}: `chromium` is not installed (scripts/deps installs it)");
        return;
    }
    let (tmp, dir) = searched_run();
    let out = crate::util::netlab().arg("report").arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = dir.join("report.html");

    // The DOM as rendered.
    let out = chromium(&page, &["--dump-dom"]);
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "chromium failed: {log}");
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    for name in ["fastnet:3", "pcap", "socket", "NDR Mpps", "MRR Mpps"] {
        assert!(dom.contains(&format!(">{name}")), "rendered page lacks {name}");
    }
    assert_eq!(dom.matches("<svg").count(), 6, "the six plots, inline");
    // Where the frames were lost: its section, with the stacked bars whose legend names the
    // stages in the class's words, the interface and `unaccounted` among them.
    let section = dom.split_once(">Where the frames were lost</h2>").expect("the section").1;
    let section = section.split("<h2>").next().unwrap();
    for name in ["fastnet:3", "pcap", "socket"] {
        assert!(section.contains(&format!("<th>{name}<br>")), "no row of {name}: {section}");
    }
    let bars = section.split_once("<svg").expect("the stacked bars in the section").1;
    let bars = bars.split("</svg>").next().unwrap();
    for legend in ["receiving interface", "unaccounted", "reached the app"] {
        assert!(bars.contains(legend), "the bars' legend lacks {legend}");
    }
    // The terms, explained before the tables that use them.
    let terms = dom.split_once("<h2>Results</h2>").expect("the results").0;
    for term in ["maximum receive rate", "no-drop rate", "partial drop rate", "NAPI", "livelock"] {
        assert!(terms.contains(term), "the page does not explain {term} before its tables");
    }
    assert_console_clean(&log, &page);

    // The screenshot: a real image of the page.
    let shot = tmp.path().join("report.png");
    let out =
        chromium(&page, &[&format!("--screenshot={}", shot.display()), "--window-size=1200,2000"]);
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "chromium failed: {log}");
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot ({e}): {log}"));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 20_000, "{} bytes", png.len());
    assert_console_clean(&log, &page);
}

/// No console message (`:CONSOLE` lines: script errors, refused resources) and no file loaded
/// but the page itself (`FileURLLoader::Start:` lines at `--v=1`).
fn assert_console_clean(log: &str, page: &Path) {
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages:\n{}", console.join("\n"));
    let own = format!("file://{}", page.display());
    let loads: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split_once("FileURLLoader::Start: ").map(|(_, url)| url.trim()))
        .collect();
    assert!(loads.contains(&own.as_str()), "the page was not loaded: {loads:?}");
    assert!(loads.iter().all(|url| *url == own), "other files loaded: {loads:?}");
    // Chromium's own background requests may fail here (no network); the page's may not.
    let failed: Vec<&str> =
        log.lines().filter(|l| l.contains("file://") && l.contains("ERR_")).collect();
    assert!(failed.is_empty(), "load errors:\n{}", failed.join("\n"));
}
