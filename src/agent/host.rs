//! The orchestrator's side: a [`Host`] runs the roles placed on it — in this process for the
//! local host, through `ssh HOST netlab agent` for a remote one — behind one API, so the runner
//! has one code path for one host and for many.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use tracing::level_filters::LevelFilter;
use tracing::Level;

use super::protocol::{Facts, Hello, Reply, Request, PROTOCOL};
use super::serve::Agent;
use crate::exit::{Classified, Code};
use crate::generator::{EngineKind, GeneratorConfig, SendReport};
use crate::receiver::{RecvReport, RecvSpec};
use crate::scenario::Place;
use crate::topology::{LabInterface, LabRecord, LinkStats, Role, TopologySpec};

/// How long a remote host may take to connect and say hello.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a remote agent is given, once told to end, to remove what it built and exit.
pub const CLEANUP_TIMEOUT: Duration = Duration::from_secs(15);

/// The ssh command line that starts the agent on `place` (`None` for the local host), logging
/// at `log` ([`LevelFilter::current`] for this process's own):
/// `ssh -o BatchMode=yes [options] [defaults] TARGET 'NETLAB' [-q|-v…] agent`.
pub fn ssh_command(place: &Place, log: LevelFilter) -> Option<Command> {
    let Place::Ssh { target, options, netlab } = place else { return None };
    let mut ssh = Command::new("ssh");
    // Never a password or passphrase prompt: the orchestrator has no terminal to offer.
    ssh.args(["-o", "BatchMode=yes"]);
    ssh.args(options);
    // Defaults the user's options (given first, so they win) may override: give up on a
    // host that does not answer, notice a connection that died without a word.
    ssh.args([
        "-o",
        "ConnectTimeout=15",
        "-o",
        "ServerAliveInterval=5",
        "-o",
        "ServerAliveCountMax=3",
    ]);
    let program = shlex::try_quote(netlab).map_or_else(|_| netlab.clone(), |q| q.into_owned());
    // The agent logs what this process would (`-v` here is `-v` there); what it logs comes
    // back on ssh's stderr and is shown as this host's.
    let flags = match log.into_level() {
        None | Some(Level::ERROR) => " -q",
        Some(Level::WARN) => "",
        Some(Level::INFO) => " -v",
        Some(Level::DEBUG) => " -vv",
        Some(Level::TRACE) => " -vvv",
    };
    ssh.arg(target).arg(format!("{program}{flags} agent"));
    Some(ssh)
}

/// A host of the run, connected.
#[derive(Debug)]
pub struct Host {
    name: String,
    place: Place,
    hello: Hello,
    conn: Mutex<Conn>,
}

#[derive(Debug)]
enum Conn {
    Local(Box<Agent>),
    Remote(Remote),
}

/// The ssh child and its pipes.
#[derive(Debug)]
struct Remote {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<Vec<String>>>,
}

/// A host error: exit code [`Code::Host`].
fn host_error(message: String) -> anyhow::Error {
    anyhow::Error::new(Classified { code: Code::Host, message, field: None, unless: None })
}

impl Host {
    /// This machine, in-process.
    pub fn local(name: &str) -> Host {
        Host {
            name: name.to_string(),
            place: Place::Local,
            hello: Hello::ours(),
            conn: Mutex::new(Conn::Local(Box::default())),
        }
    }

