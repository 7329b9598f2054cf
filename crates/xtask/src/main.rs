//! Repository automation. `cargo run -p xtask -- tidy` checks the rules that keep the workspace
//! easy to live in; the same check runs as a test inside `cargo test`.

mod tidy;

fn main() -> anyhow::Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("tidy") => {
            let problems = tidy::check(&tidy::workspace_root())?;
            for problem in &problems {
                eprintln!("tidy: {problem}");
            }
            anyhow::ensure!(problems.is_empty(), "{} tidy problem(s)", problems.len());
            println!("tidy: ok");
            Ok(())
        }
        _ => anyhow::bail!("usage: cargo run -p xtask -- tidy"),
    }
}
