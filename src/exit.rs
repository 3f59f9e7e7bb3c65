//! Exit codes, and how an error chain maps to one. What each code means is [`Code::meaning`];
//! [`codes_table`] is the README's table of them.

use std::fmt;

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Code {
    /// Success.
    Ok = 0,
    /// The command ran and failed.
    Failed = 1,
    /// Bad input.
    BadInput = 2,
    /// Missing privileges.
    Privilege = 3,
    /// The kernel lacks a needed feature.
    Unsupported = 4,
    /// `netlab run` measured every point, but a receiver program failed some: those points
    /// are invalid with the reason, the other receivers' points are measured.
    ReceiversFailed = 5,
    /// A host of the scenario could not be reached or used over ssh, or its connection was
    /// lost mid-run (the points measured are written, marked partial).
    Host = 6,
    /// Interrupted by a signal.
    Interrupted = 130,
}

impl Code {
    /// Every code, in numeric order.
    pub const ALL: [Code; 8] = [
        Code::Ok,
        Code::Failed,
        Code::BadInput,
        Code::Privilege,
        Code::Unsupported,
        Code::ReceiversFailed,
        Code::Host,
        Code::Interrupted,
    ];

    /// The code of a number, as an agent reports it ([`Code::Failed`] for one not listed).
    pub fn from_number(n: u8) -> Code {
        Code::ALL.into_iter().find(|c| *c as u8 == n).unwrap_or(Code::Failed)
    }

    /// What it means, for the user (the README's table, Markdown).
    pub fn meaning(self) -> &'static str {
        match self {
            Code::Ok => "success (also when the reader of the output went away, e.g. `\\| head`)",
            Code::Failed => {
                "the command ran and failed: a doctor check failed, nothing could be sent, a \
                 regression in `compare`, a run in which no point or search is valid"
            }
            Code::BadInput => {
                "bad input: command line, scenario file, packet file, MAC address, interface name"
            }
            Code::Privilege => {
                "missing privileges (root, or `CAP_NET_ADMIN`/`CAP_NET_RAW`/`CAP_BPF`): run with \
                 `sudo`"
            }
            Code::Unsupported => {
                "the kernel lacks a feature the command needs and has no fallback for; `netlab \
                 doctor` says which"
            }
            Code::ReceiversFailed => {
                "`netlab run` finished, but a receiver program (`exec`) broke its contract: its \
                 points are invalid with the reason, every other point was measured"
            }
            Code::Host => {
                "a host of the scenario's `[hosts]` could not be used: ssh could not connect or \
                 authenticate, its netlab is missing or speaks another agent protocol (nothing \
                 built), or its connection was lost mid-run (the points measured are written, \
                 marked partial; every host removes what it built)"
            }
            Code::Interrupted => {
                "interrupted (Ctrl-C/SIGTERM, or SIGHUP when the terminal or ssh session closes): \
                 partial results were written and the lab was removed"
            }
        }
    }
}

/// The exit codes as a Markdown table (the README's, which a test compares with this).
pub fn codes_table() -> String {
    let mut out = String::from("| code | meaning |\n|---|---|\n");
    for code in Code::ALL {
        out.push_str(&format!("| {} | {} |\n", code as u8, code.meaning()));
    }
    out
}

impl From<Code> for std::process::ExitCode {
    fn from(code: Code) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}

/// An error whose exit code is known, placed in an `anyhow` chain by the code that knows it.
#[derive(Debug)]
pub struct Classified {
    /// The exit code it maps to.
    pub code: Code,
    /// The one-line message (without the field it is about).
    pub message: String,
    /// The input it is about, when it is about one: the edge that read that input renders it
    /// (`FILE:LINE:COL: generator.batch: …` for a scenario, the flag for a command line).
    pub field: Option<Field>,
    /// A setting that would let it through (`force`), when there is one: the edge offers it in
    /// its own words if its user can set it.
    pub unless: Option<Field>,
}

impl fmt::Display for Classified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The table of a scenario (and the command) an input field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// A top-level key (`name`): the lab's name.
    Top,
    /// `[topology]` (`netlab topo up`'s file).
    Topology,
    /// `[generator]` (`netlab replay`).
    Generator,
    /// A `[[receiver]]` table (`netlab recv`).
    Receiver,
    /// The packet to build (`netlab packet new`).
    Packet,
}

