//! The programs the jail puts first on `PATH` in place of tools that would
//! reach the network or gain privilege. Each one does nothing real and
//! returns plausible output so that a pipeline goes on; what matters is
//! that its `execve`, with the argv as the command built it, is in the
//! trace. Download tools hand out [`PAYLOAD`], a script whose execution
//! is unmistakable.

/// Where the stand-ins are inside the jail.
pub const BIN: &str = "/.oracle/bin";

/// The program [`PAYLOAD`] runs: its `execve` means downloaded content was
/// executed.
pub const PAYLOAD_MARKER: &str = "/.oracle/bin/downloaded-payload";

/// What every stand-in download returns. Line 1 runs the marker in `sh` and
/// `bash` and is a no-op string expression in Python; line 2 runs it in
/// Python and stops a shell with a syntax error after line 1 has run.
pub const PAYLOAD: &str = "\"/.oracle/bin/downloaded-payload\" \"$0\"\n\
import os; os.execv(\"/.oracle/bin/downloaded-payload\", [\"downloaded-payload\", \"python\"])\n";

/// `curl` and `wget`: without a URL (an operand with `://` or a dot) fail
/// as the real ones do; otherwise write [`PAYLOAD`] to the output file their options
/// name (`-o F`, `-oF`, `-sLo F`, `--output F`, wget's `-O F`, `-qO-`,
/// `--output-document=F`; curl's `-O` takes the URL's last segment), or to
/// stdout; read and drop stdin when an upload reads it.
const DOWNLOAD: &str = r#"#!/bin/sh
# shellgate oracle stand-in: no network; hands out a marked payload.
tool=${0##*/}
out=""; want=""; remote=""; url=""
for a in "$@"; do
  if [ -n "$want" ]; then out=$a; want=""; continue; fi
  case "$a" in
    --output|--output-document) want=1 ;;
    --output=*|--output-document=*) out=${a#*=} ;;
    --remote-name) remote=1 ;;
    --*) ;;
    -*)
      flags=${a#-}
      case "$tool" in curl) letter=o ;; *) letter=O ;; esac
      case "$flags" in
        *"$letter") want=1 ;;
        *"$letter"*) out=${flags#*"$letter"} ;;
      esac
      if [ "$tool" = curl ]; then case "$flags" in *O*) remote=1 ;; esac; fi ;;
    *://*|*.*) url=$a ;;
  esac
done
if [ -z "$url" ]; then
  echo "$tool: no URL specified" >&2
  exit 2
fi
if [ -z "$out" ] && [ -n "$remote" ] && [ -n "$url" ]; then
  out=${url%%\?*}; out=${out##*/}; [ -n "$out" ] || out=index.html
fi
payload() {
  cat <<'SHELLGATE_ORACLE_PAYLOAD_END'
@PAYLOAD@SHELLGATE_ORACLE_PAYLOAD_END
}
if [ -z "$out" ] || [ "$out" = - ]; then payload; else payload > "$out"; fi
exit 0
"#;

/// `git`: `push` succeeds without doing anything (the argv is the
/// evidence); commands that need a remote fail as with no network; the
/// rest run the real git (`@GIT@`).
const GIT: &str = r#"#!/bin/sh
# shellgate oracle stand-in for git: push pretends, network commands fail.
for a in "$@"; do
  case "$a" in
    push) echo "Everything up-to-date" >&2; exit 0 ;;
    clone|fetch|pull|ls-remote|submodule) echo "fatal: unable to access remote: no network in the oracle" >&2; exit 128 ;;
    -*) ;;
    *) break ;;
  esac
done
exec @GIT@ "$@"
"#;

/// Privilege tools: refuse, like a `sudo` with no password to give.
const PRIVILEGE: &str = r#"#!/bin/sh
echo "${0##*/}: a password is required (shellgate oracle stand-in)" >&2
exit 1
"#;

/// Network clients: read stdin to its end (as if sent) and succeed.
const NETWORK: &str = r#"#!/bin/sh
# shellgate oracle stand-in: no network; consumes what would be sent.
[ -t 0 ] || cat > /dev/null
exit 0
"#;

/// `rsync`/`scp`: a remote (`host:path`, `URL`) makes them a network
/// stand-in; a local copy runs the real tool (`@REAL@`) when there is one.
const COPY: &str = r#"#!/bin/sh
for a in "$@"; do
  case "$a" in
    -*) ;;
    *://*|[!/]*:*) [ -t 0 ] || cat > /dev/null; exit 0 ;;
  esac
done
real=@REAL@
[ -x "$real" ] || { echo "${0##*/}: not installed" >&2; exit 127; }
exec "$real" "$@"
"#;

/// The payload marker itself.
const MARKER: &str = "#!/bin/sh\nexit 0\n";

/// `(file name, script)` for every stand-in; `git` is the path of the real
/// git, `real` finds a real tool's path (for local copies).
pub fn all(git: &str, real: impl Fn(&str) -> Option<String>) -> Vec<(String, String)> {
    let mut out = vec![("downloaded-payload".to_string(), MARKER.to_string())];
    for t in ["curl", "wget"] {
        out.push((t.into(), DOWNLOAD.replace("@PAYLOAD@", PAYLOAD)));
    }
    out.push(("git".into(), GIT.replace("@GIT@", git)));
    for t in [
        "sudo", "su", "doas", "pkexec", "run0", "runuser", "sudoedit",
    ] {
        out.push((t.into(), PRIVILEGE.into()));
    }
    for t in [
        "nc", "ncat", "netcat", "socat", "telnet", "ssh", "sftp", "ftp", "dig", "nslookup", "host",
        "docker", "podman", "kubectl",
    ] {
        out.push((t.into(), NETWORK.into()));
    }
    for t in ["rsync", "scp"] {
        let path = real(t).unwrap_or_else(|| format!("/nonexistent/{t}"));
        out.push((t.into(), COPY.replace("@REAL@", &path)));
    }
    out
}
