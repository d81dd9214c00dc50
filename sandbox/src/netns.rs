//! The command's network namespace and the proxy listener inside it.
//!
//! When the command may use the network, a short-lived helper process,
//! started by shellgate as soon as the policy says so (while the command is
//! still being decided), makes a user namespace and a network namespace
//! (user_namespaces(7), network_namespaces(7)): the network namespace
//! holds only a loopback interface, so no address outside is routable. In
//! the helper, [`Helper::run`], with raw syscalls on data prepared before
//! it starts:
//!
//! 1. `unshare(CLONE_NEWUSER | CLONE_NEWNET)`, `setgroups` denied and its
//!    own uid and gid mapped;
//! 2. brings `lo` up (`SIOCSIFFLAGS` with `IFF_UP`, netdevice(7));
//! 3. opens a TCP socket listening on `127.0.0.1:PORT` of the namespace;
//! 4. sends it and descriptors of both namespaces (`/proc/self/ns/user`,
//!    `/proc/self/ns/net`) to shellgate over a Unix socket pair made
//!    before the fork (`SCM_RIGHTS`, unix(7)), and exits.
//!
//! Making a network namespace costs the kernel about 0.7 ms (it registers
//! the loopback device and the namespace's sysctls), which the helper
//! spends on another CPU while shellgate decides, writes the audit record
//! and builds the Landlock ruleset.
//!
//! The helper shares shellgate's memory (`clone(CLONE_VM)`, clone(2)) and
//! runs on a stack of its own: a `fork` would first copy the page tables
//! of shellgate's heap (its policy, its parse), about 0.2 ms on the
//! decision's path. Sharing is safe because the helper reads only its
//! [`Helper`] data, which shellgate neither changes nor frees until the
//! helper is reaped ([`HelperMemory`]), writes only its own stack, and
//! starts with every signal blocked, so none of shellgate's handlers runs
//! in it. Its file descriptor table is its own copy. It
//! makes every syscall itself (`sys.rs`) rather than through glibc, whose
//! wrappers would write the `errno` it shares with the thread that
//! started it and, for cancellation points, that thread's descriptor. The command's process then joins the
//! namespaces (`setns(2)`: as the namespace owner's uid in the parent
//! namespace it holds `CAP_SYS_ADMIN` there) before it makes its mount
//! namespace and confines itself (`mounts.rs`, `exec.rs`).
//!
//! shellgate accepts on the listener outside the sandbox (a socket keeps
//! the namespace it was created in) and runs the filtering proxy
//! (`proxy.rs`) on each connection; the command finds it through
//! `HTTP(S)_PROXY` and `ALL_PROXY`.

use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::exec::SetupStep;
use crate::sys::{self, check, close, open};
use crate::SandboxError;

/// A user and network namespace made for one run by a helper process
/// (see the module docs); [`crate::run_prepared`] takes it.
///
/// Dropping it before the run kills and reaps the helper if it is still
/// there and closes everything it sent: the namespaces go away with their
/// last descriptor. The helper is the caller's child until then: a caller
/// that reaps children it did not start itself (`waitpid(-1)`, `SIGCHLD`
/// ignored) must not use this type, as the pid could then be reused
/// before it is signalled.
#[derive(Debug)]
pub struct PreparedNetwork {
    /// The helper's pid, until it has been reaped.
    helper: libc::pid_t,
    /// shellgate's end of the channel the helper answers on.
    channel: OwnedFd,
    /// Port of the proxy listener on the namespace's `127.0.0.1`.
    port: u16,
    /// What the helper runs on, until it has been reaped.
    memory: Option<HelperMemory>,
}

/// The memory a `CLONE_VM` helper uses: its data and its stack. Dropped
/// only after the helper has been reaped (a reaped process runs no more).
#[derive(Debug)]
pub(crate) struct HelperMemory {
    _helper: Box<Helper>,
    _stack: crate::stack::Stack,
}

/// What the helper sent: the namespaces to join and the proxy listener.
#[derive(Debug)]
pub(crate) struct Joined {
    /// `/proc/<helper>/ns/user`.
    pub user: OwnedFd,
    /// `/proc/<helper>/ns/net`.
    pub net: OwnedFd,
    /// Listening on `127.0.0.1:port` inside the namespace.
    pub listener: TcpListener,
    /// The listener's port.
    pub port: u16,
    /// The helper, exited: reaped when this is dropped, after the run,
    /// rather than waited for before it.
    pub zombie: Zombie,
}

