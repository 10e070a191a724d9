//! Target `config`: the configuration loader, every layer: built-in defaults, the
//! `--config` file's TOML, the `SSA_` environment and the command-line flags, then
//! the validation. An accepted configuration is valid and loads again to itself
//! from its own TOML.
//!
//! Input: the TOML text, then after the first NUL byte one setting per line:
//! `NAME=VALUE` sets the environment variable `SSA_NAME`, and `--keyspace=V`,
//! `--contact-point=V`, `--admin-listen=V`, `--sink=V` are the flags.

use std::path::Path;
use std::sync::Mutex;

use ssa::config::{load_from_str, Overrides, SinkKind};

/// The environment is process-wide: one run at a time.
static ENV: Mutex<()> = Mutex::new(());

pub fn run(data: &[u8]) {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let (toml, settings) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let toml = String::from_utf8_lossy(toml);
    let settings = String::from_utf8_lossy(settings);

    clear_env(&[]);
    let mut set = Vec::new();
    let mut overrides = Overrides::default();
    for line in settings.lines() {
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        match name {
            "--keyspace" => overrides.keyspace = Some(value.to_string()),
            "--contact-point" => overrides.contact_points.push(value.to_string()),
            "--admin-listen" => overrides.admin_listen = Some(value.to_string()),
            "--sink" => {
                overrides.sink = match value {
                    "none" => Some(SinkKind::None),
                    "cassandra" => Some(SinkKind::Cassandra),
                    _ => None,
                }
            }
            _ => {
                // What a shell can set: no `=` or NUL in names, no NUL in values.
                let name = format!("SSA_{}", name.replace('\0', ""));
                let value = value.replace('\0', "");
                std::env::set_var(&name, value);
                set.push(name);
            }
        }
    }

    let file = Path::new("fuzz.toml");
    let loaded = load_from_str(Some((file, &toml)), &overrides);
    match loaded {
        Ok(config) => {
            config.validate().expect("a loaded configuration is valid");
            let text = toml::to_string(&config).expect("a configuration serialises");
            let again = load_from_str(Some((file, &text)), &overrides).expect("its own TOML loads");
            assert_eq!(again, config);
            let _ = format!("{config:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    clear_env(&set);
}

/// Unsets every variable the loader reads (`SSA_*__*` and `SSA_ADMIN_TOKEN`) and
/// the ones this run set: left behind, they would pile up run after run.
fn clear_env(set: &[String]) {
    for name in set {
        std::env::remove_var(name);
    }
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("SSA_") && (name.contains("__") || name == "SSA_ADMIN_TOKEN") {
            std::env::remove_var(name);
        }
    }
}
