//! Building, inspecting and removing a lab.

use anyhow::{anyhow, Context};
use fastnet::netns::{NamedState, NetNs};

use super::interface::{self, Namespace};
use super::link::{LinkFacts, Rtnl};
use super::marker::{self, LabRecord, LabState};
use super::plan::{Plan, PlannedInterface};
use super::spec::{Kind, NapiMode, TopologySpec};
use super::{napi, LabInterface, LinkStats, Role};
use crate::exit::{bad_field, bad_input, Classified, Code, Field, Section};
use crate::interrupt::Interrupt;
use crate::privilege::{self, Capability};

/// Who removes the lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ownership {
    /// Nothing of ours exists (yet, or any more).
    Nothing,
    /// This value: on [`Lab::down`] or drop.
    Owned,
    /// Nobody here: left up for `netlab topo down`.
    Detached,
}

/// A lab that is up. Dropping it removes everything it made (best effort, errors logged);
/// [`Lab::down`] does the same and reports errors; [`Lab::detach`] leaves it up.
///
/// The methods block (a small tokio runtime inside drives netlink): call them from ordinary
/// threads, not from async code.
#[derive(Debug)]
pub struct Lab {
    plan: Plan,
    interfaces: Vec<LabInterface>,
    napi_pids: Vec<u32>,
    /// How [`Lab::napi_pids`] were found.
    napi_lookup: Option<napi::Lookup>,
    rtnl: Option<Rtnl>,
    netns: Option<NetNs>,
    ownership: Ownership,
    runtime: tokio::runtime::Runtime,
}

/// Fails with a privilege error (exit code 3) unless this process may make namespaces and links.
pub(crate) fn require_privileges(what: &str) -> anyhow::Result<()> {
    privilege::require(what, &[Capability::NetAdmin, Capability::SysAdmin])
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("netlab-netlink")
        .enable_all()
        .build()
        .context("starting the netlink runtime")
}

/// "Already exists", advising `topo down` only where it would remove what is in the way.
fn already_exists(name: &str, netns: &str) -> anyhow::Error {
    let marker = marker::read(name).ok().flatten();
    let state = NetNs::state_of(netns).unwrap_or(NamedState::Other);
    let advice = match (marker, state) {
        (Some(record), _) => match record.live_owner() {
            Some(pid) => format!("it is in use by netlab process {pid}: choose another name"),
            None => format!("take it down with `netlab topo down {name}` or choose another name"),
        },
        (None, NamedState::Unmounted | NamedState::Missing) => format!(
            "{netns} is a half-made namespace: `netlab topo down {name}` removes it, or choose \
             another name"
        ),
        (None, _) => format!(
            "netlab did not make it (no marker {}): choose another name, or remove it with \
             `ip netns del {netns}` if it is yours to remove",
            marker::path(name).display()
        ),
    };
    bad_input(format!("lab `{name}` already exists (network namespace {netns}): {advice}"))
}

/// Turns IPv6 off for every interface created in the calling thread's namespace from now on,
/// so no autoconfiguration, DAD, MLD or router solicitation frame reaches the receiver.
/// `/proc/sys/net` shows the namespace of the thread that opens it.
fn silence_ipv6() -> anyhow::Result<()> {
    for conf in ["all", "default"] {
        let path = format!("/proc/sys/net/ipv6/conf/{conf}/disable_ipv6");
        match std::fs::write(&path, "1") {
            // A kernel without IPv6 sends no IPv6 frames either.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            result => result.with_context(|| format!("writing 1 to {path}"))?,
        }
    }
    Ok(())
}

impl Lab {
    /// Validates `spec` and builds lab `name`: for `veth` and `bridge`, in the new network
    /// namespace `netlab-<name>`; for `interface`, by looking up the two existing interfaces.
    ///
    /// Errors: bad input (exit 2) for anything wrong in `spec` or `name`, or a lab of that name
    /// already existing (which is left untouched); missing privileges (exit 3) before anything is
    /// made; otherwise the step that failed, after removing what was built. SIGINT/SIGTERM
    /// during the build removes what was built and returns an error with exit code 130. (This
    /// registers tokio's handlers for both signals in the process for good: a caller that keeps
    /// running afterwards must watch them itself.)
    pub fn up(spec: &TopologySpec, name: &str) -> anyhow::Result<Lab> {
        let cpus = fastnet::cpu::online_cpus().context("counting the online CPUs")?;
        Lab::up_plan(Plan::new(spec, name, cpus)?)
    }

