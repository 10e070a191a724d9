//! The word list that `event_name` is drawn from.
//!
//! The default list (`data/variable_words.txt`) is compiled into the binary so that
//! `ssa gen` needs no files; `--words FILE` replaces it. Words end up inside seed, CSV
//! and JSON lines unescaped, so characters that would break one of those layouts are
//! refused when the list is loaded.

use std::path::Path;
use std::sync::Arc;

use super::error::GenError;

/// The default word list, one word per line.
pub const DEFAULT_WORDS: &str = include_str!("../../data/variable_words.txt");

/// Longest word accepted, in bytes.
pub const MAX_WORD_BYTES: usize = 256;

/// An ordered list of words; a word's index is its line among the non-blank lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Words {
    words: Arc<[Box<str>]>,
}

impl Default for Words {
    fn default() -> Self {
        Self::parse(DEFAULT_WORDS, "data/variable_words.txt")
            .unwrap_or_else(|e| unreachable!("the embedded word list is valid: {e}"))
    }
}

impl Words {
    /// Reads a word list from a file.
    pub fn from_file(path: &Path) -> Result<Self, GenError> {
        let text = std::fs::read_to_string(path).map_err(|cause| GenError::WordsRead {
            path: path.to_path_buf(),
            cause,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses one word per line; blank lines are skipped, a trailing `\r` is dropped.
    /// `origin` names the list in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, GenError> {
        let mut words = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let word = raw.strip_suffix('\r').unwrap_or(raw);
            if word.trim().is_empty() {
                continue;
            }
            if let Some(reason) = invalid_reason(word) {
                return Err(GenError::WordsInvalid {
                    origin: origin.to_string(),
                    line: i + 1,
                    reason,
                });
            }
            words.push(Box::<str>::from(word));
        }
        if words.is_empty() {
            return Err(GenError::WordsEmpty {
                origin: origin.to_string(),
            });
        }
        Ok(Self {
            words: words.into(),
        })
    }

    /// Number of words (lines) in the list.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Never true: an empty list is refused when loaded.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The word on line `index` (0-based, blank lines not counted).
    pub fn get(&self, index: usize) -> Option<&str> {
        self.words.get(index).map(|w| &**w)
    }

    /// All words, in list order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.words.iter().map(|w| &**w)
    }
}

fn invalid_reason(word: &str) -> Option<String> {
    if word.len() > MAX_WORD_BYTES {
        return Some(format!("word longer than {MAX_WORD_BYTES} bytes"));
    }
    if word.trim() != word {
        return Some(format!("word '{word}' has leading or trailing whitespace"));
    }
    word.chars()
        .find(|c| c.is_control() || matches!(c, ',' | '"' | '\\'))
        .map(|c| {
            format!(
                "word '{}' contains {c:?}, which no line format can carry",
                word.escape_debug()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_list_has_100_distinct_words() {
        let words = Words::default();
        assert_eq!(words.len(), 100);
        let distinct: std::collections::BTreeSet<&str> = words.iter().collect();
        assert_eq!(distinct.len(), 100);
        assert_eq!(words.get(0), Some("apple"));
    }

    #[test]
    fn blank_lines_and_crlf_are_tolerated() {
        let words = Words::parse("a\r\n\n  \nb\n", "t").unwrap();
        assert_eq!(words.iter().collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn unsafe_words_are_refused_with_their_line() {
        let err = Words::parse("ok\nbad,word\n", "list.txt").unwrap_err();
        assert_eq!(
            err.to_string(),
            "word list list.txt: line 2: word 'bad,word' contains ',', which no line format can carry"
        );
        assert!(Words::parse("a\"b", "t").is_err());
        assert!(Words::parse(" padded", "t").is_err());
        assert!(matches!(
            Words::parse("\n\n", "t"),
            Err(GenError::WordsEmpty { .. })
        ));
    }
}
