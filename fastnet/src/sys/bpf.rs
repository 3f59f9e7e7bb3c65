//! `bpf(2)`: the one choke point for every BPF command.
//!
//! Each command has a typed request (`#[repr(C)]`, laid out like its member of the kernel's
//! `union bpf_attr`) that implements [`Request`]; [`bpf`] is the only function that calls the
//! kernel. Requests that carry user pointers (instructions, log buffer, keys, frames) are built
//! by constructors that borrow the pointed-to memory for the request's lifetime `'a`, so a
//! request can only point at memory that is alive while [`bpf`] runs.

use std::ffi::CStr;
use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use super::{owned_fd, syscall};
use crate::error::SyscallError;

/// `enum bpf_cmd` values used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub(crate) enum Cmd {
    MapCreate = 0,
    MapLookupElem = 1,
    MapUpdateElem = 2,
    ProgLoad = 5,
    ProgTestRun = 10,
    RawTracepointOpen = 17,
    LinkCreate = 28,
}

/// A typed `bpf(2)` request: the attribute block of one command.
///
/// # Safety
/// Implementors must be `#[repr(C)]` prefixes of the kernel's `union bpf_attr` member for
/// `CMD`, with every pointer field pointing at memory that lives as long as the value.
pub(crate) unsafe trait Request {
    /// The command this attribute block belongs to.
    const CMD: Cmd;
    /// The call's name for errors, e.g. `"bpf(BPF_PROG_LOAD)"`.
    const CALL: &'static str;
}

/// Calls `bpf(cmd, attr, sizeof attr)` for a typed request; returns the kernel's non-negative
/// answer (an fd for the create/load commands, 0 otherwise).
pub(crate) fn bpf<R: Request>(attr: &mut R) -> Result<i64, SyscallError> {
    let size = std::mem::size_of::<R>() as libc::c_uint;
    let ptr: *mut R = attr;
    // SAFETY: `R: Request` guarantees the block is a valid `bpf_attr` prefix for `R::CMD` whose
    // pointers outlive this call; `size` is its exact size, and the kernel writes at most
    // `size` bytes back into it (`&mut` gives us exclusive access).
    unsafe { syscall!(syscall(libc::SYS_bpf, R::CMD as libc::c_int, ptr, size), R::CALL) }
}

/// Runs a request that returns a new fd and wraps it.
fn bpf_fd<R: Request>(attr: &mut R) -> Result<OwnedFd, SyscallError> {
    let fd = bpf(attr)?;
    // SAFETY: the create/load commands return a fresh fd that only we own.
    Ok(unsafe { owned_fd(fd as libc::c_int) })
}

/// A pointer as the kernel's `__aligned_u64`.
fn addr<T>(p: *const T) -> u64 {
    p as usize as u64
}

/// Copies a name into a `char[16]` object name (truncated, NUL-terminated).
fn object_name(name: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (dst, src) in out.iter_mut().zip(
        name.bytes().filter(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.').take(15),
    ) {
        *dst = src;
    }
    out
}

/// `BPF_MAP_CREATE`.
#[repr(C)]
#[derive(Debug, Default)]
pub(crate) struct MapCreate {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; 16],
}

// SAFETY: `repr(C)` prefix of `bpf_attr`'s anonymous BPF_MAP_CREATE struct; no pointers.
unsafe impl Request for MapCreate {
    const CMD: Cmd = Cmd::MapCreate;
    const CALL: &'static str = "bpf(BPF_MAP_CREATE)";
}

/// A map with `u32` keys, and how many value bytes one element lookup or update copies: the
/// value size, or for a per-CPU map the value size rounded up to 8 once per possible CPU.
/// [`map_lookup`] and [`map_update`] check the caller's buffer against it, so the kernel never
/// reads or writes past the buffer.
#[derive(Debug)]
pub(crate) struct MapFd {
    fd: OwnedFd,
    value_bytes: usize,
}

impl MapFd {
    /// Bytes of the buffer [`map_lookup`] and [`map_update`] take.
    pub(crate) fn value_bytes(&self) -> usize {
        self.value_bytes
    }
}

impl AsFd for MapFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Whether maps of `map_type` keep one value per possible CPU (`BPF_MAP_TYPE_PERCPU_HASH`,
/// `…_PERCPU_ARRAY`, `…_LRU_PERCPU_HASH`, `…_PERCPU_CGROUP_STORAGE`).
fn per_cpu(map_type: u32) -> bool {
    matches!(map_type, 5 | 6 | 10 | 21)
}

/// Creates a map with `u32` keys.
pub(crate) fn map_create(
    map_type: u32,
    value_size: u32,
    max_entries: u32,
    name: &str,
) -> Result<MapFd, SyscallError> {
    let value_bytes = if per_cpu(map_type) {
        (value_size as usize).next_multiple_of(8) * super::sched::possible_cpus()?
    } else {
        value_size as usize
    };
    let mut attr = MapCreate {
        map_type,
        key_size: std::mem::size_of::<u32>() as u32,
        value_size,
        max_entries,
        map_name: object_name(name),
        ..Default::default()
    };
    Ok(MapFd { fd: bpf_fd(&mut attr)?, value_bytes })
}

/// `BPF_MAP_LOOKUP_ELEM` / `BPF_MAP_UPDATE_ELEM`.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct MapElem<'a, const CMD: i32> {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
    _borrow: PhantomData<&'a mut [u8]>,
}

