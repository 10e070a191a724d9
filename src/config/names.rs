//! The syntax of addresses and names that configuration and the admin API both
//! check: sources, `host:port`, keyspaces and partition ids.

/// A source address parsed from `tcp://host:port` or `listen://host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceAddr {
    Connect(String),
    Listen(String),
}

impl SourceAddr {
    /// Parses a partition's `source` value.
    pub fn parse(value: &str) -> Result<SourceAddr, String> {
        let (scheme, rest) = value
            .split_once("://")
            .ok_or_else(|| format!("`{value}` is not `tcp://host:port` or `listen://host:port`"))?;
        check_host_port(rest)?;
        match scheme {
            "tcp" => Ok(SourceAddr::Connect(rest.to_string())),
            "listen" => Ok(SourceAddr::Listen(rest.to_string())),
            other => Err(format!(
                "unknown scheme `{other}` (expected `tcp` or `listen`)"
            )),
        }
    }
}

/// Checks `host:port`: the host is a DNS name or IPv4 address (`[A-Za-z0-9._-]`,
/// 1 to 253 characters) or a bracketed IPv6 address (`[::1]`); the port is a
/// decimal number up to 65535, without sign or leading zero. Whether the host
/// resolves is learnt when connecting.
pub fn check_host_port(value: &str) -> Result<(), String> {
    let (host, port) = value
        .rsplit_once(':')
        .ok_or_else(|| format!("`{}` is not `host:port`", value.escape_debug()))?;
    let name_ok = (1..=253).contains(&host.len())
        && host
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'));
    let ipv6_ok = host.len() >= 4
        && host.len() <= 47
        && host.starts_with('[')
        && host.ends_with(']')
        && host[1..host.len() - 1]
            .bytes()
            .all(|c| c.is_ascii_hexdigit() || matches!(c, b':' | b'.'));
    if !name_ok && !ipv6_ok {
        return Err(format!(
            "`{}` has no valid host (a DNS name, an IPv4 address or a bracketed IPv6 address)",
            value.escape_debug()
        ));
    }
    let digits_ok = !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|c| c.is_ascii_digit())
        && (port == "0" || !port.starts_with('0'));
    if !digits_ok || port.parse::<u16>().is_err() {
        return Err(format!(
            "`{}` has no valid port (0 to 65535)",
            value.escape_debug()
        ));
    }
    Ok(())
}

/// Whether `name` is a valid unquoted CQL keyspace name.
pub fn is_valid_keyspace(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && name.len() <= 48
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether the host of `host:port` is a loopback address (or `localhost`).
pub fn is_loopback_host(host_port: &str) -> bool {
    let host = host_port
        .rsplit_once(':')
        .map_or(host_port, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Partition ids appear in keys, file names and metric labels: `[A-Za-z0-9_-]{1,64}`,
/// so no id can be `.`, `..` or hold a path separator.
pub fn validate_partition_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 64 {
        return Err(format!(
            "`{}` must have 1 to 64 characters",
            id.escape_debug()
        ));
    }
    if !id
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-'))
    {
        return Err(format!(
            "`{}` may hold only ASCII letters, digits, `_` and `-`",
            id.escape_debug()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyspace_names() {
        assert!(is_valid_keyspace("ssa_test_1"));
        assert!(!is_valid_keyspace("_x"));
        assert!(!is_valid_keyspace("a-b"));
        assert!(!is_valid_keyspace(&"a".repeat(49)));
    }
}
