//! Outputs that what orgguard reads (account names, AWS messages, plan text) cannot
//! subvert: files written private and whole, terminal text without control characters,
//! CSV cells a spreadsheet will not run, XML a parser accepts.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Owner read and write only: results name every account of the organization.
const PRIVATE: u32 = 0o600;

/// Writes `path` whole or not at all: into a new private file beside it (O_EXCL, so never
/// through a symlink planted there), renamed over `path` at the end (a symlink at `path` is
/// replaced, not followed).
pub fn write_file(path: &Path, write: impl FnOnce(&mut io::BufWriter<&File>) -> io::Result<()>) -> io::Result<()> {
    let (file, temporary) = create_beside(path)?;
    let written = (|| {
        let mut out = io::BufWriter::new(&file);
        write(&mut out)?;
        out.flush()?;
        file.sync_all()
    })();
    match written.and_then(|()| std::fs::rename(&temporary, path)) {
        Ok(()) => Ok(()),
        Err(error) => {
            let _ = std::fs::remove_file(&temporary);
            Err(error)
        }
    }
}

/// A new private file that takes `path`'s place at once, kept open for appending (the journal).
pub fn create_appendable(path: &Path) -> io::Result<File> {
    let (file, temporary) = create_beside(path)?;
    std::fs::rename(&temporary, path)?;
    Ok(file)
}

/// An existing file opened for appending, refused if `path` is a symlink.
pub fn open_appendable(path: &Path) -> io::Result<File> {
    OpenOptions::new().append(true).custom_flags(libc::O_NOFOLLOW).open(path)
}

fn create_beside(path: &Path) -> io::Result<(File, PathBuf)> {
    let name = path.file_name().map_or_else(|| "orgguard".into(), |n| n.to_string_lossy().into_owned());
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let file = OpenOptions::new().write(true).create_new(true).mode(PRIVATE).open(&temporary)?;
    Ok((file, temporary))
}

/// Terminal text: control characters (but line feeds and tabs) shown as escapes, so that a
/// hostile account name or message cannot move the cursor, retitle the window or hide lines.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(escaped) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().map(|c| if escaped(c) { c.escape_default().to_string() } else { c.to_string() }).collect())
}

/// Control characters, and the bidirectional formatting ones that reorder what is shown.
fn escaped(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A writer for the terminal that passes text through `printable`.
pub struct Printable<W>(pub W);

impl<W: Write> Write for Printable<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match std::str::from_utf8(buf) {
            Ok(text) => self.0.write_all(printable(text).as_bytes()),
            Err(_) => self.0.write_all(printable(&String::from_utf8_lossy(buf)).as_bytes()),
        }
        .map(|()| buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// A CSV cell a spreadsheet shows as text: one that starts like a formula (`= + - @`, tab,
/// carriage return) gets a leading apostrophe, as OWASP advises.
pub fn csv_cell(text: &str) -> Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{text}")),
        _ => Cow::Borrowed(text),
    }
}

/// Text for XML 1.0: the five special characters escaped, and the characters XML 1.0 does
/// not allow at all (most control characters, U+FFFE, U+FFFF) dropped.
pub fn xml_text(text: &str) -> String {
    let allowed = |c: &char| matches!(*c, '\t' | '\n' | '\r') || (*c >= ' ' && !matches!(*c, '\u{FFFE}' | '\u{FFFF}'));
    let mut out = String::with_capacity(text.len());
    for c in text.chars().filter(allowed) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn files_are_private_whole_and_never_written_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let path = dir.path().join("summary.json");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        write_file(&path, |out| out.write_all(b"{}")).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep", "the symlink's target is untouched");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}");
        assert_eq!(std::fs::symlink_metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let failed = write_file(&path, |_| Err(io::Error::other("disk full")));
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}", "a failed write leaves the old file");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "no temporary file is left behind");
        std::os::unix::fs::symlink(&victim, dir.path().join("journal")).unwrap();
        assert!(open_appendable(&dir.path().join("journal")).is_err(), "appending refuses a symlink");
    }

    #[test]
    fn hostile_text_is_neutralised_for_terminals_spreadsheets_and_xml() {
        assert_eq!(printable("prod\u{1b}]0;owned\u{7}\nnext\tcol"), "prod\\u{1b}]0;owned\\u{7}\nnext\tcol");
        assert_eq!(printable("\u{9b}31m"), "\\u{9b}31m", "a C1 control too");
        assert_eq!(printable("ok\u{202e}gpj.exe"), "ok\\u{202e}gpj.exe", "and a right-to-left override");
        assert!(matches!(printable("plain"), Cow::Borrowed(_)));
        for formula in ["=HYPERLINK(\"x\")", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_cell(formula).starts_with('\''), "{formula:?}");
        }
        assert_eq!(csv_cell("member-00001"), "member-00001");
        assert_eq!(xml_text("a\u{0}b\u{1b}c<d>\u{FFFF}\té"), "abc&lt;d&gt;\té");
    }
}
