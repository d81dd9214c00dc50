//! `infra.kubectl`: commands that change Kubernetes resources (`apply`,
//! `delete`, `scale`, `rollout restart`, `exec` …) on a cluster that is
//! not a local development cluster.
//!
//! The cluster is the `--context` given, else the current context of the
//! kubeconfig (`--kubeconfig`, `$KUBECONFIG`, `~/.kube/config`; the
//! `current-context:` key, kubectl config(1)). Local clusters are kind,
//! minikube, k3d, Docker Desktop, Rancher Desktop, colima, OrbStack and
//! microk8s contexts, or a `--server` on loopback. An unknown cluster
//! is not local.

use shellgate_parsers::Command;

use super::{finding, Cx};
use crate::finding::{Finding, Section, Verdict};
use crate::policy::matcher::environment;

/// Rule id.
pub const RULE: &str = "infra.kubectl";

/// Programs that speak kubectl's command line.
const KUBECTL: &[&str] = &["kubectl", "oc", "kubecolor", "microk8s.kubectl"];

/// Verbs that change cluster state.
const CHANGING: &[&str] = &[
    "apply",
    "create",
    "delete",
    "replace",
    "patch",
    "edit",
    "scale",
    "autoscale",
    "set",
    "label",
    "annotate",
    "taint",
    "drain",
    "cordon",
    "uncordon",
    "expose",
    "run",
    "exec",
    "cp",
    "debug",
];

/// `rollout` sub-verbs that change state.
const ROLLOUT_CHANGING: &[&str] = &["restart", "undo", "pause", "resume"];

/// kubectl options that take a value in the next word (kubectl(1) and
/// `kubectl options`), also used by policy rules' `subcommand` matching.
pub(crate) const VALUE_OPTIONS: &[&str] = &[
    "-n",
    "--namespace",
    "--context",
    "--kubeconfig",
    "--cluster",
    "--user",
    "-s",
    "--server",
    "--as",
    "--as-group",
    "-l",
    "--selector",
    "-f",
    "--filename",
    "-o",
    "--output",
    "--token",
    "--request-timeout",
    "-v",
];

/// Most bytes of a kubeconfig read.
const MAX_KUBECONFIG_BYTES: u64 = 1 << 20;

/// Context name prefixes of local development clusters.
const LOCAL_CONTEXTS: &[&str] = &[
    "kind-",
    "minikube",
    "docker-desktop",
    "docker-for-desktop",
    "k3d-",
    "rancher-desktop",
    "colima",
    "orbstack",
    "microk8s",
];

/// Reports changes to clusters that are not local.
pub fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for cmd in &cx.script.commands {
        if !cmd.program().is_some_and(|p| KUBECTL.contains(&p)) {
            continue;
        }
        let Some(verb) = changing_verb(cmd) else {
            continue;
        };
        let cluster = cluster(cx, cmd);
        // Kubeconfig changes matter whatever cluster is current.
        if !verb.starts_with("config ") && cluster.as_ref().is_some_and(|c| is_local(c)) {
            continue;
        }
        let shown = cluster.unwrap_or_else(|| {
            "an unknown cluster (no --context and no readable kubeconfig)".into()
        });
        out.push(finding(
            RULE,
            Verdict::Ask,
            Section::SoftDeny,
            cmd.span,
            format!(
                "`{} {verb}` changes resources on {shown}, which is not a local cluster",
                cmd.program().unwrap_or("kubectl")
            ),
        ));
    }
}

/// Value of a global option (`--x V` or `--x=V`): the last one given
/// before `--` (after it, words belong to the command run in a container).
fn option<'a>(cmd: &'a Command, names: &[&str]) -> Option<&'a str> {
    let args = cmd.args();
    let end = args
        .iter()
        .position(|w| w.text == "--")
        .unwrap_or(args.len());
    let mut found = None;
    for (i, w) in args[..end].iter().enumerate() {
        for n in names {
            if w.text == *n {
                found = args[..end].get(i + 1).map(|v| v.text.as_str());
            } else if let Some(v) = w.text.strip_prefix(n).and_then(|r| r.strip_prefix('=')) {
                found = Some(v);
            }
        }
    }
    found
}

fn changing_verb(cmd: &Command) -> Option<String> {
    let args = cmd.args();
    let mut i = 0;
    let mut operands = Vec::new();
    while i < args.len() {
        let t = args[i].text.as_str();
        if t == "--" {
            break;
        }
        if VALUE_OPTIONS.contains(&t) {
            i += 2;
            continue;
        }
        if !t.starts_with('-') {
            operands.push(t);
        }
        i += 1;
    }
    let first = *operands.first()?;
    if CHANGING.contains(&first) {
        return Some(first.to_string());
    }
    // Renaming or redefining contexts can make a remote cluster look local.
    if first == "config"
        && operands.get(1).is_some_and(|v| {
            matches!(
                *v,
                "rename-context"
                    | "set-context"
                    | "set-cluster"
                    | "set-credentials"
                    | "set"
                    | "delete-context"
            )
        })
    {
        return Some(format!("config {}", operands[1]));
    }
    if first == "rollout"
        && operands
            .get(1)
            .is_some_and(|v| ROLLOUT_CHANGING.contains(v))
    {
        return Some(format!("rollout {}", operands[1]));
    }
    None
}