    /// Connects to the host: in-process for [`Place::Local`], else starts the agent over ssh and
    /// checks its hello. Errors are one line naming the host: ssh's own message when it could
    /// not connect or authenticate, what to install when the remote netlab is missing or speaks
    /// another protocol.
    pub fn connect(name: &str, place: &Place) -> anyhow::Result<Host> {
        let Some(mut ssh) = ssh_command(place, LevelFilter::current()) else {
            return Ok(Host::local(name));
        };
        let Place::Ssh { target, netlab, .. } = place else { unreachable!("ssh_command") };
        let who = format!("host `{name}` ({target})");
        // Its own process group: a Ctrl-C at the terminal is the orchestrator's to handle (it
        // stops the run and then closes the connection), not ssh's.
        std::os::unix::process::CommandExt::process_group(&mut ssh, 0);
        // Killed with this process, however it dies (even SIGKILL): the remote agent then sees
        // its connection end and cleans its host. Connect from a thread that lives as long as
        // the connection should.
        fastnet::child::kill_with_parent(&mut ssh);
        let mut child = ssh
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| host_error(format!("{who}: cannot start ssh: {e}")))?;
        let (stdout, stderr_pipe) = (child.stdout.take(), child.stderr.take());
        let (tx, lines) = mpsc::channel();
        if let Some(stdout) = stdout {
            std::thread::Builder::new().name("netlab-host-out".into()).spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            })?;
        }
        let stderr = Arc::new(Mutex::new(Vec::new()));
        // Before the hello, ssh's words only explain a failure (one line, built below); after
        // it, what the agent logs (its warnings) is shown as ours.
        let said_hello = Arc::new(std::sync::atomic::AtomicBool::new(false));
        if let Some(pipe) = stderr_pipe {
            let (sink, who, said) = (Arc::clone(&stderr), who.clone(), Arc::clone(&said_hello));
            std::thread::Builder::new().name("netlab-host-err".into()).spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if said.load(std::sync::atomic::Ordering::Relaxed) {
                        tracing::warn!("{who}: {}", line.trim());
                    } else {
                        tracing::info!("{who}: {line}");
                    }
                    if let Ok(mut lines) = sink.lock() {
                        lines.push(line);
                    }
                }
            })?;
        }
        let mut remote = Remote { stdin: child.stdin.take(), child, lines, stderr };
        let hello = match remote.hello() {
            Ok(hello) => hello,
            Err(why) => {
                let status = remote.end(Duration::from_secs(5));
                return Err(host_error(remote.explain_no_hello(&who, netlab, why, status)));
            }
        };
        said_hello.store(true, std::sync::atomic::Ordering::Relaxed);
        if hello.protocol != PROTOCOL {
            remote.end(Duration::from_secs(5));
            return Err(host_error(format!(
                "{who}: its netlab {} speaks agent protocol {}, this netlab {} speaks {PROTOCOL}: \
                 install netlab {} there",
                hello.netlab,
                hello.protocol,
                env!("CARGO_PKG_VERSION"),
                env!("CARGO_PKG_VERSION"),
            )));
        }
        Ok(Host {
            name: name.to_string(),
            place: place.clone(),
            hello,
            conn: Mutex::new(Conn::Remote(remote)),
        })
    }

    /// The host's name in the scenario.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where it is.
    pub fn place(&self) -> &Place {
        &self.place
    }

    /// What the host said when it connected.
    pub fn hello(&self) -> &Hello {
        &self.hello
    }

    /// Whether it is this machine.
    pub fn is_local(&self) -> bool {
        self.place == Place::Local
    }

    /// Sends one request and returns the reply; a failure on the host is an error with the
    /// host's exit code, a lost connection one with [`Code::Host`].
    pub fn call(&self, request: Request) -> anyhow::Result<Reply> {
        let mut conn = self.conn.lock().map_err(|_| anyhow!("host `{}`: poisoned", self.name))?;
        match &mut *conn {
            // In-process: the error keeps its chain and type.
            Conn::Local(agent) => agent.handle(request),
            Conn::Remote(remote) => match remote.call(&request) {
                Ok(Reply::Error { code, message }) => Err(anyhow::Error::new(Classified {
                    code: Code::from_number(code),
                    message: format!("host `{}`: {message}", self.name),
                    field: None,
                    unless: None,
                })),
                Ok(reply) => Ok(reply),
                Err(why) => {
                    let status = remote.end(Duration::from_secs(2));
                    let said = remote.last_stderr();
                    let mut message = format!(
                        "host `{}` ({}): connection lost: {why}",
                        self.name,
                        self.place.describe()
                    );
                    if let Some(said) = said {
                        message.push_str(&format!(" (ssh: {said})"));
                    } else if let Some(status) = status {
                        message.push_str(&format!(" (ssh {status})"));
                    }
                    Err(host_error(message))
                }
            },
        }
    }

    fn unexpected(&self, reply: Reply) -> anyhow::Error {
        anyhow!("host `{}`: unexpected reply {reply:?}", self.name)
    }

    /// The host's facts and interfaces.
    pub fn facts(&self) -> anyhow::Result<Facts> {
        match self.call(Request::Facts)? {
            Reply::Facts(facts) => Ok(*facts),
            other => Err(self.unexpected(other)),
        }
    }

    /// Builds a lab on the host.
    pub fn lab_up(&self, spec: &TopologySpec, name: &str) -> anyhow::Result<LabRecord> {
        match self.call(Request::LabUp { spec: spec.clone(), name: name.to_string() })? {
            Reply::Lab(record) => Ok(*record),
            other => Err(self.unexpected(other)),
        }
    }

    /// Takes the host's lab down.
    pub fn lab_down(&self) -> anyhow::Result<()> {
        self.call(Request::LabDown).map(drop)
    }

    /// An existing interface of the host, for `role`.
    pub fn interface(&self, name: &str, role: Role) -> anyhow::Result<LabInterface> {
        match self.call(Request::Interface { name: name.to_string(), role })? {
            Reply::Interface(i) => Ok(i),
            other => Err(self.unexpected(other)),
        }
    }

    /// An interface's counters.
    pub fn stats(&self, netns: Option<&str>, iface: &str) -> anyhow::Result<LinkStats> {
        let request = Request::Stats { netns: netns.map(str::to_string), iface: iface.to_string() };
        match self.call(request)? {
            Reply::Stats(stats) => Ok(stats),
            other => Err(self.unexpected(other)),
        }
    }

    /// Starts a receiver; returns once it is ready.
    pub fn recv_start(&self, spec: RecvSpec, ready_timeout: Duration) -> anyhow::Result<()> {
        self.call(Request::RecvStart { spec, ready_timeout }).map(drop)
    }

    /// Frames the receiver handled so far, and whether it ended.
    pub fn recv_status(&self) -> anyhow::Result<(u64, bool)> {
        self.status(Request::RecvStatus)
    }

    /// Stops the receiver and returns its report.
    pub fn recv_stop(&self) -> anyhow::Result<RecvReport> {
        match self.call(Request::RecvStop)? {
            Reply::Received(report) => Ok(*report),
            other => Err(self.unexpected(other)),
        }
    }

    /// Prepares a generator; returns the engine it will send with and why.
    pub fn gen_prepare(&self, config: GeneratorConfig) -> anyhow::Result<(EngineKind, String)> {
        match self.call(Request::GenPrepare { config: Box::new(config) })? {
            Reply::Prepared { engine, reason } => Ok((engine, reason)),
            other => Err(self.unexpected(other)),
        }
    }

    /// Starts the prepared generator.
    pub fn gen_start(&self) -> anyhow::Result<()> {
        self.call(Request::GenStart).map(drop)
    }

    /// Frames sent so far, and whether the generator is done.
    pub fn gen_status(&self) -> anyhow::Result<(u64, bool)> {
        self.status(Request::GenStatus)
    }

    /// Asks the generator to stop.
    pub fn gen_stop(&self) -> anyhow::Result<()> {
        self.call(Request::GenStop).map(drop)
    }

    /// Waits for the generator's report.
    pub fn gen_wait(&self) -> anyhow::Result<SendReport> {
        match self.call(Request::GenWait)? {
            Reply::Sent(report) => Ok(*report),
            other => Err(self.unexpected(other)),
        }
    }

    /// Runs `netlab doctor`'s checks on the host.
    pub fn doctor(&self) -> anyhow::Result<Vec<super::protocol::CheckResult>> {
        match self.call(Request::Doctor)? {
            Reply::Doctor(checks) => Ok(checks),
            other => Err(self.unexpected(other)),
        }
    }

    /// Drops the host's receiver and generator (best effort: errors are logged).
    pub fn abandon(&self) {
        if let Err(e) = self.call(Request::Abandon) {
            tracing::debug!("abandoning the roles on host `{}`: {e:#}", self.name);
        }
    }

    fn status(&self, request: Request) -> anyhow::Result<(u64, bool)> {
        match self.call(request)? {
            Reply::Status { frames, finished } => Ok((frames, finished)),
            other => Err(self.unexpected(other)),
        }
    }
}