    /// Builds an already validated [`Plan`] (see [`Lab::up`]).
    pub fn up_plan(plan: Plan) -> anyhow::Result<Lab> {
        if plan.kind != Kind::Interface {
            require_privileges("building a lab")?;
        }
        let runtime = runtime()?;
        let rt = runtime.handle().clone();
        let name = plan.name.clone();
        let mut lab = Lab {
            plan,
            interfaces: Vec::new(),
            napi_pids: Vec::new(),
            napi_lookup: None,
            rtnl: None,
            netns: None,
            ownership: Ownership::Nothing,
            runtime,
        };
        // Watched before the build starts, so no signal is missed; it ends the build, and
        // what was built is removed.
        let interrupt = Interrupt::watch()?;
        let built = rt.block_on(async {
            tokio::select! {
                result = lab.build() => result,
                which = interrupt.signalled() => Err(anyhow::Error::new(Classified {
                    code: Code::Interrupted,
                    message: format!("interrupted by {which}; everything built so far was removed"),
                    field: None,
                    unless: None,
                })),
            }
        });
        match built {
            Ok(()) => Ok(lab),
            Err(e) => {
                if let Err(cleanup) = lab.teardown() {
                    tracing::error!("removing the half-built lab `{name}`: {cleanup:#}");
                }
                Err(e.context(format!("building lab `{name}`")))
            }
        }
    }

    async fn build(&mut self) -> anyhow::Result<()> {
        match self.plan.kind {
            Kind::Interface => self.adopt_existing().await,
            Kind::Veth | Kind::Bridge => self.build_namespaced().await,
        }
    }

    /// `interface`: nothing is made; the two interfaces must exist.
    async fn adopt_existing(&mut self) -> anyhow::Result<()> {
        let rtnl = Rtnl::open(self.runtime.handle(), None)?;
        for (role, key, planned) in [
            (Role::Generator, "generator", &self.plan.generator),
            (Role::Receiver, "receiver", &self.plan.receiver),
        ] {
            let found = interface::look(&rtnl, &planned.name, Namespace::caller()).await?;
            let found = found.map_err(|missing| {
                bad_field(Field::new(Section::Topology, key), missing.to_string())
            })?;
            self.interfaces.push(interface(role, &planned.name, &found.facts));
        }
        self.rtnl = Some(rtnl);
        Ok(())
    }

    async fn build_namespaced(&mut self) -> anyhow::Result<()> {
        let plan = self.plan.clone();
        let netns_name = plan.netns.clone().ok_or_else(|| anyhow!("no namespace planned"))?;
        if NetNs::exists(&netns_name) {
            return Err(already_exists(&plan.name, &netns_name));
        }
        // The marker comes first: if this process dies from here on, `topo down --all` finds
        // whatever exists of the lab.
        marker::write(&self.record(LabState::Building))?;
        let ns = match NetNs::create_named(&netns_name) {
            Ok(ns) => ns,
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                // Another `up` of the same name won the race; the lab and marker are its own.
                return Err(already_exists(&plan.name, &netns_name));
            }
            Err(e) => {
                let _ = marker::remove(&plan.name);
                return Err(e).with_context(|| format!("creating network namespace {netns_name}"));
            }
        };
        self.ownership = Ownership::Owned;
        let ns = &*self.netns.insert(ns);

        ns.run(silence_ipv6)?.context("turning IPv6 off in the lab's namespace")?;
        let rtnl = Rtnl::open(self.runtime.handle(), Some(ns))?;
        let rtnl = &*self.rtnl.insert(rtnl);