/// The context or server the command talks to, when it can be known.
fn cluster(cx: &Cx, cmd: &Command) -> Option<String> {
    if let Some(c) = option(cmd, &["--context"]) {
        return Some(c.to_string());
    }
    // `kubectl config use-context X` earlier in the same script switches
    // the current context before this command runs.
    let switched = cx.script.commands[..cmd.id].iter().rev().find_map(|c| {
        let words: Vec<&str> = c.args().iter().map(|w| w.text.as_str()).collect();
        (c.program().is_some_and(|p| KUBECTL.contains(&p))
            && words.first() == Some(&"config")
            && words.get(1) == Some(&"use-context"))
        .then(|| words.get(2).map(|s| s.to_string()))
        .flatten()
    });
    if switched.is_some() {
        return switched;
    }
    if let Some(s) = option(cmd, &["--server", "-s"]) {
        return Some(s.to_string());
    }
    let config = option(cmd, &["--kubeconfig"])
        .map(str::to_string)
        .or_else(|| {
            environment(cmd)
                .into_iter()
                .rev()
                .find(|(n, _)| *n == "KUBECONFIG")
                .and_then(|(_, v)| v.map(str::to_string))
        })
        .or_else(|| std::env::var("KUBECONFIG").ok())
        .or_else(|| cx.paths.home.as_ref().map(|h| format!("{h}/.kube/config")))?;
    // The first file of a KUBECONFIG list that names a current context.
    config
        .split(':')
        .filter(|p| !p.is_empty())
        .find_map(current_context)
}

/// `current-context:` of a kubeconfig file.
fn current_context(path: &str) -> Option<String> {
    // Only regular files, opened without blocking: a command may name
    // `/dev/zero` or a FIFO as its kubeconfig.
    let text =
        crate::policy::read_regular_file(std::path::Path::new(path), MAX_KUBECONFIG_BYTES).ok()?;
    text.lines().find_map(|l| {
        let v = l
            .strip_prefix("current-context:")?
            .trim()
            .trim_matches(['"', '\'']);
        (!v.is_empty()).then(|| v.to_string())
    })
}

fn is_local(cluster: &str) -> bool {
    if LOCAL_CONTEXTS.iter().any(|p| cluster.starts_with(p)) {
        return true;
    }
    let host = cluster
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(cluster)
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    cluster.contains("://") && super::is_loopback(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::testutil::assert_verdict;
    use crate::Verdict::*;

    #[test]
    fn changes_on_remote_clusters_ask() {
        for c in [
            "kubectl --context prod-eu delete pod api-1",
            "kubectl apply -f deploy.yaml --context=prod",
            "kubectl -n prod --context gke_x rollout restart deploy/api",
            "kubectl --kubeconfig /nonexistent/config scale deploy api --replicas 0",
            "kubectl --context kind-dev --context gke_prod delete ns prod",
            "kubectl exec prod-pod --context gke_prod -- sh -c 'x' --context kind-x",
            "kubectl --context kind-dev config rename-context gke_prod kind-prod",
        ] {
            assert_verdict(c, Ask, Some(RULE));
        }
        for c in [
            "kubectl --context kind-dev apply -f deploy.yaml",
            "kubectl --context minikube delete pod x",
            "kubectl --server https://127.0.0.1:6443 apply -f x.yaml",
            "kubectl --context prod get pods",
            "kubectl --context prod rollout status deploy/api",
        ] {
            assert_verdict(c, Allow, None);
        }
    }

    #[test]
    fn current_context_is_read_from_the_kubeconfig() {
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("local");
        std::fs::write(&local, "apiVersion: v1\ncurrent-context: kind-dev\n").unwrap();
        let remote = dir.path().join("remote");
        std::fs::write(&remote, "current-context: \"gke_prod\"\n").unwrap();
        let l = local.display();
        let r = remote.display();
        assert_verdict(&format!("KUBECONFIG={l} kubectl delete pod x"), Allow, None);
        assert_verdict(
            &format!("kubectl --kubeconfig {r} delete pod x"),
            Ask,
            Some(RULE),
        );
        // Switching context earlier in the same command counts.
        assert_verdict(
            &format!("export KUBECONFIG={l}; kubectl config use-context gke_prod && kubectl delete pod x"),
            Ask,
            Some(RULE),
        );
    }
}
