//! The command's network namespace and the proxy listener inside it.
//!
//! When the command may use the network, the child unshares a network
//! namespace together with its user namespace (network_namespaces(7)): it
//! holds only a loopback interface, so no address outside is routable. In
//! the child, still privileged inside the new user namespace and before
//! Landlock and seccomp, [`NetPlan::apply`]:
//!
//! 1. brings `lo` up (`SIOCSIFFLAGS` with `IFF_UP`, netdevice(7));
//! 2. opens a TCP socket listening on `127.0.0.1:PORT` of the namespace;
//! 3. sends it to shellgate over a Unix socket pair made before `fork`
//!    (`SCM_RIGHTS`, unix(7)) and closes its own copies.
//!
//! shellgate accepts on that socket outside the sandbox (a socket keeps the
//! namespace it was created in) and runs the filtering proxy (`proxy.rs`)
//! on each connection; the command finds it through `HTTP(S)_PROXY` and
//! `ALL_PROXY`. Everything here is prepared before `fork`; the child makes
//! raw syscalls only.

use std::ffi::c_long;
use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// What the child does in its new network namespace.
#[derive(Debug)]
pub(crate) struct NetPlan {
    /// Port of the proxy listener on the namespace's `127.0.0.1`.
    pub port: u16,
    /// The child's end of the socket pair the listener is sent over.
    pub send_fd: RawFd,
}

/// The socket pair the listener travels over: `(shellgate's end, the
/// child's end)`, both close-on-exec.
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

/// `-1` with errno preserved after closing `fd`.
///
/// # Safety
/// Raw syscalls; `fd` is ours.
unsafe fn fail_closing(fd: libc::c_int) -> c_long {
    let errno = *libc::__errno_location();
    libc::close(fd);
    *libc::__errno_location() = errno;
    -1
}

impl NetPlan {
    /// In the child, right after `unshare(CLONE_NEWUSER | CLONE_NEWNET …)`
    /// and the id maps. `-1` with errno set on the first failure.
    pub(crate) fn apply(&self) -> c_long {
        // SAFETY: socket/ioctl/bind/listen/sendmsg/close on fds we create,
        // with structs on the stack.
        unsafe {
            let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
            if s < 0 {
                return -1;
            }
            let mut ifr: libc::ifreq = std::mem::zeroed();
            for (dst, src) in ifr.ifr_name.iter_mut().zip(b"lo\0") {
                *dst = *src as libc::c_char;
            }
            if libc::ioctl(s, libc::SIOCGIFFLAGS, &mut ifr) != 0 {
                return fail_closing(s);
            }
            ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            if libc::ioctl(s, libc::SIOCSIFFLAGS, &ifr) != 0 {
                return fail_closing(s);
            }
            libc::close(s);

            let l = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            if l < 0 {
                return -1;
            }
            let addr = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: self.port.to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from(std::net::Ipv4Addr::LOCALHOST).to_be(),
                },
                sin_zero: [0; 8],
            };
            if libc::bind(
                l,
                (&addr as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            ) != 0
                || libc::listen(l, 128) != 0
            {
                return fail_closing(l);
            }
            if send_fd(self.send_fd, l) != 0 {
                return fail_closing(l);
            }
            libc::close(l);
            libc::close(self.send_fd);
        }
        0
    }
}

/// Control-message buffer for one fd, aligned for `cmsghdr`.
#[repr(C, align(8))]
struct CmsgBuf([u8; 32]);

/// Sends `fd` over the Unix socket `over` (`SCM_RIGHTS`, unix(7)) with one
/// data byte. 0 or -1 with errno set.
///
/// # Safety
/// Raw syscalls on stack buffers.
unsafe fn send_fd(over: RawFd, fd: RawFd) -> libc::c_int {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut buf = CmsgBuf([0; 32]);
    let space = libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) as usize;
    if space > buf.0.len() {
        *libc::__errno_location() = libc::EINVAL;
        return -1;
    }
    let mut msg: libc::msghdr = std::mem::zeroed();
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = buf.0.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    let cmsg = libc::CMSG_FIRSTHDR(&msg);
    (*cmsg).cmsg_level = libc::SOL_SOCKET;
    (*cmsg).cmsg_type = libc::SCM_RIGHTS;
    (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
    std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>(), fd);
    if libc::sendmsg(over, &msg, libc::MSG_NOSIGNAL) == 1 {
        0
    } else {
        -1
    }
}

/// Receives the listener the child sent over `from` (shellgate's end of
/// [`channel`]). Waits at most 5 s: the child sends it before `execve`,
/// so by the time the spawn has returned it is already queued.
///
/// # Errors
/// The receive failed, timed out, or carried no descriptor.
pub(crate) fn receive_listener(from: &OwnedFd) -> io::Result<TcpListener> {
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
    let mut byte = [0u8; 1];
    let mut iov = [io::IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!(RawFd);
    let msg = recvmsg::<()>(
        from.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(io::Error::from)?;
    for cmsg in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            let mut fds = fds.into_iter();
            if let Some(fd) = fds.next() {
                for extra in fds {
                    // SAFETY: received descriptors are ours to close.
                    drop(unsafe { OwnedFd::from_raw_fd(extra) });
                }
                // SAFETY: the kernel installed `fd` for us; nobody else owns it.
                return Ok(TcpListener::from(unsafe { OwnedFd::from_raw_fd(fd) }));
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "the sandbox sent no listener",
    ))
}