impl<'a, const CMD: i32> MapElem<'a, CMD> {
    /// The request for `key` of `map`; `value` is the address of a buffer of
    /// `map.value_bytes()` bytes that stays borrowed while the request is used.
    fn new(map: &MapFd, key: &'a u32, value: u64) -> Self {
        Self {
            map_fd: map.fd.as_raw_fd() as u32,
            _pad: 0,
            key: addr(key),
            value,
            flags: 0,
            _borrow: PhantomData,
        }
    }
}

/// The error of a lookup or update whose buffer is not the size the kernel copies.
fn wrong_value_size(call: &'static str) -> SyscallError {
    SyscallError { call, source: std::io::Error::from_raw_os_error(libc::EINVAL) }
}

// SAFETY: `repr(C)` layout of `bpf_attr`'s element struct; `key` points at a `u32` borrowed
// for `'a` (the map's key size), `value` at a buffer of the map's `value_bytes` that
// `map_lookup`/`map_update` checked and keep borrowed across the call.
unsafe impl Request for MapElem<'_, { Cmd::MapLookupElem as i32 }> {
    const CMD: Cmd = Cmd::MapLookupElem;
    const CALL: &'static str = "bpf(BPF_MAP_LOOKUP_ELEM)";
}

// SAFETY: as above.
unsafe impl Request for MapElem<'_, { Cmd::MapUpdateElem as i32 }> {
    const CMD: Cmd = Cmd::MapUpdateElem;
    const CALL: &'static str = "bpf(BPF_MAP_UPDATE_ELEM)";
}

/// Reads the value under `key` into `value`, which must be [`MapFd::value_bytes`] long.
pub(crate) fn map_lookup(map: &MapFd, key: u32, value: &mut [u8]) -> Result<(), SyscallError> {
    type Lookup<'a> = MapElem<'a, { Cmd::MapLookupElem as i32 }>;
    if value.len() != map.value_bytes {
        return Err(wrong_value_size(Lookup::CALL));
    }
    bpf(&mut Lookup::new(map, &key, addr(value.as_mut_ptr()))).map(drop)
}

/// Writes `value` ([`MapFd::value_bytes`] long) under `key` (`BPF_ANY`).
pub(crate) fn map_update(map: &MapFd, key: u32, value: &[u8]) -> Result<(), SyscallError> {
    type Update<'a> = MapElem<'a, { Cmd::MapUpdateElem as i32 }>;
    if value.len() != map.value_bytes {
        return Err(wrong_value_size(Update::CALL));
    }
    bpf(&mut Update::new(map, &key, addr(value.as_ptr()))).map(drop)
}

/// `BPF_PROG_LOAD`.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct ProgLoad<'a> {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
    _borrow: PhantomData<&'a mut [u8]>,
}

// SAFETY: `repr(C)` prefix of `bpf_attr`'s BPF_PROG_LOAD struct (up to
// `expected_attach_type`); `insns`, `license`, `log_buf` point at memory borrowed for `'a`.
unsafe impl Request for ProgLoad<'_> {
    const CMD: Cmd = Cmd::ProgLoad;
    const CALL: &'static str = "bpf(BPF_PROG_LOAD)";
}

/// Loads a program from raw instructions (`insns` are `struct bpf_insn`, 8 bytes each, as
/// `u64`s in memory order). With `log`, the verifier writes its log there (level 1).
pub(crate) fn prog_load(
    prog_type: u32,
    expected_attach_type: u32,
    insns: &[u64],
    name: &str,
    log: Option<&mut [u8]>,
) -> Result<OwnedFd, SyscallError> {
    const LICENSE: &[u8] = b"GPL\0";
    let (log_level, log_size, log_buf) = match log {
        Some(buf) => (1, buf.len().min(u32::MAX as usize) as u32, addr(buf.as_mut_ptr())),
        None => (0, 0, 0),
    };
    let mut attr = ProgLoad {
        prog_type,
        insn_cnt: insns.len() as u32,
        insns: addr(insns.as_ptr()),
        license: addr(LICENSE.as_ptr()),
        log_level,
        log_size,
        log_buf,
        kern_version: 0,
        prog_flags: 0,
        prog_name: object_name(name),
        prog_ifindex: 0,
        expected_attach_type,
        _borrow: PhantomData,
    };
    bpf_fd(&mut attr)
}

/// `BPF_LINK_CREATE` (the common head: prog, target, attach type, flags).
#[repr(C)]
#[derive(Debug)]
pub(crate) struct LinkCreate {
    prog_fd: u32,
    target_ifindex: u32,
    attach_type: u32,
    flags: u32,
}

