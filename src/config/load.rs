//! Layered loading: built-in defaults, then `--config FILE`, then `SSA_` environment
//! variables (`SSA_SECTION__KEY`, e.g. `SSA_CASSANDRA__KEYSPACE=demo`; plus
//! `SSA_ADMIN_TOKEN`), then command-line flags. The result is validated once.
//!
//! Secrets (`cassandra.password`, `admin.token`) never appear in an error: a
//! value of the wrong type or a TOML syntax error on their line is reported by
//! key, line and column only.

use std::path::Path;

use figment::providers::{Format as _, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};

use super::file::{read_config_file, syntax_error};
use super::{Config, ConfigError};

/// Keys whose values are secrets: errors name them and never show their values.
pub const SECRET_KEYS: [&str; 2] = ["cassandra.password", "admin.token"];

/// Credentials (and node ids) taken from the environment as plain strings (figment would read
/// `SSA_CASSANDRA__PASSWORD=1234` as a number and refuse it).
const STRING_ENV: [(&str, &str); 4] = [
    ("SSA_CASSANDRA__USERNAME", "cassandra.username"),
    ("SSA_CASSANDRA__PASSWORD", "cassandra.password"),
    ("SSA_ADMIN__TOKEN", "admin.token"),
    ("SSA_CLUSTER__NODE_ID", "cluster.node_id"),
];

/// Values given as command-line flags; they win over every other layer.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub contact_points: Vec<String>,
    pub keyspace: Option<String>,
    pub admin_listen: Option<String>,
    pub sink: Option<super::SinkKind>,
}

/// Loads and validates the configuration.
pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
    let text = file.map(read_config_file).transpose()?;
    let file = file.zip(text.as_deref());
    load_from_str(file, overrides)
}

/// [`load`] with the `--config` file already read (its path, for errors, and its
/// text): every layer above the file (environment, flags) and the validation are
/// the same.
pub fn load_from_str(
    file: Option<(&Path, &str)>,
    overrides: &Overrides,
) -> Result<Config, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some((path, text)) = file {
        if let Err(e) = toml::from_str::<toml::Table>(text) {
            return Err(syntax_error(path, text, &e));
        }
        figment = figment.merge(Toml::string(text));
    }
    figment = figment.merge(EnvLayer);
    for (var, key) in STRING_ENV {
        if let Ok(value) = std::env::var(var) {
            figment = figment.merge(Serialized::default(key, value));
        }
    }
    if let Ok(token) = std::env::var("SSA_ADMIN_TOKEN") {
        figment = figment.merge(Serialized::default("admin.token", token));
    }
    if !overrides.contact_points.is_empty() {
        figment = figment.merge(Serialized::default(
            "cassandra.contact_points",
            &overrides.contact_points,
        ));
    }
    if let Some(keyspace) = &overrides.keyspace {
        figment = figment.merge(Serialized::default("cassandra.keyspace", keyspace));
    }
    if let Some(listen) = &overrides.admin_listen {
        figment = figment.merge(Serialized::default("admin.listen", listen));
    }
    if let Some(sink) = overrides.sink {
        figment = figment.merge(Serialized::default("processor.sink", sink));
    }
    let config: Config = figment
        .extract()
        .map_err(|e| describe(e, file.map(|(path, _)| path)))?;
    config.validate()?;
    config.check_tls_files()?;
    Ok(config)
}

/// The `SSA_SECTION__KEY` environment variables as one layer (the secrets of
/// [`STRING_ENV`] aside): each `__` nests a key, names are case-insensitive, and a
/// value is read as figment reads it (`5`, `true`, `[a, b]`, `"quoted"`), except
/// one holding a multi-byte character and a backslash, which is read as a TOML
/// value (a plain string when it is not one): figment's reader indexes quoted
/// strings by character count as if it were bytes, and panics on those.
struct EnvLayer;

impl Provider for EnvLayer {
    fn metadata(&self) -> Metadata {
        Metadata::named("`SSA_` environment variable(s)")
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for (name, value) in std::env::vars_os() {
            let name = name.to_string_lossy();
            let name = name.trim();
            let Some(rest) = name
                .get(4..)
                .filter(|_| name[..4].eq_ignore_ascii_case("SSA_"))
            else {
                continue;
            };
            let string = STRING_ENV
                .iter()
                .any(|(var, _)| var.eq_ignore_ascii_case(name));
            let path = rest.trim().to_ascii_lowercase().replace("__", ".");
            if string || !rest.contains("__") || path.split('.').any(str::is_empty) {
                continue;
            }
            insert(&mut dict, &path, env_value(&value.to_string_lossy()));
        }
        Ok(Profile::Default.collect(dict))
    }
}

fn env_value(raw: &str) -> Value {
    if raw.is_ascii() || !raw.contains('\\') {
        return raw.parse().unwrap_or_else(|_| Value::from(raw));
    }
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut table| table.remove("v"))
        .and_then(|value| Value::serialize(value).ok())
        .unwrap_or_else(|| Value::from(raw))
}