/// A child that has exited or is about to; `waitpid` when dropped, then
/// the memory it ran on is freed.
#[derive(Debug)]
pub(crate) struct Zombie {
    pid: libc::pid_t,
    memory: Option<HelperMemory>,
}

impl Drop for Zombie {
    fn drop(&mut self) {
        // `None` means it was reaped elsewhere (or auto-reaped): gone too.
        let _ = wait_for(self.pid);
        drop(self.memory.take());
    }
}

/// `waitpid(pid, …, 0)`, retried on `EINTR`: the wait status, or `None`
/// when `pid` is no child to wait for. Only for our own child, reaped
/// nowhere else (else the pid could be reused).
fn wait_for(pid: libc::pid_t) -> Option<libc::c_int> {
    let mut status = 0;
    loop {
        // SAFETY: waitpid into a stack integer.
        let ret = unsafe { libc::waitpid(pid, &mut status, 0) };
        if ret > 0 {
            return Some(status);
        }
        if ret < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        return None;
    }
}

impl PreparedNetwork {
    /// Forks the helper that makes the namespaces; returns at once (the
    /// helper works while the caller goes on). Call [`crate::run_prepared`]
    /// with the result.
    ///
    /// # Errors
    /// [`SandboxError::UserNamespacesUnavailable`] when the kernel does not
    /// allow unprivileged user namespaces ([`crate::probe`]);
    /// [`SandboxError::Internal`] when the socket pair or the fork fails.
    /// A failure inside the helper is reported by [`Self::finish`].
    pub fn start() -> Result<PreparedNetwork, SandboxError> {
        if !crate::probe().user_namespaces {
            return Err(SandboxError::UserNamespacesUnavailable);
        }
        let (ours, theirs) = channel().map_err(SandboxError::Internal)?;
        let helper = Box::new(Helper {
            port: crate::proxy_port(),
            send_fd: theirs.as_raw_fd(),
            ids: sys::IdMaps::own(),
        });
        let stack = crate::stack::Stack::new().map_err(SandboxError::Internal)?;
        let pid = start_helper(&helper, &stack).map_err(SandboxError::Internal)?;
        drop(theirs);
        Ok(PreparedNetwork {
            helper: pid,
            channel: ours,
            port: helper.port,
            memory: Some(HelperMemory {
                _helper: helper,
                _stack: stack,
            }),
        })
    }

    /// Waits for the helper's answer (at most 5 s). The helper exits right
    /// after answering; it is reaped when [`Joined::zombie`] is dropped,
    /// after the run, so that its exit is not waited for here.
    ///
    /// # Errors
    /// [`SandboxError::ChildSetup`] naming the step that failed in the
    /// helper ([`SetupStep::MountNamespace`] for the namespaces and id
    /// maps, [`SetupStep::NetworkNamespace`] for `lo` and the listener),
    /// or [`SetupStep::NetworkNamespace`] with the receive error when no
    /// answer came.
    pub(crate) fn finish(mut self) -> Result<Joined, SandboxError> {
        let net_error = |source| SandboxError::ChildSetup {
            step: SetupStep::NetworkNamespace,
            source,
        };
        let (data, fds) = match receive(&self.channel) {
            Ok(answer) => answer,
            Err(e) => {
                // No answer: killed rather than waited for.
                self.reap(true);
                let what = if e.kind() == io::ErrorKind::WouldBlock {
                    "no answer from the helper that makes the namespaces within 5 s".to_string()
                } else {
                    format!("cannot read the answer of the helper that makes the namespaces: {e}")
                };
                return Err(net_error(io::Error::new(e.kind(), what)));
            }
        };
        if let [code, e0, e1, e2, e3] = data[..] {
            if code != 0 {
                return Err(SandboxError::ChildSetup {
                    step: SetupStep::from_code(code).unwrap_or(SetupStep::NetworkNamespace),
                    source: io::Error::from_raw_os_error(i32::from_ne_bytes([e0, e1, e2, e3])),
                });
            }
        }
        let count = fds.len();
        let mut fds = fds.into_iter();
        match (fds.next(), fds.next(), fds.next()) {
            (Some(listener), Some(user), Some(net)) if data.first() == Some(&0) => {
                // It exits right after answering: reaped after the run.
                let zombie = Zombie {
                    pid: std::mem::take(&mut self.helper),
                    memory: self.memory.take(),
                };
                Ok(Joined {
                    user,
                    net,
                    listener: TcpListener::from(listener),
                    port: self.port,
                    zombie,
                })
            }
            _ => {
                let ended = match self.reap(false) {
                    Some(status) if libc::WIFSIGNALED(status) => {
                        format!("was killed by signal {}", libc::WTERMSIG(status))
                    }
                    Some(status) => format!("exited with status {}", libc::WEXITSTATUS(status)),
                    None => "is gone".to_string(),
                };
                Err(net_error(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "the helper that makes the namespaces {ended} after sending {} of 3 \
                         descriptors",
                        count
                    ),
                )))
            }
        }
    }

    /// Reaps the helper (after SIGKILL when `kill`) and returns its wait
    /// status, once: `None` when it was already reaped.
    fn reap(&mut self, kill: bool) -> Option<libc::c_int> {
        if self.helper <= 0 {
            return None;
        }
        if kill {
            // SAFETY: our own child's pid, which is not reused before it is
            // reaped below.
            unsafe { libc::kill(self.helper, libc::SIGKILL) };
        }
        let status = wait_for(self.helper);
        self.helper = 0;
        // Reaped (or gone): nothing runs on its memory any more.
        self.memory = None;
        status
    }
}