        let (mtu, queues) = (plan.mtu, plan.queues);
        let (generator, receiver) = (&plan.generator, &plan.receiver);
        let mut up_order: Vec<&PlannedInterface> = Vec::new();
        match &plan.bridge {
            None => super::veth::build(rtnl, generator, receiver, mtu, queues).await?,
            Some(b) => {
                super::bridge::build(rtnl, b, generator, receiver, mtu, queues).await?;
                up_order.extend([&b.generator_port, &b.receiver_port, &b.bridge]);
            }
        }
        up_order.extend([generator, receiver]);
        for iface in up_order {
            let index = rtnl.existing(&iface.name).await?.ifindex;
            rtnl.set_up(index).await.with_context(|| format!("bringing {} up", iface.name))?;
        }

        if plan.napi == NapiMode::Threaded {
            let rx_index = rtnl.existing(&receiver.name).await?.ifindex;
            let (pids, lookup) = napi::make_threaded(ns, &receiver.name, rx_index, plan.rx_core)
                .with_context(|| {
                    format!("making {}'s NAPI threaded on core {}", receiver.name, plan.rx_core)
                })?;
            (self.napi_pids, self.napi_lookup) = (pids, Some(lookup));
            let feeder = plan.bridge.as_ref().map_or(generator, |b| &b.receiver_port);
            napi::feed_through_napi(ns, &feeder.name)?;
            if let Some(b) = &plan.bridge {
                // The generator's veth peer runs NAPI too, so an XDP sender can redirect into
                // the generator side (veth's ndo_xdp_xmit needs NAPI on the peer).
                napi::set_gro(ns, &b.generator_port.name)?;
            }
        }

