//! AFL++ harness for one parser target: `ingest TARGET` (a name of
//! trove::ingest::fuzzing::TARGETS), the input on stdin (persistent mode).

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some(body) = trove::ingest::fuzzing::target(&name) else {
        let names: Vec<&str> = trove::ingest::fuzzing::TARGETS
            .iter()
            .map(|t| t.0)
            .collect();
        eprintln!("usage: ingest TARGET, one of {}", names.join(", "));
        std::process::exit(2);
    };
    afl::fuzz!(|data: &[u8]| body(data));
}
