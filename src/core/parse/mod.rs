//! Line parsing for the three formats, without allocating on the happy path.
//!
//! - `text`: [`parse_line`] (the dispatch), `seed` and `csv`.
//! - `json`: the `json` format.
//! - `fields`: event names and integers, checked alike by every format.

mod fields;
mod json;
#[cfg(test)]
mod testkit;
mod text;

pub use text::{parse_line, trim_eol};