impl Remote {
    /// Reads the hello, skipping anything a login script printed before it.
    fn hello(&mut self) -> Result<Hello, String> {
        let deadline = Instant::now() + HELLO_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => match serde_json::from_str::<Hello>(&line) {
                    Ok(hello) => return Ok(hello),
                    Err(_) => tracing::debug!("before the agent's hello: {line}"),
                },
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(format!("no hello within {}s", HELLO_TIMEOUT.as_secs()))
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err("the connection closed before the agent said hello".into())
                }
            }
        }
    }

    /// One request, one reply.
    fn call(&mut self, request: &Request) -> Result<Reply, String> {
        let stdin = self.stdin.as_mut().ok_or("the connection is closed")?;
        let text = serde_json::to_string(request).map_err(|e| e.to_string())?;
        writeln!(stdin, "{text}").and_then(|()| stdin.flush()).map_err(|e| e.to_string())?;
        let line = self.lines.recv().map_err(|_| "the agent's output ended".to_string())?;
        serde_json::from_str(&line)
            .map_err(|e| format!("not a reply of agent protocol {PROTOCOL}: {e}"))
    }

    /// The last line ssh (or the remote shell) printed on stderr.
    fn last_stderr(&self) -> Option<String> {
        let lines = self.stderr.lock().ok()?;
        lines.iter().rev().find(|l| !l.trim().is_empty()).map(|l| l.trim().to_string())
    }

    /// The first line ssh printed on stderr containing `needle`.
    fn line_with(&self, needle: &str) -> Option<String> {
        let lines = self.stderr.lock().ok()?;
        lines.iter().find(|l| l.contains(needle)).map(|l| l.trim().to_string())
    }

    /// Closes the agent's stdin — it then removes what it built and exits — and waits up to
    /// `timeout` for ssh to end (killing it after). Returns ssh's exit status if it ended.
    fn end(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        self.stdin = None;
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = self.child.kill();
                    return self.child.wait().ok();
                }
            }
        }
    }

    /// Why no hello came, in one line with what to do.
    fn explain_no_hello(
        &self,
        who: &str,
        netlab: &str,
        why: String,
        status: Option<std::process::ExitStatus>,
    ) -> String {
        // Let the stderr reader catch up with the child's last words.
        std::thread::sleep(Duration::from_millis(50));
        let said = self.last_stderr();
        let said_text = said.clone().unwrap_or_else(|| why.clone());
        match status.and_then(|s| s.code()) {
            // ssh's own failure: cannot resolve, connect, authenticate, verify the host key.
            // For a host key, its last words ("Host key verification failed.") come with the
            // line that says why: unknown, or changed.
            Some(255) => match self.line_with("requested strict checking") {
                Some(why) if why != said_text => format!("{who}: ssh: {why} {said_text}"),
                _ => format!("{who}: ssh: {said_text}"),
            },
            // The remote shell: command not found / not executable.
            Some(126 | 127) => format!(
                "{who}: no netlab at `{netlab}` there ({said_text}): install netlab on that host, \
                 or set its `netlab` to the program's path"
            ),
            // A netlab without the agent (clap's usage error), or one that failed to start.
            Some(code) => format!(
                "{who}: `{netlab} agent` exited with status {code} before saying hello \
                 ({said_text}): install netlab {} there",
                env!("CARGO_PKG_VERSION")
            ),
            None => format!("{who}: {why}"),
        }
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        // The agent cleans its host when its stdin closes; wait for it so that when the
        // orchestrator is done, so is every host.
        if self.end(CLEANUP_TIMEOUT).is_none() {
            tracing::warn!("an agent did not end within {CLEANUP_TIMEOUT:?}; ssh was killed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_never_prompts_and_the_users_options_come_before_the_defaults() {
        let place = Place::Ssh {
            target: "root@192.168.56.101".into(),
            options: vec!["-p".into(), "2222".into(), "-o".into(), "ConnectTimeout=3".into()],
            netlab: "/opt/net lab/netlab".into(),
        };
        let ssh = ssh_command(&place, LevelFilter::WARN).unwrap();
        assert_eq!(ssh.get_program(), "ssh");
        let args: Vec<String> = ssh.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(&args[..2], ["-o", "BatchMode=yes"]);
        assert_eq!(&args[2..6], ["-p", "2222", "-o", "ConnectTimeout=3"]);
        // ssh takes the first value of an option: the user's timeout wins over the default.
        let user = args.iter().position(|a| a == "ConnectTimeout=3").unwrap();
        let default = args.iter().position(|a| a == "ConnectTimeout=15").unwrap();
        assert!(user < default);
        // The remote shell gets the program quoted.
        assert_eq!(&args[args.len() - 2..], ["root@192.168.56.101", "'/opt/net lab/netlab' agent"]);
        assert!(ssh_command(&Place::Local, LevelFilter::WARN).is_none());
        // The agent logs as much as this process: `-v` here is `-v` there, `-q` is `-q`.
        for (log, command) in [
            (LevelFilter::INFO, "'/opt/net lab/netlab' -v agent"),
            (LevelFilter::TRACE, "'/opt/net lab/netlab' -vvv agent"),
            (LevelFilter::ERROR, "'/opt/net lab/netlab' -q agent"),
        ] {
            let ssh = ssh_command(&place, log).unwrap();
            assert_eq!(ssh.get_args().last().unwrap(), command);
        }
    }
}
