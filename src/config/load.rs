//! Layered loading: built-in defaults, then `--config FILE`, then `SSA_` environment
//! variables (`SSA_SECTION__KEY`, e.g. `SSA_CASSANDRA__KEYSPACE=demo`; plus
//! `SSA_ADMIN_TOKEN`), then command-line flags. The result is validated once.

use std::path::Path;

use figment::providers::{Env, Format as _, Serialized, Toml};
use figment::Figment;

use super::{Config, ConfigError};

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
    let text = match file {
        Some(path) => Some(
            std::fs::read_to_string(path).map_err(|source| ConfigError::File {
                path: path.display().to_string(),
                source,
            })?,
        ),
        None => None,
    };
    load_from_str(text.as_deref(), overrides)
}

/// [`load`] with the `--config` file's text already read: every layer above the
/// file (environment, flags) and the validation are the same.
pub fn load_from_str(
    file_text: Option<&str>,
    overrides: &Overrides,
) -> Result<Config, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some(text) = file_text {
        figment = figment.merge(Toml::string(text));
    }
    figment = figment.merge(
        Env::prefixed("SSA_")
            .filter(|key| key.as_str().contains("__"))
            .split("__"),
    );
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
    let config: Config = figment.extract().map_err(describe)?;
    config.validate()?;
    Ok(config)
}

/// Turns figment's error into one naming the key path.
fn describe(error: figment::Error) -> ConfigError {
    let key = error.path.join(".");
    let mut message = error.kind.to_string();
    if let Some(source) = &error.metadata {
        message = format!("{message} (from {})", source.name);
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
    fn wrong_type_names_the_key() {
        let file = write("[processor]\nmax_inflight_epochs = \"many\"\n");
        let err = load(Some(file.path()), &Overrides::default()).unwrap_err();
        assert!(
            err.to_string().contains("processor.max_inflight_epochs"),
            "{err}"
        );
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
