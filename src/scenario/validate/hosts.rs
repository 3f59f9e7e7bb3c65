//! `[hosts]`, and where `[topology]` places the roles on them.

use toml::Spanned;

use crate::scenario::locate::Source;
use crate::scenario::schema::{RawHost, RawScenario};
use crate::scenario::{HostSpec, Place, Placement, ScenarioError, LOCAL_HOST};

/// `[hosts]` (with this machine among them) and where `[topology]` places the roles.
pub(super) fn hosts(
    source: &Source<'_>,
    raw: &RawScenario,
) -> Result<(Vec<HostSpec>, Placement), ScenarioError> {
    let mut hosts: Vec<HostSpec> = Vec::new();
    for (name, value) in &raw.hosts {
        let place = place(source, name, value, &hosts)?;
        hosts.push(HostSpec { name: name.clone(), place });
    }
    let local = match hosts.iter().find(|h| h.place == Place::Local) {
        Some(h) => h.name.clone(),
        None => {
            if let Some(h) = hosts.iter().find(|h| h.name == LOCAL_HOST) {
                return Err(source.error_at_key(
                    &["hosts", &h.name],
                    format!("`{LOCAL_HOST}` names this machine: call this host something else"),
                ));
            }
            hosts.push(HostSpec { name: LOCAL_HOST.to_string(), place: Place::Local });
            LOCAL_HOST.to_string()
        }
    };
    let placement = placement(source, raw, local)?;
    Ok((hosts, placement))
}

/// The host `name` of `[hosts]`, after the hosts `before` it.
fn place(
    source: &Source<'_>,
    name: &str,
    value: &Spanned<RawHost>,
    before: &[HostSpec],
) -> Result<Place, ScenarioError> {
    if name.is_empty()
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(source.error(
            Some(value.span()),
            format!("`{name}` is not a host name (letters, digits, `.`, `_`, `-`)"),
        ));
    }
    match value.get_ref() {
        RawHost::Word(w) if w == "local" => {
            if let Some(other) = before.iter().find(|h| h.place == Place::Local) {
                return Err(source.error(
                    Some(value.span()),
                    format!("`{}` is already this machine: one host can be \"local\"", other.name),
                ));
            }
            Ok(Place::Local)
        }
        RawHost::Word(w) => Err(source.error(
            Some(value.span()),
            format!("`{w}` is not a host: \"local\" or {{ ssh = \"user@host\", ssh_options = […], netlab = \"…\" }}"),
        )),
        RawHost::Ssh(ssh) => {
            let target = ssh.ssh.trim();
            if target.is_empty() || target.starts_with('-') || target.contains(char::is_whitespace)
            {
                return Err(source.error_at_key(
                    &["hosts", name, "ssh"],
                    format!(
                        "`{}` is not an ssh destination (user@host, or a Host of your ssh config)",
                        ssh.ssh
                    ),
                ));
            }
            let netlab = ssh.netlab.clone().unwrap_or_else(|| "netlab".to_string());
            if netlab.trim().is_empty() {
                return Err(source.error_at_key(&["hosts", name, "netlab"], "the program is empty"));
            }
            Ok(Place::Ssh { target: target.to_string(), options: ssh.ssh_options.clone(), netlab })
        }
    }
}

/// The hosts `[topology]` places the roles on: `topology.host` for the whole lab, else
/// `generator.host` and `receiver.host` of an `interface` pair, else `local` (this machine).
fn placement(
    source: &Source<'_>,
    raw: &RawScenario,
    local: String,
) -> Result<Placement, ScenarioError> {
    let known = |name: &str, keys: &[&str]| -> Result<String, ScenarioError> {
        if raw.hosts.contains_key(name) {
            return Ok(name.to_string());
        }
        let mean = crate::location::closest(name, raw.hosts.keys().map(String::as_str))
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_default();
        let listed = if raw.hosts.is_empty() {
            "there is no [hosts] table".to_string()
        } else {
            format!("hosts: {}", raw.hosts.keys().cloned().collect::<Vec<_>>().join(", "))
        };
        Err(source.error_at_key(keys, format!("no host `{name}` in [hosts]{mean} ({listed})")))
    };
    let topo = &raw.topology;
    let placed = |endpoint: &Option<crate::topology::Endpoint>| {
        endpoint.as_ref().and_then(|e| e.host().map(str::to_string))
    };
    let (gen_host, rx_host) = (placed(&topo.generator), placed(&topo.receiver));
    if let Some(lab_host) = &topo.host {
        let lab_host = known(lab_host, &["topology", "host"])?;
        for (key, host) in [("generator", &gen_host), ("receiver", &rx_host)] {
            if host.is_some() {
                return Err(source.error_at_key(
                    &["topology", key, "host"],
                    "the whole lab is placed with topology.host: give the interface's name alone",
                ));
            }
        }
        return Ok(Placement { generator: lab_host.clone(), receiver: lab_host });
    }
    if topo.kind != crate::topology::Kind::Interface {
        for (key, host) in [("generator", &gen_host), ("receiver", &rx_host)] {
            if host.is_some() {
                return Err(source.error_at_key(
                    &["topology", key, "host"],
                    format!(
                        "roles go on hosts one by one with kind = \"interface\"; a {} lab is \
                         placed whole with topology.host",
                        crate::topology::plan::kind_name(topo.kind)
                    ),
                ));
            }
        }
    }
    let generator = match &gen_host {
        Some(h) => known(h, &["topology", "generator", "host"])?,
        None => local.clone(),
    };
    let receiver = match &rx_host {
        Some(h) => known(h, &["topology", "receiver", "host"])?,
        None => local,
    };
    Ok(Placement { generator, receiver })
}
