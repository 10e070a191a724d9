//! Line formats shared by the generator (which writes them) and the processor
//! (which parses them).

use serde::{Deserialize, Serialize};

/// How one event is laid out on its line.
///
/// - `seed`: `{franchise_id}-{event_name}` — the seed demo's format, no time, no value.
/// - `csv`: `{franchise_id},{event_name},{ts},{value}` — `ts` in Unix milliseconds, `value` an integer.
/// - `json`: `{"franchise_id":"…","event_name":"…","ts":…,"value":…}` — same fields.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    Default,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
#[schema(as = FormatView)]
pub enum Format {
    #[default]
    Seed,
    Csv,
    Json,
}

impl Format {
    /// The name used in config files, flags and docs.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Seed => "seed",
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }

    /// Whether lines of this format carry an event time and a numeric value.
    pub fn has_time_and_value(self) -> bool {
        !matches!(self, Format::Seed)
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
