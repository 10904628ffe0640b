//! The `mermaid2aws` command: everything happens in `cli::run`.

use std::process::ExitCode;

// A large diagram lowers to hundreds of thousands of small JSON values; mimalloc allocates and
// frees them in fewer instructions than the system allocator (BENCHMARKS.md, section 9).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let code =
        mermaid2aws::cli::run(std::env::args_os(), &mut std::io::stdout(), &mut std::io::stderr());
    ExitCode::from(code)
}