/// Starts `helper` in a child that shares our memory and runs on `stack`
/// (`clone(CLONE_VM | SIGCHLD)`, clone(2)); its pid. Every signal is
/// blocked in the child (the mask is inherited; it never unblocks).
///
/// # Errors
/// `clone` failed.
fn start_helper(helper: &Helper, stack: &crate::stack::Stack) -> io::Result<libc::pid_t> {
    extern "C" fn entry(arg: *mut libc::c_void) -> libc::c_int {
        // SAFETY: `arg` is the `Helper` that `start_helper`'s caller keeps
        // alive, unchanged, until this child is reaped.
        let helper = unsafe { &*(arg as *const Helper) };
        helper.run()
    }
    // SAFETY: the mask calls take stack sigsets; clone runs `entry` on
    // `stack`, which outlives the child like `helper` (see above).
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let pid = libc::clone(
            entry,
            stack.top(),
            libc::CLONE_VM | libc::SIGCHLD,
            (helper as *const Helper).cast_mut().cast(),
        );
        let error = io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        if pid < 0 {
            return Err(error);
        }
        Ok(pid)
    }
}

impl Drop for PreparedNetwork {
    fn drop(&mut self) {
        let _ = self.reap(true);
    }
}

/// The helper's data, prepared before it starts.
#[derive(Debug)]
struct Helper {
    port: u16,
    /// The helper's end of the socket pair.
    send_fd: RawFd,
    ids: sys::IdMaps,
}

impl Helper {
    /// In the helper: makes the namespaces, the loopback and the
    /// listener, sends them with a status byte (or the failed step and
    /// errno, without descriptors), and exits. Never returns. Every
    /// syscall goes through [`sys::call`], which leaves `errno` (shared
    /// with the thread that started the helper) alone.
    fn run(&self) -> ! {
        if let Err((step, errno)) = self.make() {
            let e = errno.to_ne_bytes();
            let record = [step as u8, e[0], e[1], e[2], e[3]];
            // SAFETY: a 5-byte send from the stack to our socket.
            unsafe {
                sys::call(
                    libc::SYS_sendto,
                    [
                        self.send_fd as usize,
                        record.as_ptr() as usize,
                        record.len(),
                        libc::MSG_NOSIGNAL as usize,
                        0,
                        0,
                    ],
                );
                sys::call(libc::SYS_exit_group, [1, 0, 0, 0, 0, 0]);
            }
        }
        // SAFETY: exit_group ends the helper (its own thread group) without
        // running any destructor or atexit handler.
        unsafe { sys::call(libc::SYS_exit_group, [0; 6]) };
        unreachable!("exit_group returned")
    }

