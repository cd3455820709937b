//! What `onetimeshare config check` prints: every setting's effective value and the layer it came
//! from (default < file < env < flag), secrets redacted. It resolves through the same
//! [`SettingsArgs::resolve_with`] as `serve`, so a configuration it accepts is one `serve`
//! accepts, and an invalid one fails here with the same message.
//!
//! Values are shown as given (`256MiB`, not a byte count) — that is what an operator compares
//! with their file — and unset ones as their documented default. Redaction is generic: a
//! [`Secret`](super::Secret) serializes as `***`, and every string passes through
//! [`redact_url_credentials`], so a setting added later is covered without code here.

use std::collections::BTreeMap;

use clap::ArgMatches;
use clap::parser::ValueSource;
use serde_json::Value;

use super::catalog::{DefaultDoc, all_settings};
use super::secret::redact_url_credentials;
use super::{ConfigError, Layer, Settings, SettingsArgs};

/// Where a setting's effective value came from, lowest precedence first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    Default,
    File,
    Env,
    Flag,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Default => "default",
            Source::File => "file",
            Source::Env => "env",
            Source::Flag => "flag",
        }
    }
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectiveSetting {
    pub name: String,
    /// As given (redacted), or the documented default in parentheses when it is a description.
    pub value: String,
    pub source: Source,
}

/// The effective configuration, ready to print.
#[derive(Clone, Debug)]
pub struct Effective {
    pub settings: Vec<EffectiveSetting>,
}

impl Effective {
    /// Resolves `args` exactly as `serve` does and reports where each value came from.
    /// `matches` are the parsed arguments that produced `args` (clap knows whether a value came
    /// from a flag or from the environment).
    pub fn check(
        args: &SettingsArgs,
        matches: &ArgMatches,
    ) -> Result<(Settings, Effective), ConfigError> {
        let file = args.file_layer()?;
        let settings = args.resolve_with(file.clone())?;
        let merged = shown(&args.layer.clone().over(file.clone()))?;
        let from_file = shown(&file)?;
        let mut rows = Vec::new();
        for setting in all_settings() {
            let given = if setting.in_file {
                merged.get(&setting.name).cloned().flatten()
            } else {
                args.config.as_ref().map(|p| p.display().to_string())
            };
            let (value, source) = match given {
                Some(value) => {
                    let source = match matches.value_source(&setting.id) {
                        Some(ValueSource::CommandLine) => Source::Flag,
                        Some(ValueSource::EnvVariable) => Source::Env,
                        _ if from_file.get(&setting.name).is_some_and(Option::is_some) => {
                            Source::File
                        }
                        // Not reachable while settings carry no clap default (catalog tests).
                        _ => Source::Default,
                    };
                    (value, source)
                }
                None => {
                    let value = match setting.default {
                        Some(DefaultDoc::Value(v)) => v,
                        Some(DefaultDoc::Description(d)) => format!("({d})"),
                        None => "(unset)".to_owned(),
                    };
                    (value, Source::Default)
                }
            };
            rows.push(EffectiveSetting {
                name: setting.name,
                value,
                source,
            });
        }
        Ok((settings, Effective { settings: rows }))
    }
}

/// Each setting of a layer by its TOML key, as display text (redacted), `None` when unset.
fn shown(layer: &Layer) -> Result<BTreeMap<String, Option<String>>, ConfigError> {
    match serde_json::to_value(layer) {
        Ok(Value::Object(fields)) => Ok(fields
            .into_iter()
            .map(|(name, value)| (name, display(&value)))
            .collect()),
        Ok(_) => Err(ConfigError::Invalid(
            "cannot display the settings: not a map".into(),
        )),
        Err(e) => Err(ConfigError::Invalid(format!(
            "cannot display the settings: {e}"
        ))),
    }
}

fn display(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(redact_url_credentials(s).into_owned()),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(display)
                .collect::<Vec<_>>()
                .join(","),
        ),
        other => Some(other.to_string()),
    }
}

