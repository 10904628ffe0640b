//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

/// `shared/` (conformance corpus, oracle, docs): the one path setting the tests read it
/// through. `M2A_SHARED` overrides the default, `../shared` beside the checkout.
pub fn shared_dir() -> PathBuf {
    let dir = match std::env::var_os("M2A_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    };
    assert!(
        dir.join("conformance").is_dir(),
        "shared/ not found at {}: set M2A_SHARED to the folder that holds conformance/",
        dir.display()
    );
    dir
}

/// The repository root.
pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