/// Puts `value` at the dotted `path`, a later variable winning where two meet.
fn insert(dict: &mut Dict, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            dict.insert(path.to_string(), value);
        }
        Some((first, rest)) => {
            let entry = dict
                .entry(first.to_string())
                .or_insert_with(|| Value::from(Dict::new()));
            if entry.as_dict().is_none() {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

/// Turns figment's error into one naming the key path and the layer it came
/// from (the file by its path); a secret's value is never shown.
fn describe(error: figment::Error, file: Option<&Path>) -> ConfigError {
    use figment::error::Kind;

    let key = error.path.join(".");
    let mut message = if SECRET_KEYS.contains(&key.as_str()) {
        match &error.kind {
            Kind::InvalidType(_, expected) | Kind::InvalidValue(_, expected) => {
                format!("invalid value (not shown: it is a secret), expected {expected}")
            }
            _ => "invalid value (not shown: it is a secret)".to_string(),
        }
    } else {
        error.kind.to_string()
    };
    if let Some(source) = &error.metadata {
        let name = match file {
            Some(path) if source.name.contains("TOML") => path.display().to_string(),
            _ => source.name.to_string(),
        };
        message = format!("{message} (from {name})");
    }
    if key.is_empty() {
        ConfigError::Parse(message)
    } else {
        ConfigError::invalid(key, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConsistencyName, SerialConsistencyName};
    use std::io::Write;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    }

    #[test]
    fn default_toml_matches_builtin_defaults() {
        let text = include_str!("../../config/default.toml");
        let parsed: Config = toml::from_str(text).expect("config/default.toml parses");
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn file_values_override_defaults() {
        let file = write("[cassandra]\nkeyspace = \"k1\"\nreplication_factor = 3\n");
        let config = load(Some(file.path()), &Overrides::default()).unwrap();
        assert_eq!(config.cassandra.keyspace, "k1");
        assert_eq!(config.cassandra.replication_factor, 3);
    }

    #[test]
    fn flags_override_file() {
        let file = write("[cassandra]\nkeyspace = \"k1\"\n");
        let overrides = Overrides {
            keyspace: Some("k2".into()),
            contact_points: vec!["127.0.0.9:9042".into()],
            ..Overrides::default()
        };
        let config = load(Some(file.path()), &overrides).unwrap();
        assert_eq!(config.cassandra.keyspace, "k2");
        assert_eq!(config.cassandra.contact_points, vec!["127.0.0.9:9042"]);
    }

    #[test]
    fn unknown_key_is_named() {
        let file = write("[cassandra]\nkeyspaces = \"k1\"\n");
        let err = load(Some(file.path()), &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("keyspaces"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_key_and_the_file() {
        let file = write("[processor]\nmax_inflight_epochs = \"many\"\n");
        let err = load(Some(file.path()), &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("processor.max_inflight_epochs"), "{err}");
        assert!(err.contains(&file.path().display().to_string()), "{err}");
    }

    #[test]
    fn a_secret_of_the_wrong_type_is_not_shown() {
        let file = write("[admin]\ntoken = 918273645\n");
        let err = load(Some(file.path()), &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("admin.token"), "{err}");
        assert!(!err.contains("918273645"), "{err}");
    }

    #[test]
    fn a_cluster_at_quorum_with_serial_lightweight_transactions_loads() {
        let file = write(
            "[cassandra]\ncontact_points = [\"10.0.0.1:9042\", \"10.0.0.2:9042\", \"10.0.0.3:9042\"]\n\
             replication_factor = 3\nconsistency = \"quorum\"\nserial_consistency = \"serial\"\n",
        );
        let config = load(Some(file.path()), &Overrides::default()).unwrap();
        assert_eq!(config.cassandra.contact_points.len(), 3);
        assert_eq!(config.cassandra.replication_factor, 3);
        assert_eq!(config.cassandra.consistency, ConsistencyName::Quorum);
        assert_eq!(
            config.cassandra.serial_consistency,
            SerialConsistencyName::Serial
        );

        for name in ["local_serial", "LOCAL_SERIAL"] {
            let file = write(&format!("[cassandra]\nserial_consistency = \"{name}\"\n"));
            let config = load(Some(file.path()), &Overrides::default()).unwrap();
            assert_eq!(
                config.cassandra.serial_consistency,
                SerialConsistencyName::LocalSerial
            );
        }
        let file = write("[cassandra]\nserial_consistency = \"SERIAL\"\n");
        let config = load(Some(file.path()), &Overrides::default()).unwrap();
        assert_eq!(
            config.cassandra.serial_consistency,
            SerialConsistencyName::Serial
        );
    }

    #[test]
    fn serial_consistency_defaults_to_serial() {
        assert_eq!(
            Config::default().cassandra.serial_consistency,
            SerialConsistencyName::Serial
        );
    }

    #[test]
    fn a_serial_consistency_that_is_not_serial_names_the_key_and_the_choices() {
        // A plain consistency level is no serial consistency, and neither is a typo.
        for bad in ["\"quorum\"", "\"local_quorum\"", "\"SERIALS\"", "\"\"", "1"] {
            let file = write(&format!("[cassandra]\nserial_consistency = {bad}\n"));
            let err = load(Some(file.path()), &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("cassandra.serial_consistency"), "{bad}: {err}");
            assert!(err.contains(&file.path().display().to_string()), "{err}");
            if bad.starts_with('"') {
                assert!(
                    err.contains(&format!(
                        "`{}` is not a serial consistency",
                        bad.trim_matches('"')
                    )) && err.contains("`serial` or `local_serial`"),
                    "{bad}: {err}"
                );
            }
        }
    }

    #[test]
    fn missing_file_is_named() {
        let err = load(
            Some(Path::new("/nonexistent/ssa.toml")),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ssa.toml"), "{err}");
    }
}
