//! Why a line was skipped, with a stable label for metrics and dead letters.

use thiserror::Error;

/// A line that cannot be counted. It is skipped but still takes its offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum BadLine {
    #[error("empty line")]
    Empty,
    #[error("line is not valid utf-8")]
    NotUtf8,
    #[error("franchise_id is not a uuid")]
    BadUuid,
    #[error("missing field {0}")]
    MissingField(&'static str),
    #[error("field {0} is not an integer")]
    BadNumber(&'static str),
    #[error("line is not a json object with the expected fields")]
    BadJson,
    #[error("line of {len} bytes is over the limit")]
    Oversized { len: u64 },
    #[error("event_name is empty")]
    EmptyName,
    #[error("event_name holds a control byte")]
    BadName,
}

impl BadLine {
    /// Every label [`BadLine::reason`] can return, for registering metrics up front.
    pub const REASONS: [&'static str; 9] = [
        "empty",
        "not_utf8",
        "bad_uuid",
        "missing_field",
        "bad_number",
        "bad_json",
        "oversized",
        "empty_name",
        "bad_name",
    ];

    /// A stable, low-cardinality label (metrics `reason`, dead-letter rows).
    pub fn reason(&self) -> &'static str {
        match self {
            BadLine::Empty => "empty",
            BadLine::NotUtf8 => "not_utf8",
            BadLine::BadUuid => "bad_uuid",
            BadLine::MissingField(_) => "missing_field",
            BadLine::BadNumber(_) => "bad_number",
            BadLine::BadJson => "bad_json",
            BadLine::Oversized { .. } => "oversized",
            BadLine::EmptyName => "empty_name",
            BadLine::BadName => "bad_name",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_is_listed() {
        let all = [
            BadLine::Empty,
            BadLine::NotUtf8,
            BadLine::BadUuid,
            BadLine::MissingField("ts"),
            BadLine::BadNumber("value"),
            BadLine::BadJson,
            BadLine::Oversized { len: 9 },
            BadLine::EmptyName,
            BadLine::BadName,
        ];
        let reasons: Vec<_> = all.iter().map(BadLine::reason).collect();
        assert_eq!(reasons, BadLine::REASONS);
    }

    #[test]
    fn messages_name_the_field() {
        assert_eq!(
            BadLine::MissingField("event_name").to_string(),
            "missing field event_name"
        );
        assert_eq!(
            BadLine::BadNumber("ts").to_string(),
            "field ts is not an integer"
        );
    }
}
