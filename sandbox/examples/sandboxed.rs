//! Manual check: runs `bash -c "$1"` in the sandbox with the current
//! directory as project root, and exits with the command's code.
//!
//! `cargo run -p shellgate-sandbox --example sandboxed -- 'ls ~; echo $TMPDIR'`

fn main() {
    let command = std::env::args().nth(1).unwrap_or_else(|| {
        eprintln!("usage: sandboxed COMMAND");
        std::process::exit(2)
    });
    let cwd = std::env::current_dir().expect("current dir");
    let config = shellgate_sandbox::SandboxConfig::new(&cwd);
    match shellgate_sandbox::run_bash(&config, &command, &cwd) {
        Ok(status) => std::process::exit(shellgate_sandbox::exit_code(&status)),
        Err(e) => {
            eprintln!("shellgate-sandbox: {e}");
            std::process::exit(126)
        }
    }
}
