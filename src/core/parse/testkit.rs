//! What the parsers' tests share: one franchise id and one call per format.

use uuid::Uuid;

use super::parse_line;
use crate::core::bad_line::BadLine;
use crate::core::event::EventRef;
use crate::format::Format;

pub const ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

pub fn id() -> Uuid {
    Uuid::parse_str(ID).unwrap()
}

pub fn seed(line: &str) -> Result<EventRef<'_>, BadLine> {
    parse_line(Format::Seed, line.as_bytes())
}

pub fn csv(line: &str) -> Result<EventRef<'_>, BadLine> {
    parse_line(Format::Csv, line.as_bytes())
}

pub fn json(line: &str) -> Result<EventRef<'_>, BadLine> {
    parse_line(Format::Json, line.as_bytes())
}
