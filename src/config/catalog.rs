//! The catalogue of settings, read off their clap definitions — flag, environment variable, TOML
//! key, documented default and meaning — and rendered as the Markdown table in the README
//! (`onetimeshare config table`; tests/e2e/config.rs fails when the committed table differs).
//! The code is the only source: a setting added to [`Layer`] shows up here by itself.
//!
//! What a [`Layer`] field must look like (the tests below check each rule and say what to fix):
//! - `#[arg(long, env = "ONETIMESHARE_<FLAG_IN_UPPER_SNAKE_CASE>", value_name = "…")]`; its
//!   TOML key is the flag name (serde's kebab-case of the field = clap's long name);
//! - a doc comment that says what it means and ends with `[default: …]` when leaving it unset
//!   means a value. A value without spaces (`[default: 256MiB]`) must resolve exactly like
//!   leaving the setting unset; one with spaces (`[default: any key]`) describes the behaviour;
//! - no clap `default_value`: clap would fill it in and it would beat the config file;
//! - a secret (password, token) is a [`Secret`](super::Secret), so nothing ever prints it.

use clap::{Args as _, Command};

use super::{Layer, SettingsArgs};

/// One setting as documented by its definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingDoc {
    /// clap's id (the field name): what `ArgMatches` knows it by.
    pub id: String,
    /// The long flag without `--`; also the TOML key for every [`Layer`] setting.
    pub name: String,
    pub env: Option<String>,
    pub value_name: Option<String>,
    /// The help text without its `[default: …]`.
    pub meaning: String,
    pub default: Option<DefaultDoc>,
    /// False for `--config` itself (a file cannot name another file).
    pub in_file: bool,
}

/// The `[default: …]` of a help text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DefaultDoc {
    /// A value, spelled as a flag would take it (`256MiB`).
    Value(String),
    /// A description of what happens when the setting is unset (`any key`).
    Description(String),
}

impl DefaultDoc {
    fn parse(text: &str) -> DefaultDoc {
        if text.chars().any(char::is_whitespace) {
            DefaultDoc::Description(text.to_owned())
        } else {
            DefaultDoc::Value(text.to_owned())
        }
    }
}

/// Every [`Layer`] setting, in declaration order.
pub fn layer_settings() -> Vec<SettingDoc> {
    docs(&Layer::augment_args(Command::new("onetimeshare")))
}

/// What `serve`, `healthcheck` and `config check` accept: `--config`, then every setting.
pub fn all_settings() -> Vec<SettingDoc> {
    let layer_ids: Vec<String> = layer_settings().into_iter().map(|s| s.id).collect();
    let mut all = docs(&SettingsArgs::augment_args(Command::new("onetimeshare")));
    for setting in &mut all {
        setting.in_file = layer_ids.contains(&setting.id);
    }
    all
}

fn docs(command: &Command) -> Vec<SettingDoc> {
    command
        .get_arguments()
        .filter_map(|arg| {
            let name = arg.get_long()?.to_owned();
            let help = arg
                .get_long_help()
                .or(arg.get_help())
                .map(|h| h.to_string())
                .unwrap_or_default();
            let (meaning, default) = split_default(&help);
            Some(SettingDoc {
                id: arg.get_id().to_string(),
                name,
                env: arg.get_env().map(|e| e.to_string_lossy().into_owned()),
                value_name: arg
                    .get_value_names()
                    .and_then(|names| names.first())
                    .map(|n| n.to_string()),
                meaning,
                default,
                in_file: true,
            })
        })
        .collect()
}

/// "Largest share [default: 256MiB]" → ("Largest share", Value("256MiB")).
fn split_default(help: &str) -> (String, Option<DefaultDoc>) {
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some(start) = help.rfind("[default: ")
        && help.ends_with(']')
    {
        let text = &help[start + "[default: ".len()..help.len() - 1];
        let meaning = help[..start].trim_end().to_owned();
        return (meaning, Some(DefaultDoc::parse(text)));
    }
    (help, None)
}

/// The settings reference as a Markdown table: what the README's Configuration section holds
/// between its `settings-table` markers.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| flag | environment variable | TOML key | default | meaning |\n|---|---|---|---|---|\n",
    );
    for s in all_settings() {
        let flag = match &s.value_name {
            Some(v) => format!("`--{} <{v}>`", s.name),
            None => format!("`--{}`", s.name),
        };
        let env = s.env.as_deref().map_or("—".into(), |e| format!("`{e}`"));
        let key = if s.in_file {
            format!("`{}`", s.name)
        } else {
            "—".into()
        };
        let default = match &s.default {
            Some(DefaultDoc::Value(v)) => format!("`{v}`"),
            Some(DefaultDoc::Description(d)) => markdown_text(d),
            None => "—".into(),
        };
        out.push_str(&format!(
            "| {flag} | {env} | {key} | {default} | {} |\n",
            markdown_text(&s.meaning)
        ));
    }
    out
}