    /// The steps of [`Self::run`]; on failure, the step and its errno.
    fn make(&self) -> Result<(), (SetupStep, i32)> {
        let at = |step: SetupStep| move |errno: i32| (step, errno);
        // SAFETY: raw syscalls on fds we create, NUL-terminated constant
        // paths, and buffers owned by `self` or on the stack.
        unsafe {
            // Nothing of shellgate's but the channel stays open in the
            // helper (close_range(2); Linux >= 5.9, implied by Landlock).
            let keep = self.send_fd as usize;
            if keep > 3 {
                check(sys::call(libc::SYS_close_range, [3, keep - 1, 0, 0, 0, 0]))
                    .map_err(at(SetupStep::CloseFds))?;
            }
            check(sys::call(
                libc::SYS_close_range,
                [keep + 1, libc::c_uint::MAX as usize, 0, 0, 0, 0],
            ))
            .map_err(at(SetupStep::CloseFds))?;
            self.ids
                .enter(libc::CLONE_NEWNET)
                .map_err(at(SetupStep::MountNamespace))?;
            let listener = self.listen().map_err(at(SetupStep::NetworkNamespace))?;
            let user = open(c"/proc/self/ns/user").map_err(at(SetupStep::NetworkNamespace))?;
            let net = open(c"/proc/self/ns/net").map_err(at(SetupStep::NetworkNamespace))?;
            send_fds(self.send_fd, &[listener, user, net])
                .map_err(at(SetupStep::NetworkNamespace))?;
        }
        Ok(())
    }

    /// `lo` up, then a socket listening on `127.0.0.1:port`: its fd, or
    /// the errno.
    ///
    /// # Safety
    /// Raw syscalls; call in the helper only.
    unsafe fn listen(&self) -> Result<RawFd, i32> {
        let socket = |kind: libc::c_int| {
            check(sys::call(
                libc::SYS_socket,
                [
                    libc::AF_INET as usize,
                    (kind | libc::SOCK_CLOEXEC) as usize,
                    0,
                    0,
                    0,
                    0,
                ],
            ))
        };
        let s = socket(libc::SOCK_DGRAM)?;
        let mut ifr: libc::ifreq = std::mem::zeroed();
        for (dst, src) in ifr.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        let ioctl = |request: libc::c_ulong, ifr: *mut libc::ifreq| {
            check(sys::call(
                libc::SYS_ioctl,
                [s as usize, request as usize, ifr as usize, 0, 0, 0],
            ))
        };
        let up = ioctl(libc::SIOCGIFFLAGS, &mut ifr).and_then(|_| {
            ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            ioctl(libc::SIOCSIFFLAGS, &mut ifr)
        });
        close(s);
        up?;

        let l = socket(libc::SOCK_STREAM)?;
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: self.port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(std::net::Ipv4Addr::LOCALHOST).to_be(),
            },
            sin_zero: [0; 8],
        };
        let bound = check(sys::call(
            libc::SYS_bind,
            [
                l as usize,
                &addr as *const libc::sockaddr_in as usize,
                std::mem::size_of::<libc::sockaddr_in>(),
                0,
                0,
                0,
            ],
        ))
        .and_then(|_| check(sys::call(libc::SYS_listen, [l as usize, 128, 0, 0, 0, 0])));
        if let Err(errno) = bound {
            close(l);
            return Err(errno);
        }
        Ok(l)
    }
}

/// The socket pair the helper answers over: `(shellgate's end, the
/// helper's end)`, both close-on-exec.
pub(crate) fn channel() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1 as RawFd; 2];
    // SAFETY: socketpair writes two descriptors into `fds`.
    if unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    } != 0
    {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Control-message buffer for up to three fds, aligned for `cmsghdr`.
#[repr(C, align(8))]
struct CmsgBuf([u8; 32]);

/// Sends `fds` over the Unix socket `over` (`SCM_RIGHTS`, unix(7)) with one
/// data byte, 0 (success).
///
/// # Safety
/// Raw syscalls on stack buffers.
unsafe fn send_fds(over: RawFd, fds: &[RawFd]) -> Result<(), i32> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut buf = CmsgBuf([0; 32]);
    let size = std::mem::size_of_val(fds) as u32;
    let space = libc::CMSG_SPACE(size) as usize;
    if space > buf.0.len() {
        return Err(libc::EINVAL);
    }
    let mut msg: libc::msghdr = std::mem::zeroed();
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = buf.0.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    let cmsg = libc::CMSG_FIRSTHDR(&msg);
    (*cmsg).cmsg_level = libc::SOL_SOCKET;
    (*cmsg).cmsg_type = libc::SCM_RIGHTS;
    (*cmsg).cmsg_len = libc::CMSG_LEN(size) as _;
    std::ptr::copy_nonoverlapping(
        fds.as_ptr().cast::<u8>(),
        libc::CMSG_DATA(cmsg),
        size as usize,
    );
    match check(sys::call(
        libc::SYS_sendmsg,
        [
            over as usize,
            &msg as *const libc::msghdr as usize,
            libc::MSG_NOSIGNAL as usize,
            0,
            0,
            0,
        ],
    ))? {
        1 => Ok(()),
        _ => Err(libc::EIO),
    }
}