/// `SETTING  VALUE  SOURCE`, one setting per line, columns aligned.
impl std::fmt::Display for Effective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name_width = self
            .settings
            .iter()
            .map(|s| s.name.len())
            .max()
            .unwrap_or(0);
        let value_width = self
            .settings
            .iter()
            .map(|s| s.value.chars().count())
            .max()
            .unwrap_or(0);
        writeln!(
            f,
            "{:name_width$}  {:value_width$}  SOURCE",
            "SETTING", "VALUE"
        )?;
        for s in &self.settings {
            writeln!(
                f,
                "{:name_width$}  {:value_width$}  {}",
                s.name,
                s.value,
                s.source.as_str()
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, FromArgMatches as _, Parser};

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SettingsArgs,
    }

    fn check(argv: &[&str]) -> Result<Effective, ConfigError> {
        let command = Cli::command()
            .no_binary_name(true)
            .mut_args(|arg| arg.env(None));
        let matches = command.try_get_matches_from(argv).unwrap();
        let cli = Cli::from_arg_matches(&matches).unwrap();
        Effective::check(&cli.args, &matches).map(|(_, effective)| effective)
    }

    fn row<'a>(effective: &'a Effective, name: &str) -> &'a EffectiveSetting {
        effective
            .settings
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no row {name}"))
    }

    #[test]
    fn flags_beat_the_file_and_unset_settings_show_their_default() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ots.toml");
        std::fs::write(&file, "max-size = \"1MiB\"\nmax-attempts = 3\n").unwrap();
        let file = file.display().to_string();
        let effective = check(&["--config", &file, "--max-attempts", "4"]).unwrap();
        let expect = |name: &str, value: &str, source: Source| {
            let row = row(&effective, name);
            assert_eq!((row.value.as_str(), row.source), (value, source), "{name}");
        };
        expect("config", &file, Source::Flag);
        expect("max-size", "1MiB", Source::File);
        expect("max-attempts", "4", Source::Flag);
        expect("max-ttl", "7d", Source::Default);
        expect("ssh-authorized-keys", "(any key)", Source::Default);
        expect("tls-key", "(unset)", Source::Default);
    }

    #[test]
    fn secrets_are_redacted_wherever_they_come_from() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ots.toml");
        std::fs::write(&file, "redis-url = \"redis://app:hunter2@redis:6379/\"\n").unwrap();
        let effective = check(&["--config", &file.display().to_string()]).unwrap();
        assert_eq!(
            row(&effective, "redis-url").value,
            "redis://app:***@redis:6379/"
        );
        let effective = check(&["--redis-url", "redis://:hunter2@redis/"]).unwrap();
        assert_eq!(row(&effective, "redis-url").value, "redis://:***@redis/");
        assert!(!effective.to_string().contains("hunter2"));
        let unix = "redis+unix:///run/redis/redis.sock?db=2&pass=hunter2";
        let effective = check(&["--redis-url", unix]).unwrap();
        assert_eq!(
            row(&effective, "redis-url").value,
            "redis+unix:///run/redis/redis.sock?db=2&pass=***"
        );
        assert!(!effective.to_string().contains("hunter2"));
    }

    #[test]
    fn settings_named_like_secrets_are_secrets() {
        for setting in all_settings() {
            let name = &setting.name;
            let secret_like = ["password", "token", "secret", "credential"]
                .iter()
                .any(|word| name.contains(word));
            // `--admin-password-file <FILE>` names where a secret is, not the secret.
            if !secret_like || name.ends_with("-file") || name.ends_with("-path") {
                continue;
            }
            let flag = format!("--{name}");
            let effective = check(&[&flag, "hunter2-sentinel"]).unwrap_or_else(|e| {
                panic!("{flag} hunter2-sentinel does not resolve ({e}): cannot check redaction")
            });
            assert!(
                !effective.to_string().contains("hunter2-sentinel"),
                "`config check` prints the value of {flag}: make the Layer field a \
                 config::Secret"
            );
        }
    }

    #[test]
    fn an_invalid_setting_fails_the_check_with_the_serve_message() {
        let err = check(&["--default-ttl", "30d"]).unwrap_err().to_string();
        assert!(
            err.contains("default-ttl") && err.contains("max-ttl"),
            "{err}"
        );
    }

    #[test]
    fn the_report_is_aligned_with_the_source_last() {
        let text = check(&["--max-size", "1MiB"]).unwrap().to_string();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        assert!(header.starts_with("SETTING") && header.ends_with("SOURCE"));
        let width = header.find("SOURCE").unwrap();
        for line in lines {
            let source = line.split_whitespace().last().unwrap();
            assert_eq!(line.rfind(source), Some(width), "{line}");
        }
    }
}
