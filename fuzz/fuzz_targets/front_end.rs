//! Extract + parse + resolve on arbitrary input: must never panic, hang or overflow the stack.
//! The first byte picks how the file is read (a `.mmd` diagram or Markdown); the rest is text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mermaid2aws::source::SourceFile;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let name = if selector & 1 == 0 { "fuzz.mmd" } else { "fuzz.md" };
    let file = SourceFile::new(name, text);
    let _ = mermaid2aws::parse_file(&file, None);
});