// SAFETY: `repr(C)` prefix of `bpf_attr`'s BPF_LINK_CREATE struct; no pointers.
unsafe impl Request for LinkCreate {
    const CMD: Cmd = Cmd::LinkCreate;
    const CALL: &'static str = "bpf(BPF_LINK_CREATE)";
}

/// Attaches `prog` to the interface `ifindex` with `attach_type`; the link lives as long as the
/// returned fd.
pub(crate) fn link_create(
    prog: BorrowedFd<'_>,
    ifindex: u32,
    attach_type: u32,
    flags: u32,
) -> Result<OwnedFd, SyscallError> {
    let mut attr = LinkCreate {
        prog_fd: prog.as_raw_fd() as u32,
        target_ifindex: ifindex,
        attach_type,
        flags,
    };
    bpf_fd(&mut attr)
}

/// `BPF_RAW_TRACEPOINT_OPEN` (the head: tracepoint name, program).
#[repr(C)]
#[derive(Debug)]
pub(crate) struct RawTracepointOpen<'a> {
    name: u64,
    prog_fd: u32,
    _pad: u32,
    _borrow: PhantomData<&'a CStr>,
}

// SAFETY: `repr(C)` prefix of `bpf_attr`'s `raw_tracepoint` struct; `name` points at a
// NUL-terminated string borrowed for `'a`.
unsafe impl Request for RawTracepointOpen<'_> {
    const CMD: Cmd = Cmd::RawTracepointOpen;
    const CALL: &'static str = "bpf(BPF_RAW_TRACEPOINT_OPEN)";
}

/// Attaches `prog` (a `BPF_PROG_TYPE_RAW_TRACEPOINT` program) to the tracepoint `name`; it stays
/// attached as long as the returned fd.
pub(crate) fn raw_tracepoint_open(
    name: &CStr,
    prog: BorrowedFd<'_>,
) -> Result<OwnedFd, SyscallError> {
    let mut attr = RawTracepointOpen {
        name: addr(name.as_ptr()),
        prog_fd: prog.as_raw_fd() as u32,
        _pad: 0,
        _borrow: PhantomData,
    };
    bpf_fd(&mut attr)
}

/// `BPF_PROG_TEST_RUN` (`BPF_PROG_RUN`).
#[repr(C)]
#[derive(Debug)]
pub(crate) struct ProgTestRun<'a> {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    _pad: u32,
    _borrow: PhantomData<&'a [u8]>,
}

// SAFETY: `repr(C)` layout of `bpf_attr`'s `test` struct; `data_in`/`ctx_in` point at slices
// borrowed for `'a`, `data_out`/`ctx_out` are NULL with size 0.
unsafe impl Request for ProgTestRun<'_> {
    const CMD: Cmd = Cmd::ProgTestRun;
    const CALL: &'static str = "bpf(BPF_PROG_TEST_RUN)";
}

/// Runs `prog` `repeat` times on `data` (and `ctx`, if any) with `flags` and `batch_size`;
/// returns the program's return value (of the last run).
pub(crate) fn prog_test_run(
    prog: BorrowedFd<'_>,
    data: &[u8],
    ctx: Option<&[u8]>,
    repeat: u32,
    flags: u32,
    batch_size: u32,
) -> Result<u32, SyscallError> {
    let (ctx_size_in, ctx_in) = match ctx {
        Some(c) => (c.len() as u32, addr(c.as_ptr())),
        None => (0, 0),
    };
    let mut attr = ProgTestRun {
        prog_fd: prog.as_raw_fd() as u32,
        retval: 0,
        data_size_in: data.len() as u32,
        data_size_out: 0,
        data_in: addr(data.as_ptr()),
        data_out: 0,
        repeat,
        duration: 0,
        ctx_size_in,
        ctx_size_out: 0,
        ctx_in,
        ctx_out: 0,
        flags,
        cpu: 0,
        batch_size,
        _pad: 0,
        _borrow: PhantomData,
    };
    bpf(&mut attr)?;
    Ok(attr.retval)
}

/// CLOCK_MONOTONIC now, ns: the clock `bpf_ktime_get_ns()` reads in a program.
pub(crate) fn ktime_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec through the pointer, which points to `ts` on
    // our stack; CLOCK_MONOTONIC always exists, so the call cannot fail.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_layouts_match_the_kernel() {
        // Offsets from include/uapi/linux/bpf.h.
        assert_eq!(std::mem::size_of::<MapCreate>(), 44);
        assert_eq!(std::mem::size_of::<MapElem<'_, { Cmd::MapLookupElem as i32 }>>(), 32);
        assert_eq!(std::mem::size_of::<ProgLoad<'_>>(), 72);
        assert_eq!(std::mem::size_of::<LinkCreate>(), 16);
        assert_eq!(std::mem::size_of::<ProgTestRun<'_>>(), 80);
    }

    #[test]
    fn object_names_are_truncated_and_terminated() {
        let n = object_name("a-very-long-program-name");
        assert_eq!(&n[..15], b"averylongprogra");
        assert_eq!(n[15], 0);
    }
}