/// What an input error is about, in the scenario's words (`generator.batch`, `receiver.buffer`):
/// the library names the field, never how a command line spells it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field {
    /// Its table.
    pub section: Section,
    /// Its key in that table (`batch`).
    pub key: String,
    /// The value as given, when the message is about it (a command line repeats it; a
    /// scenario's location shows it).
    pub value: Option<String>,
}

impl Field {
    /// A field of `section`.
    pub fn new(section: Section, key: impl Into<String>) -> Self {
        Self { section, key: key.into(), value: None }
    }

    /// The same field, about the value `value`.
    pub fn with_value(mut self, value: impl fmt::Display) -> Self {
        self.value = Some(value.to_string());
        self
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.section {
            Section::Top => f.write_str(&self.key),
            Section::Topology => write!(f, "topology.{}", self.key),
            Section::Generator => write!(f, "generator.{}", self.key),
            Section::Receiver => write!(f, "receiver.{}", self.key),
            Section::Packet => write!(f, "packet.{}", self.key),
        }
    }
}

/// A bad-input error about `field`: `Err(bad_field(Field::new(Section::Generator, "batch"), …))`.
pub fn bad_field(field: Field, message: impl Into<String>) -> anyhow::Error {
    field_error(Code::BadInput, field, message, None)
}

/// An error about `field` with exit `code`, which setting `unless` would let through.
pub fn field_error(
    code: Code,
    field: Field,
    message: impl Into<String>,
    unless: Option<Field>,
) -> anyhow::Error {
    anyhow::Error::new(Classified { code, message: message.into(), field: Some(field), unless })
}

/// The field the first classified cause of `err` is about, with that cause.
pub fn field_of(err: &anyhow::Error) -> Option<&Classified> {
    err.chain().find_map(|c| c.downcast_ref::<Classified>()).filter(|c| c.field.is_some())
}

/// `err` with its field error rendered by `render` (given the error, whose `field` is set),
/// every other cause as it reads: how an edge (command line, scenario file) puts a field error
/// in the user's words. The exit code stays.
pub fn render_field(err: anyhow::Error, render: impl Fn(&Classified) -> String) -> anyhow::Error {
    let Some(classified) = field_of(&err) else { return err };
    let code = classified.code;
    let text = err
        .chain()
        .map(|cause| match cause.downcast_ref::<Classified>() {
            Some(c) if c.field.is_some() => render(c),
            _ => cause.to_string(),
        })
        .collect::<Vec<_>>()
        .join(": ");
    anyhow::Error::new(Classified { code, message: text, field: None, unless: None })
}

impl std::error::Error for Classified {}

/// A bad-input error: `Err(bad_input(format!("{}: no frames", path.display())))`. An error
/// about one field of the input is a [`bad_field`].
pub fn bad_input(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Classified {
        code: Code::BadInput,
        message: message.into(),
        field: None,
        unless: None,
    })
}

/// A missing-privilege error.
pub fn privilege(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Classified {
        code: Code::Privilege,
        message: message.into(),
        field: None,
        unless: None,
    })
}

/// A missing-kernel-feature error.
pub fn unsupported(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Classified {
        code: Code::Unsupported,
        message: message.into(),
        field: None,
        unless: None,
    })
}

/// The exit code for an error chain: the first classified cause wins; a broken pipe on our
/// output is success; `EPERM`/`EACCES` from the kernel mean missing privileges.
pub fn code_for(err: &anyhow::Error) -> Code {
    for cause in err.chain() {
        if let Some(c) = cause.downcast_ref::<Classified>() {
            return c.code;
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::BrokenPipe {
                return Code::Ok;
            }
        }
        if let Some(fastnet::Error::Unsupported { .. }) = cause.downcast_ref::<fastnet::Error>() {
            return Code::Unsupported;
        }
        let os = cause
            .downcast_ref::<fastnet::SyscallError>()
            .and_then(fastnet::SyscallError::raw_os_error)
            .or_else(|| cause.downcast_ref::<fastnet::Error>()?.raw_os_error());
        if matches!(os, Some(libc::EPERM) | Some(libc::EACCES)) {
            return Code::Privilege;
        }
    }
    Code::Failed
}

/// True when the error is only our stdout being closed (`netlab … | head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Writes a line to stdout, returning the `io::Error` instead of panicking on a closed pipe.
/// Use `outln!(…)?` wherever a command prints its results.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}