        let mut roles = vec![(Role::Generator, generator), (Role::Receiver, receiver)];
        if let Some(b) = &plan.bridge {
            roles.extend([
                (Role::Bridge, &b.bridge),
                (Role::BridgePort, &b.generator_port),
                (Role::BridgePort, &b.receiver_port),
            ]);
        }
        for (role, planned) in roles {
            let state = rtnl.existing(&planned.name).await?;
            if planned.mac.is_some() && state.mac != planned.mac {
                return Err(anyhow!(
                    "{} has MAC {:?} after setting {}",
                    planned.name,
                    state.mac,
                    Plan::mac_text(planned)
                ));
            }
            self.interfaces.push(interface(role, &planned.name, &state));
        }
        marker::write(&self.record(LabState::Up))?;
        Ok(())
    }

    /// Removes everything the lab made: its links, namespace and marker. Reports the first
    /// error after trying every step. Nothing for `interface` labs.
    fn teardown(&mut self) -> anyhow::Result<()> {
        if self.ownership != Ownership::Owned {
            self.rtnl = None;
            return Ok(());
        }
        self.ownership = Ownership::Nothing;
        let mut first_error: Option<anyhow::Error> = None;
        let mut note = |e: anyhow::Error| {
            tracing::warn!("removing lab `{}`: {e:#}", self.plan.name);
            first_error.get_or_insert(e);
        };
        if let Some(rtnl) = self.rtnl.take() {
            // Deleting the links first: nothing lingers even while some process (a `tcpdump`
            // started with `ip netns exec`) still holds the namespace. A veth takes its peer.
            let mut names = vec![&self.plan.generator.name, &self.plan.receiver.name];
            if let Some(b) = &self.plan.bridge {
                names.push(&b.bridge.name);
            }
            for name in names {
                if let Err(e) = self.runtime.block_on(rtnl.delete(name)) {
                    note(e);
                }
            }
        }
        self.netns = None;
        if let Some(netns) = &self.plan.netns {
            if let Err(e) = NetNs::remove_named(netns) {
                note(anyhow::Error::new(e).context(format!("removing namespace {netns}")));
            }
        }
        if let Err(e) = marker::remove(&self.plan.name) {
            note(e);
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Removes the lab now (links, namespace, marker), reporting the first error.
    pub fn down(mut self) -> anyhow::Result<()> {
        let name = self.plan.name.clone();
        self.teardown().with_context(|| format!("removing lab `{name}`"))
    }

    /// Leaves the lab up after this value is gone (`netlab topo up`); `netlab topo down NAME`
    /// removes it. Returns what its marker records.
    pub fn detach(mut self) -> LabRecord {
        if self.ownership == Ownership::Owned {
            self.ownership = Ownership::Detached;
        }
        self.record(LabState::Up)
    }

    /// The lab's marker record (name, namespace, interfaces, cores, NAPI kthreads).
    pub fn record(&self, state: LabState) -> LabRecord {
        LabRecord {
            name: self.plan.name.clone(),
            netns: self.plan.netns.clone().unwrap_or_default(),
            kind: self.plan.kind,
            state,
            pid: std::process::id(),
            pid_start: marker::start_time(std::process::id()),
            napi: self.plan.napi,
            rx_core: self.plan.rx_core,
            tx_core: self.plan.tx_core,
            interfaces: self.interfaces.clone(),
            napi_pids: self.napi_pids.clone(),
        }
    }

    /// Lab name.
    pub fn name(&self) -> &str {
        &self.plan.name
    }

    /// What the lab is made of.
    pub fn kind(&self) -> Kind {
        self.plan.kind
    }

    /// Name of its network namespace (`netlab-<name>`, for `--netns` and `ip netns exec`);
    /// `None` for `interface` labs, which live on the host.
    pub fn netns_name(&self) -> Option<&str> {
        self.plan.netns.as_deref()
    }

    /// Its network namespace, to run code inside ([`NetNs::run`]); `None` for `interface`.
    pub fn netns(&self) -> Option<&NetNs> {
        self.netns.as_ref()
    }

    fn by_role(&self, role: Role) -> &LabInterface {
        // `build` always records the generator and the receiver before a Lab is handed out.
        self.interfaces.iter().find(|i| i.role == role).unwrap_or_else(|| unreachable!())
    }

    /// The interface the generator sends into (`gen0`).
    pub fn generator(&self) -> &LabInterface {
        self.by_role(Role::Generator)
    }

    /// The interface the receivers listen on (`rx0`).
    pub fn receiver(&self) -> &LabInterface {
        self.by_role(Role::Receiver)
    }

    /// The bridge (`bridge` labs): frames forwarded by it carry its MAC as source when routed.
    pub fn bridge(&self) -> Option<&LabInterface> {
        self.interfaces.iter().find(|i| i.role == Role::Bridge)
    }

    /// Every interface: generator, receiver, then bridge and its ports.
    pub fn interfaces(&self) -> &[LabInterface] {
        &self.interfaces
    }

    /// Core the receivers (and the NAPI kthreads) run on.
    pub fn rx_core(&self) -> usize {
        self.plan.rx_core
    }

    /// Core the generator runs on.
    pub fn tx_core(&self) -> usize {
        self.plan.tx_core
    }

    /// Pids of the receiver's `napi/<rx>-<id>` kthreads (threaded NAPI), pinned to the
    /// receive core; empty for `inline`. Their CPU time: `/proc/<pid>/stat` or
    /// [`fastnet::cpu::task_cpu_time`].
    pub fn napi_pids(&self) -> &[u32] {
        &self.napi_pids
    }

    /// How the receiver's NAPI kthreads were found (`None` for `inline`).
    pub fn napi_lookup(&self) -> Option<napi::Lookup> {
        self.napi_lookup
    }

    /// Kernel counters (`stats64`) of one of the lab's interfaces, read now over netlink.
    pub fn stats(&self, iface: &str) -> anyhow::Result<LinkStats> {
        let rtnl = self.rtnl.as_ref().ok_or_else(|| anyhow!("lab `{}` is down", self.plan.name))?;
        let namespace = Namespace::of(self.netns_name());
        let found = self.runtime.block_on(interface::look(rtnl, iface, namespace))?;
        found.map_err(|missing| bad_input(missing.to_string()))?.stats()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Err(e) = self.teardown() {
            tracing::error!("removing lab `{}`: {e:#}", self.plan.name);
        }
    }
}

fn interface(role: Role, name: &str, state: &LinkFacts) -> LabInterface {
    LabInterface {
        role,
        name: name.to_string(),
        ifindex: state.ifindex,
        mac: state.mac.unwrap_or(macaddr::MacAddr6::nil()),
        mtu: state.mtu,
    }
}