/// Receives the helper's answer over `from` (shellgate's end of
/// [`channel`]): its data bytes (one 0 byte on success, step and errno on
/// failure) and the descriptors that came with them. Waits at most 5 s.
///
/// # Errors
/// The receive failed or timed out.
fn receive(from: &OwnedFd) -> io::Result<(Vec<u8>, Vec<OwnedFd>)> {
    use nix::sys::socket::{recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags};
    use std::os::fd::BorrowedFd;
    // SAFETY: `from` is open for the duration of this function.
    let borrowed = unsafe { BorrowedFd::borrow_raw(from.as_raw_fd()) };
    setsockopt(
        &borrowed,
        sockopt::ReceiveTimeout,
        &nix::sys::time::TimeVal::new(5, 0),
    )
    .map_err(io::Error::from)?;
    let mut data = [0u8; 5];
    let mut iov = [io::IoSliceMut::new(&mut data)];
    let mut space = nix::cmsg_space!([RawFd; 3]);
    let msg = recvmsg::<()>(
        from.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(io::Error::from)?;
    let len = msg.bytes;
    let mut fds = Vec::new();
    for cmsg in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(received) = cmsg {
            // SAFETY: the kernel installed these descriptors for us; nobody
            // else owns them.
            fds.extend(
                received
                    .into_iter()
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    if msg.flags.contains(MsgFlags::MSG_CTRUNC) {
        // The descriptors that did not fit were closed by the kernel; those
        // that did are closed with `fds`.
        return Err(io::Error::other(
            "the namespace descriptors did not arrive (MSG_CTRUNC): is the open-file limit \
             (ulimit -n) reached?",
        ));
    }
    Ok((data[..len].to_vec(), fds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn inode(fd: &OwnedFd) -> u64 {
        std::fs::File::from(fd.try_clone().unwrap())
            .metadata()
            .unwrap()
            .ino()
    }

    /// A started helper, or `None` (with a note) where the kernel allows
    /// no user namespaces.
    fn started() -> Option<PreparedNetwork> {
        if !crate::probe().user_namespaces {
            eprintln!("skipped: no user namespaces here");
            return None;
        }
        Some(PreparedNetwork::start().unwrap())
    }

    /// `pid` is no child of ours any more: reaped.
    fn assert_reaped(pid: libc::pid_t) {
        // SAFETY: waitpid on a pid we forked.
        let ret = unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
        assert_eq!(ret, -1);
        assert_eq!(
            io::Error::last_os_error().raw_os_error(),
            Some(libc::ECHILD)
        );
    }

    /// The helper answers with namespaces other than ours and a listener
    /// on the planned port, and is reaped.
    #[test]
    fn the_helper_sends_new_namespaces_and_a_listener() {
        let Some(prepared) = started() else { return };
        let (helper, port) = (prepared.helper, prepared.port);
        let joined = prepared.finish().unwrap();
        let ours = |name: &str| {
            std::fs::metadata(format!("/proc/self/ns/{name}"))
                .unwrap()
                .ino()
        };
        assert_ne!(inode(&joined.user), ours("user"));
        assert_ne!(inode(&joined.net), ours("net"));
        assert_eq!(joined.listener.local_addr().unwrap().port(), port);
        assert_eq!(joined.port, port);
        drop(joined);
        assert_reaped(helper);
    }

    /// The helper's file writes report the kernel's errno by value, with
    /// the caller's `errno` untouched (it is shared with the helper).
    #[test]
    fn helper_calls_report_errors_by_value() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("map");
        std::fs::write(&file, b"").unwrap();
        let path = std::ffi::CString::new(file.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: our own errno; NUL-terminated paths.
        unsafe {
            *libc::__errno_location() = 0;
            assert_eq!(sys::write_file(&path, b"0 0 1\n"), Ok(()));
            assert_eq!(
                sys::write_file(c"/nonexistent/shellgate/map", b"x"),
                Err(libc::ENOENT)
            );
            assert_eq!(open(c"/nonexistent/shellgate"), Err(libc::ENOENT));
            assert_eq!(*libc::__errno_location(), 0);
        }
        assert_eq!(std::fs::read(&file).unwrap(), b"0 0 1\n");
    }

    /// Dropped unused (a command that was refused), the helper is gone.
    #[test]
    fn an_unused_network_leaves_no_helper() {
        let Some(prepared) = started() else { return };
        let helper = prepared.helper;
        drop(prepared);
        assert_reaped(helper);
    }
}