/// Help text as Markdown table text: no HTML tags, no column breaks.
fn markdown_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use clap::FromArgMatches as _;

    use super::*;
    use crate::config::Settings;

    /// The settings' command without environment variables, so the tests do not depend on the
    /// environment they run in.
    fn parse(args: &[&str]) -> Result<Layer, clap::Error> {
        let command = Layer::augment_args(Command::new("onetimeshare").no_binary_name(true))
            .mut_args(|arg| arg.env(None));
        let matches = command.try_get_matches_from(args)?;
        Layer::from_arg_matches(&matches)
    }

    #[test]
    fn every_setting_has_a_flag_an_env_variable_named_after_it_and_a_meaning() {
        let command = Layer::augment_args(Command::new("onetimeshare"));
        for arg in command.get_arguments() {
            let id = arg.get_id();
            let long = arg.get_long().unwrap_or_else(|| {
                panic!("Layer field `{id}` has no long flag: add `#[arg(long, …)]`")
            });
            let env = format!("ONETIMESHARE_{}", long.to_uppercase().replace('-', "_"));
            assert_eq!(
                arg.get_env().and_then(|e| e.to_str()),
                Some(env.as_str()),
                "--{long} must read the environment variable {env}: add `env = \"{env}\"`"
            );
            assert!(
                arg.get_help()
                    .is_some_and(|h| !h.to_string().trim().is_empty()),
                "--{long} has no doc comment: it is the --help text and the README's meaning"
            );
            assert!(
                arg.get_default_values().is_empty(),
                "--{long} has a clap default_value, which would beat the config file: write \
                 `[default: …]` at the end of its doc comment and apply the default in \
                 Settings::resolve"
            );
        }
    }

    #[test]
    fn every_documented_default_value_is_the_real_default() {
        // Some settings only matter next to another (the Redis key prefix with a Redis URL).
        let contexts = [
            Layer::default(),
            Layer {
                redis_url: Some("redis://127.0.0.1/".into()),
                ..Layer::default()
            },
        ];
        for setting in layer_settings() {
            let Some(DefaultDoc::Value(value)) = &setting.default else {
                continue;
            };
            let flag = format!("--{}", setting.name);
            let given = parse(&[&flag, value]).unwrap_or_else(|e| {
                panic!(
                    "{flag} documents [default: {value}], which is not a valid value ({e}); \
                     fix the doc comment (a description needs spaces: [default: any key])"
                )
            });
            for context in &contexts {
                let unset = Settings::resolve(context.clone());
                let set = Settings::resolve(given.clone().over(context.clone()));
                assert_eq!(
                    format!("{set:?}"),
                    format!("{unset:?}"),
                    "{flag} documents [default: {value}] but Settings::resolve uses another \
                     default: make the doc comment and the code agree (if `{value}` describes \
                     the behaviour rather than being a value, use words with spaces, as in \
                     [default: any key])"
                );
            }
        }
    }

    #[test]
    fn every_toml_key_is_its_flag_name() {
        // Values to try, as a flag takes them; each is also tried as a TOML integer, boolean,
        // string and list, whichever the field's type accepts.
        let samples = ["x", "1", "true", "127.0.0.1:1", "json", "1m"];
        for setting in layer_settings() {
            let flag = format!("--{}", setting.name);
            let candidates = match &setting.default {
                Some(DefaultDoc::Value(v)) => vec![v.as_str()],
                _ => vec![],
            };
            let found = candidates.into_iter().chain(samples).any(|value| {
                let Ok(from_flag) = parse(&[&flag, value]) else {
                    return false;
                };
                toml_spellings(value).into_iter().any(|toml_value| {
                    let text = format!("{} = {toml_value}", setting.name);
                    toml::from_str::<Layer>(&text)
                        .is_ok_and(|from_file| format!("{from_file:?}") == format!("{from_flag:?}"))
                })
            });
            assert!(
                found,
                "`{} = …` in the config file does not set what {flag} sets: Layer's TOML keys \
                 must be its long flag names (serde kebab-case, no #[serde(rename)] or \
                 #[arg(long = …)] that differ)",
                setting.name
            );
        }
    }

    fn toml_spellings(value: &str) -> Vec<String> {
        let mut spellings = vec![format!("{value:?}")];
        if value.parse::<i64>().is_ok() || value.parse::<bool>().is_ok() {
            spellings.push(value.to_owned());
        }
        let lists: Vec<String> = spellings.iter().map(|s| format!("[{s}]")).collect();
        spellings.extend(lists);
        spellings
    }

    #[test]
    fn defaults_are_split_from_the_meaning() {
        assert_eq!(
            split_default("Largest share,\n e.g. 256MiB [default: 256MiB]"),
            (
                "Largest share, e.g. 256MiB".to_owned(),
                Some(DefaultDoc::Value("256MiB".into()))
            )
        );
        assert_eq!(
            split_default("Allow-list [default: any key]").1,
            Some(DefaultDoc::Description("any key".into()))
        );
        assert_eq!(split_default("PEM key for --tls-cert").1, None);
    }

    #[test]
    fn the_table_has_one_row_per_setting_and_the_config_file_is_not_a_key() {
        let table = markdown_table();
        let rows: BTreeMap<&str, &str> = table
            .lines()
            .skip(2)
            .filter_map(|row| Some((row.split('`').nth(1)?, row)))
            .collect();
        assert_eq!(rows.len(), all_settings().len());
        assert!(rows["--max-size <SIZE>"].contains("| `max-size` | `256MiB` |"));
        assert!(rows["--config <FILE>"].contains("`ONETIMESHARE_CONFIG` | — |"));
        assert!(
            !table.contains("<public-url>"),
            "HTML-looking text is escaped"
        );
    }
}
