//! Prints the syntax tree and the parsed model of a command: a debugging aid.
//! Usage: cargo run -p shellgate-parsers --example dump -- 'COMMAND'
fn main() {
    let src = std::env::args().nth(1).unwrap_or_default();
    let opts = shellgate_parsers::Options {
        home: Some("/home/dev".into()),
        cwd: Some("/home/dev/project".into()),
        ..Default::default()
    };
    match shellgate_parsers::parse(&src, &opts) {
        Ok(s) => {
            for c in &s.commands {
                let argv: Vec<String> = c
                    .argv
                    .iter()
                    .map(|w| {
                        format!(
                            "{}{}",
                            w.text,
                            if w.dynamic {
                                "(dyn)"
                            } else if w.glob {
                                "(glob)"
                            } else {
                                ""
                            }
                        )
                    })
                    .collect();
                let wr: Vec<&str> = c.wrappers.iter().map(|w| w.name.as_str()).collect();
                println!(
                    "#{} {:?} wrappers={:?} cwd={:?} origin={:?} stdin={:?} redirs={:?}",
                    c.id,
                    argv,
                    wr,
                    c.cwd,
                    c.origin,
                    c.stdin,
                    c.redirects
                        .iter()
                        .map(|r| format!(
                            "{}{}{}",
                            r.fd.map(|f| f.to_string()).unwrap_or_default(),
                            r.op,
                            r.target.text
                        ))
                        .collect::<Vec<_>>()
                );
            }
            for o in &s.opaque {
                println!("opaque: {o:?}");
            }
        }
        Err(e) => println!("error: {e}"),
    }
}
