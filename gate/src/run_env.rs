//! The environment of a sandboxed command: the caller's, minus credentials
//! and the sockets of agents that hold them.
//!
//! A command that slips past the decision still must not find the user's
//! tokens in its environment, nor reach `ssh-agent` or `gpg-agent` through
//! them. Withheld are the variables whose names name a secret (the audit
//! redaction's rule 1: `GITHUB_TOKEN`, `AWS_SECRET_ACCESS_KEY`,
//! `ANTHROPIC_API_KEY`, `SSH_AUTH_SOCK` …), those in [`AGENT_VARIABLES`],
//! and those whose names are not UTF-8 (they cannot be judged), unless the
//! policy's `sandbox.pass_env` names them.

use std::ffi::OsString;

use crate::audit::redact;

/// Variables that lead to an agent, a session bus or a display server
/// holding credentials or keystrokes, whatever their names say:
/// `ssh-agent(1)`, `gpg-agent(1)`, D-Bus, Kerberos, Docker, X11, Wayland.
pub const AGENT_VARIABLES: &[&str] = &[
    "SSH_AUTH_SOCK",
    "SSH_AGENT_PID",
    "GPG_AGENT_INFO",
    "GNUPGHOME",
    "DBUS_SESSION_BUS_ADDRESS",
    "KRB5CCNAME",
    "DOCKER_HOST",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
];

/// Whether `pattern` from `sandbox.pass_env` (an exact name, or a prefix
/// ending in `*`) names `name`.
fn passes(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

/// The names among `names` (the caller's environment) that a sandboxed
/// command does not get, in the order given; `pass` is the policy's
/// `sandbox.pass_env`.
pub fn withheld(names: impl IntoIterator<Item = OsString>, pass: &[String]) -> Vec<OsString> {
    names
        .into_iter()
        .filter(|name| match name.to_str() {
            None => true,
            Some(n) => {
                !pass.iter().any(|p| passes(p, n))
                    && (AGENT_VARIABLES.contains(&n) || redact::secret_name(n))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    fn names(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn credentials_and_agents_are_withheld() {
        let env = names(&[
            "PATH",
            "HOME",
            "PWD",
            "LANG",
            "CARGO_HOME",
            "GIT_AUTHOR_NAME",
            "GITHUB_TOKEN",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "ANTHROPIC_API_KEY",
            "NPM_CONFIG__AUTH",
            "DB_PASSWORD",
            "SSH_AUTH_SOCK",
            "DISPLAY",
        ]);
        let got = withheld(env, &[]);
        assert_eq!(
            got,
            names(&[
                "GITHUB_TOKEN",
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "ANTHROPIC_API_KEY",
                "NPM_CONFIG__AUTH",
                "DB_PASSWORD",
                "SSH_AUTH_SOCK",
                "DISPLAY",
            ])
        );
    }

    #[test]
    fn pass_env_keeps_names_and_prefixes() {
        let env = names(&["GITHUB_TOKEN", "NPM_TOKEN", "NPM_AUTH", "SSH_AUTH_SOCK"]);
        let pass = ["GITHUB_TOKEN".to_string(), "NPM_*".to_string()];
        assert_eq!(withheld(env, &pass), names(&["SSH_AUTH_SOCK"]));
    }

    #[test]
    fn names_that_are_not_utf8_are_withheld() {
        let odd = OsString::from_vec(b"X\xffY".to_vec());
        assert_eq!(withheld([odd.clone()], &[]), [odd]);
    }
}
