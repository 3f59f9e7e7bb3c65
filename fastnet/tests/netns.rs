//! Network namespace handling, in throwaway namespaces.

use fastnet::netns::NetNs;
use fastnet::testing::{privileged, sh};

fn ns_id() -> String {
    std::fs::read_link("/proc/thread-self/ns/net").unwrap().display().to_string()
}

#[test]
fn guard_gives_a_fresh_namespace_and_returns() {
    let before = ns_id();
    {
        let Some(_g) = privileged("guard_gives_a_fresh_namespace_and_returns") else { return };
        assert_ne!(ns_id(), before);
        // Only lo lives in a fresh namespace.
        let links = sh("ip -o link show");
        assert_eq!(links.lines().count(), 1, "{links}");
    }
    assert_eq!(ns_id(), before);
}

#[test]
fn named_namespace_round_trip() {
    let Some(_g) = privileged("named_namespace_round_trip") else { return };
    let name = format!("fastnet-test-{}", std::process::id());
    let ns = NetNs::create_named(&name).unwrap();
    assert!(NetNs::exists(&name));
    assert!(NetNs::create_named(&name).is_err(), "the same name twice must fail");
    let inside = ns
        .run(|| {
            sh("ip link add t0 type veth peer name t1");
            ns_id()
        })
        .unwrap();
    assert_ne!(inside, ns_id());
    // sysfs mounted from inside shows the namespace's own interfaces.
    let seen = ns.run_with_sysfs(|sys| sys.join("class/net/t0").exists()).unwrap();
    assert!(seen);
    assert!(!std::path::Path::new("/sys/class/net/t0").exists());
    NetNs::remove_named(&name).unwrap();
    assert!(!NetNs::exists(&name));
    NetNs::remove_named(&name).unwrap(); // idempotent
}
