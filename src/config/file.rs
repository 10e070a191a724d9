//! Reading `--config FILE`: only a regular file of at most [`MAX_CONFIG_BYTES`],
//! checked before it is read (so `--config /dev/zero` is refused at once), and
//! TOML syntax errors reported by file, line, column and key — never by the text
//! of the line, which may hold a secret.

use std::io::Read as _;
use std::path::Path;

use super::load::SECRET_KEYS;
use super::{Config, ConfigError};

/// The largest configuration file accepted.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

fn refused(path: &Path, message: impl Into<String>) -> ConfigError {
    ConfigError::FileRefused {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// Reads a configuration file, refusing anything but a regular file of at most
/// [`MAX_CONFIG_BYTES`] before reading it whole.
pub fn read_config_file(path: &Path) -> Result<String, ConfigError> {
    let io = |source| ConfigError::File {
        path: path.display().to_string(),
        source,
    };
    let not_regular = || {
        refused(
            path,
            "not a regular file (a device, folder or pipe cannot be a configuration)",
        )
    };
    // Checked before opening too: opening a named pipe waits for a writer.
    if !std::fs::metadata(path).map_err(io)?.is_file() {
        return Err(not_regular());
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(not_regular());
    }
    let too_large = || {
        refused(
            path,
            format!("larger than the limit of {MAX_CONFIG_BYTES} bytes (1 MiB)"),
        )
    };
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(too_large());
    }
    // The file may grow between the check and the read: read at most one byte more.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|e| {
        refused(
            path,
            format!(
                "not UTF-8 text (byte {} is not)",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// Every key path of the configuration (`cassandra.password`, `processor`, …).
fn known_keys() -> Vec<String> {
    fn walk(prefix: &str, table: &toml::Table, out: &mut Vec<String>) {
        for (k, v) in table {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if let toml::Value::Table(t) = v {
                walk(&path, t, out);
            }
            out.push(path);
        }
    }
    let mut out = vec!["partitions".to_string()];
    if let Ok(toml::Value::Table(t)) = toml::Value::try_from(Config::default()) {
        walk("", &t, &mut out);
    }
    out
}

/// The known key written on `line` (under the last `[table]` header before it),
/// if the line is a plain `key = …` assignment of one.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let mut table = String::new();
    let mut on_line = None;
    for (i, l) in text.lines().enumerate().take(line + 1) {
        let l = l.trim();
        if l.starts_with('[') {
            table = l
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
        }
        if i == line {
            on_line = l.split_once('=').map(|(k, _)| k.trim().to_string());
        }
    }
    let key = on_line?;
    let full = if table.is_empty() || table == "partitions" {
        key
    } else {
        format!("{table}.{key}")
    };
    known_keys().into_iter().find(|k| *k == full)
}

/// A TOML syntax error as a [`ConfigError`]: file, line, column, key; the
/// parser's message only when the line is not a secret's.
pub fn syntax_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let at = e.span().map(|s| s.start.min(text.len())).unwrap_or(0);
    let before = &text[..at];
    let line = before.matches('\n').count();
    let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    let key = key_on_line(text, line);
    let line_text = text.lines().nth(line).unwrap_or("").to_ascii_lowercase();
    let secret = key.as_deref().is_some_and(|k| SECRET_KEYS.contains(&k))
        || ["password", "token", "secret"]
            .iter()
            .any(|w| line_text.contains(w));
    let message = if secret {
        "invalid TOML (not shown: the line holds a secret)".to_string()
    } else {
        format!("invalid TOML: {}", e.message())
    };
    ConfigError::Syntax {
        path: path.display().to_string(),
        line: line + 1,
        column,
        key: key.map(|k| format!(" (key `{k}`)")).unwrap_or_default(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn syntax(text: &str) -> String {
        let e = toml::from_str::<toml::Table>(text).unwrap_err();
        syntax_error(Path::new("/etc/ssa.toml"), text, &e).to_string()
    }

    #[test]
    fn syntax_errors_name_file_line_and_key_but_never_a_secret() {
        let e = syntax("[cassandra]\nkeyspace = \"ks\"\npassword = \"hunter2\n");
        assert_eq!(
            e,
            "config file /etc/ssa.toml, line 3, column 20 (key `cassandra.password`): invalid TOML (not shown: the line holds a secret)"
        );
        let e = syntax("[admin]\ntoken = hunter2\n");
        assert!(e.contains("key `admin.token`"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let e = syntax("[processor]\nflush_interval = 5s\n");
        assert!(e.contains("line 2"), "{e}");
        assert!(e.contains("key `processor.flush_interval`"), "{e}");
        assert!(e.contains("string values must be quoted"), "{e}");
        // A line that is not a known key is not echoed either.
        let e = syntax("[cassandra]\nwho knows = 1 2\n");
        assert!(!e.contains("who knows"), "{e}");
    }

    #[test]
    fn only_small_regular_files_are_read() {
        let err = read_config_file(Path::new("/dev/zero"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a regular file"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let err = read_config_file(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let err = read_config_file(&fifo).unwrap_err().to_string();
            assert!(err.contains("not a regular file"), "{err}");
        }
        let mut big = tempfile::NamedTempFile::new().unwrap();
        big.write_all(&vec![b'#'; MAX_CONFIG_BYTES as usize + 1])
            .unwrap();
        let err = read_config_file(big.path()).unwrap_err().to_string();
        assert!(err.contains("larger than the limit"), "{err}");
        let mut ok = tempfile::NamedTempFile::new().unwrap();
        ok.write_all(&vec![b'#'; MAX_CONFIG_BYTES as usize])
            .unwrap();
        assert_eq!(read_config_file(ok.path()).unwrap().len(), 1 << 20);
    }
}
