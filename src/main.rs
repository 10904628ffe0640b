//! The `mermaid2aws` command: everything happens in `cli::run`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let code =
        mermaid2aws::cli::run(std::env::args_os(), &mut std::io::stdout(), &mut std::io::stderr());
    ExitCode::from(code)
}
