//! Which files `check` reads: the files named, and every Markdown and Mermaid file under the
//! folders named, in sorted order; `target/`, `node_modules/` and hidden folders (`.git`...)
//! are skipped.

use std::path::{Component, Path, PathBuf};

use crate::diagnostic::Diagnostic;

/// Extensions of the files a folder walk picks up.
const EXTENSIONS: &[&str] = &["md", "markdown", "mmd", "mermaid"];

/// The files to check, each once, in order: named files as given, folders walked sorted.
pub(super) fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Diagnostic> {
    let mut found = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|err| {
            Diagnostic::error("m2a::io::read", format!("cannot read `{}`: {err}", path.display()))
                .with_help("give files or folders that exist")
        })?;
        if meta.is_dir() {
            walk(path, &mut found)?;
        } else {
            found.push(clean(path));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    found.retain(|p| seen.insert(p.clone()));
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), Diagnostic> {
    let entries = std::fs::read_dir(dir).map_err(|err| {
        Diagnostic::error("m2a::io::read", format!("cannot list `{}`: {err}", dir.display()))
            .with_help("check the folder's permissions")
    })?;
    let mut entries: Vec<(PathBuf, bool)> = entries
        .filter_map(Result::ok)
        .map(|e| (e.path(), e.file_type().is_ok_and(|t| t.is_dir())))
        .collect();
    entries.sort();
    for (path, is_dir) in entries {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if is_dir {
            if name != "target" && name != "node_modules" {
                walk(&path, found)?;
            }
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            found.push(clean(&path));
        }
    }
    Ok(())
}

/// The path without `.` components, so `check .` names `README.md` as `compile README.md`
/// does (the name ends up in every resource's `Metadata.Mermaid2Aws.Source`).
fn clean(path: &Path) -> PathBuf {
    let cleaned: PathBuf = path.components().filter(|c| *c != Component::CurDir).collect();
    if cleaned.as_os_str().is_empty() { path.to_path_buf() } else { cleaned }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_walked_sorted_skipping_target_and_hidden_folders() {
        let dir = std::env::temp_dir().join(format!("m2a-discover-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for f in [
            "b.md",
            "a.mmd",
            "notes.txt",
            "sub/c.mermaid",
            "target/x.md",
            ".git/y.md",
            "sub/D.MD",
            "node_modules/p/README.md",
        ] {
            let path = dir.join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        let got = files(&[dir.clone(), dir.join("notes.txt"), dir.join("b.md")]).unwrap();
        let names: Vec<String> =
            got.iter().map(|p| p.strip_prefix(&dir).unwrap().display().to_string()).collect();
        assert_eq!(names, ["a.mmd", "b.md", "sub/D.MD", "sub/c.mermaid", "notes.txt"]);
        assert!(files(&[dir.join("missing")]).is_err());
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(clean(Path::new("./docs/./README.md")), PathBuf::from("docs/README.md"));
        assert_eq!(clean(Path::new(".")), PathBuf::from("."));
    }
}
