//! `processor.state_memory_limit`: a byte size written as `"512MiB"`, `"2GiB"`,
//! `"300MB"` or a plain number of bytes, or `"auto"` for a quarter of the
//! machine's memory.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Used for `auto` when the machine's memory cannot be read.
const AUTO_FALLBACK: u64 = 1 << 30;

/// The budget of resident state; `None` is `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StateMemoryLimit(pub Option<u64>);

impl StateMemoryLimit {
    /// The limit in bytes: as given, or a quarter of the machine's memory.
    pub fn bytes(&self) -> u64 {
        self.0
            .unwrap_or_else(|| machine_memory().map_or(AUTO_FALLBACK, |m| m / 4))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("auto") {
            return Ok(StateMemoryLimit(None));
        }
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (digits, unit) = t.split_at(split);
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("`{text}` is not a size like \"512MiB\", \"2GiB\" or \"auto\""))?;
        let scale: u64 = match unit.trim() {
            "" | "B" => 1,
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            "TiB" => 1 << 40,
            "KB" | "kB" => 1_000,
            "MB" => 1_000_000,
            "GB" => 1_000_000_000,
            "TB" => 1_000_000_000_000,
            other => {
                return Err(format!(
                    "unknown unit `{other}` (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)"
                ))
            }
        };
        n.checked_mul(scale)
            .map(|b| StateMemoryLimit(Some(b)))
            .ok_or_else(|| format!("`{text}` is too large"))
    }
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn machine_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

impl fmt::Display for StateMemoryLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("auto"),
            Some(b) if b % (1 << 30) == 0 && b > 0 => write!(f, "{}GiB", b >> 30),
            Some(b) if b % (1 << 20) == 0 && b > 0 => write!(f, "{}MiB", b >> 20),
            Some(b) => write!(f, "{b}B"),
        }
    }
}

impl Serialize for StateMemoryLimit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StateMemoryLimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bytes(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bytes(b) => Ok(StateMemoryLimit(Some(b))),
            Raw::Text(t) => StateMemoryLimit::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_units_and_auto() {
        let p = |t| StateMemoryLimit::parse(t).map(|l| l.0);
        assert_eq!(p("512MiB"), Ok(Some(512 << 20)));
        assert_eq!(p(" 2GiB "), Ok(Some(2 << 30)));
        assert_eq!(p("300MB"), Ok(Some(300_000_000)));
        assert_eq!(p("4096"), Ok(Some(4096)));
        assert_eq!(p("auto"), Ok(None));
        assert!(p("12 parsecs").is_err());
        assert!(p("MiB").is_err());
        assert!(p("99999999999TiB").is_err());
        assert_eq!(StateMemoryLimit(Some(256 << 20)).to_string(), "256MiB");
        assert!(StateMemoryLimit(None).bytes() > 0);
    }
}
