//! `ssh host admin …`: the operator console on the command line.
//!
//! Whether the caller is an operator is decided before a single word is parsed, so anyone else
//! gets the same "not an operator" for every command, valid or not — no hint of what exists.
//! Output is plain text tables by default and one JSON document with `--json`; neither ever
//! contains a share's name, content, id or key (the console does not have them).

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use crate::config::{format_duration, format_size, parse_duration};
use crate::operator::{AuditEntry, Ban, Console, Report, Stats, TopSenders, printable_target};
use crate::share::{ShareOverview, StatusState, now_millis};
use crate::utc::utc_minutes;

pub const NOT_AN_OPERATOR: &str = "not an operator";

const HELP: &str = "\
onetimeshare operator console

  admin stats                      live shares, activity in the last hour and day, sessions, store
  admin shares [--limit N]         shares by handle: owner, size, created, expires, state
  admin top [--window D] [--limit N]
                                   top senders by key and by address (window default 1d)
  admin takedown SHARE             remove a share (link, id or handle); its link then says so
  admin takedown --from KEY|ADDR   remove every live share of a key (SHA256:… or public key) or
                                   of an address (its IPv6 /64)
  admin ban TARGET [--for D]       refuse a key (SHA256:… or public key), address or CIDR block
  admin unban TARGET               lift a ban
  admin bans                       bans in force
  admin reports [--all]            abuse reports (open ones; --all includes resolved)
  admin dismiss N                  close report N without acting on the share
  admin audit [--limit N]          operator actions, newest first

Every command takes --json. Durations: 30m, 12h, 7d.
";

/// One parsed operator command.
#[derive(Debug, PartialEq, Eq)]
enum AdminCommand {
    Help,
    Stats,
    Shares {
        limit: usize,
    },
    Top {
        window: Duration,
        limit: usize,
    },
    TakeDown(String),
    TakeDownFrom(String),
    Ban {
        target: String,
        duration: Option<Duration>,
    },
    Unban(String),
    Bans,
    Reports {
        all: bool,
    },
    Dismiss(u64),
    Audit {
        limit: usize,
    },
}

#[derive(Debug, PartialEq, Eq)]
struct Invocation {
    command: AdminCommand,
    json: bool,
}

/// What the channel prints and exits with.
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    pub code: u32,
}

impl Outcome {
    fn ok(stdout: String) -> Outcome {
        Outcome {
            stdout,
            stderr: String::new(),
            code: 0,
        }
    }

    fn fail(message: impl std::fmt::Display) -> Outcome {
        Outcome {
            stdout: String::new(),
            stderr: format!("{message}\n"),
            code: 1,
        }
    }
}

/// Runs `admin <words>` for the holder of `key` (its fingerprint; `None` for keyless sessions).
pub async fn run(console: &Console, key: Option<&str>, words: &[String]) -> Outcome {
    let Some(operator) = key.filter(|k| console.is_operator(k)) else {
        return Outcome::fail(NOT_AN_OPERATOR);
    };
    let invocation = match parse(words) {
        Ok(invocation) => invocation,
        Err(message) => {
            return Outcome {
                stdout: String::new(),
                stderr: format!("{message}\nrun `admin help` for the commands\n"),
                code: 2,
            };
        }
    };
    let json = invocation.json;
    let now = now_millis();
    let result = match invocation.command {
        AdminCommand::Help => Ok(render(json, &json!({ "help": HELP }), |_| HELP.to_owned())),
        AdminCommand::Stats => console
            .stats()
            .await
            .map(|stats| render(json, &stats, stats_text)),
        AdminCommand::Shares { limit } => console.shares(limit).await.map(|shares| {
            let listed: Vec<_> = shares.iter().map(share_json).collect();
            render(json, &listed, |_| shares_text(&shares, now))
        }),
        AdminCommand::Top { window, limit } => console
            .top(window, limit)
            .await
            .map(|top| render(json, &top, top_text)),
        AdminCommand::TakeDown(target) => {
            console.take_down(operator, &target).await.map(|removed| {
                render(json, &share_json(&removed), |_| {
                    format!(
                        "taken down {}: its link now says \"removed by the operator\"\n",
                        removed.status.handle
                    )
                })
            })
        }
        AdminCommand::TakeDownFrom(target) => {
            console
                .take_down_from(operator, &target)
                .await
                .map(|removed| {
                    let listed: Vec<_> = removed.iter().map(share_json).collect();
                    render(json, &listed, |_| taken_down_text(&removed))
                })
        }
        AdminCommand::Ban { target, duration } => console
            .ban(operator, &target, duration)
            .await
            .map(|ban| render(json, &ban, |ban| format!("banned {}\n", ban_line(ban)))),
        AdminCommand::Unban(target) => console.unban(operator, &target).await.map(|target| {
            render(json, &json!({ "unbanned": target.to_string() }), |_| {
                format!("unbanned {target}\n")
            })
        }),
        AdminCommand::Bans => console
            .bans()
            .await
            .map(|bans| render(json, &bans, |bans| bans_text(bans))),
        AdminCommand::Reports { all } => console
            .reports(all)
            .await
            .map(|reports| render(json, &reports, |reports| reports_text(reports))),
        AdminCommand::Dismiss(number) => console.dismiss(operator, number).await.map(|report| {
            render(json, &report, |report| {
                format!("dismissed report {}\n", report.number)
            })
        }),
        AdminCommand::Audit { limit } => console
            .audit_log(limit)
            .await
            .map(|entries| render(json, &entries, |entries| audit_text(entries))),
    };
    match result {
        Ok(stdout) => Outcome::ok(stdout),
        Err(err) => Outcome::fail(err),
    }
}

/// One result as the operator asked for it: one JSON document (`--json`), or the text form.
fn render<T: serde::Serialize>(json: bool, value: &T, text: impl FnOnce(&T) -> String) -> String {
    if json {
        render_json(value)
    } else {
        text(value)
    }
}

/// `takedown --from`: how many shares went, one handle a line.
fn taken_down_text(removed: &[crate::share::ShareOverview]) -> String {
    let plural = if removed.len() == 1 { "" } else { "s" };
    let mut text = format!("taken down {} share{plural}", removed.len());
    for share in removed {
        let _ = write!(text, "\n  {}", share.status.handle);
    }
    text.push('\n');
    text
}

/// A public-key line (`ssh-ed25519 AAAA… comment`) that OpenSSH split into words: it joins the
/// remote command's words with spaces, so `admin ban "$(cat key.pub)"` arrives as three words.
/// The rest of the line is the key when it starts with a key type.
fn key_line(args: &[String]) -> Option<String> {
    let first = args.first()?;
    let key_type = ["ssh-", "ecdsa-", "sk-"]
        .iter()
        .any(|prefix| first.starts_with(prefix));
    (key_type && args.len() > 1).then(|| args.join(" "))
}

fn parse(words: &[String]) -> Result<Invocation, String> {
    let mut json = false;
    let mut positional = Vec::new();
    let mut options: Vec<(String, String)> = Vec::new();
    let mut all = false;
    let mut rest = words.iter();
    while let Some(word) = rest.next() {
        match word.as_str() {
            "--json" => json = true,
            "--all" => all = true,
            "--limit" | "--window" | "--for" | "--from" => {
                let value = rest.next().ok_or_else(|| format!("{word} needs a value"))?;
                options.push((word.clone(), value.clone()));
            }
            flag if flag.starts_with("--") => match flag.split_once('=') {
                Some((name @ ("--limit" | "--window" | "--for" | "--from"), value)) => {
                    options.push((name.to_owned(), value.to_owned()));
                }
                _ => return Err(format!("unknown option {}", printable_target(flag))),
            },
            _ => positional.push(word.clone()),
        }
    }
    let option = |name: &str| {
        options
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let limit = |default: usize| -> Result<usize, String> {
        option("--limit").map_or(Ok(default), |v| {
            v.parse::<usize>()
                .ok()
                .filter(|n| (1..=10_000).contains(n))
                .ok_or_else(|| "--limit must be a number from 1 to 10000".to_owned())
        })
    };
    let duration = |name: &str| -> Result<Option<Duration>, String> {
        option(name)
            .map(|v| parse_duration(v).map_err(|e| format!("{name}: {e}")))
            .transpose()
    };
    let allowed = |names: &[&str], takes_all: bool| -> Result<(), String> {
        if let Some((name, _)) = options.iter().find(|(n, _)| !names.contains(&n.as_str())) {
            return Err(format!("{name} does not apply here"));
        }
        if all && !takes_all {
            return Err("--all does not apply here".into());
        }
        Ok(())
    };
    let (name, args) = match positional.split_first() {
        Some((name, args)) => (name.as_str(), args),
        None => ("help", &[][..]),
    };
    let one = |what: &str| -> Result<String, String> {
        match args {
            [value] => Ok(value.clone()),
            [] => Err(format!("{name} needs {what}")),
            [_, extra, ..] => Err(format!("unexpected {}", printable_target(extra))),
        }
    };
    let none = || -> Result<(), String> {
        match args.first() {
            Some(extra) => Err(format!("unexpected {}", printable_target(extra))),
            None => Ok(()),
        }
    };
    let command = match name {
        "help" => {
            none()?;
            allowed(&[], false)?;
            AdminCommand::Help
        }
        "stats" => {
            none()?;
            allowed(&[], false)?;
            AdminCommand::Stats
        }
        "shares" => {
            none()?;
            allowed(&["--limit"], false)?;
            AdminCommand::Shares { limit: limit(50)? }
        }
        "top" => {
            none()?;
            allowed(&["--limit", "--window"], false)?;
            AdminCommand::Top {
                window: duration("--window")?.unwrap_or(Duration::from_secs(24 * 3600)),
                limit: limit(10)?,
            }
        }
        "takedown" => match option("--from") {
            Some(sender) => {
                none()?;
                allowed(&["--from"], false)?;
                AdminCommand::TakeDownFrom(sender.to_owned())
            }
            None => {
                allowed(&[], false)?;
                AdminCommand::TakeDown(one("a share link, id or handle")?)
            }
        },
        "ban" => {
            allowed(&["--for"], false)?;
            AdminCommand::Ban {
                target: match key_line(args) {
                    Some(line) => line,
                    None => one("a key fingerprint, public key, address or CIDR block")?,
                },
                duration: duration("--for")?,
            }
        }
        "unban" => {
            allowed(&[], false)?;
            AdminCommand::Unban(match key_line(args) {
                Some(line) => line,
                None => one("what was banned")?,
            })
        }
        "bans" => {
            none()?;
            allowed(&[], false)?;
            AdminCommand::Bans
        }
        "reports" => {
            none()?;
            allowed(&[], true)?;
            AdminCommand::Reports { all }
        }
        "dismiss" => {
            allowed(&[], false)?;
            let number = one("a report number")?;
            AdminCommand::Dismiss(
                number
                    .trim_start_matches('#')
                    .parse()
                    .map_err(|_| format!("{} is not a report number", printable_target(&number)))?,
            )
        }
        "audit" => {
            none()?;
            allowed(&["--limit"], false)?;
            AdminCommand::Audit { limit: limit(50)? }
        }
        other => return Err(format!("unknown admin command {}", printable_target(other))),
    };
    Ok(Invocation { command, json })
}

fn render_json(value: &impl Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into());
    text.push('\n');
    text
}

fn state_label(state: StatusState) -> String {
    match state {
        StatusState::TakenDown { .. } => "removed".into(),
        other => other.label().into(),
    }
}

fn share_json(share: &ShareOverview) -> serde_json::Value {
    let status = &share.status;
    json!({
        "handle": status.handle.as_str(),
        "owner": share.owner.as_ref().map(|o| o.as_str()),
        "kind": status.kind.as_str(),
        "stored_bytes": status.stored_size,
        "created_at_ms": status.created_at,
        "expires_at_ms": status.expires_at,
        "state": state_label(status.state),
        "password": status.password,
        "attempts": status.attempts,
    })
}

fn stats_text(stats: &Stats) -> String {
    let s = &stats.shares;
    let mut out = format!(
        "SHARES    {} live ({} locked), {} stored; kept until expiry: {} opened, {} revoked, {} removed\n\n",
        s.live,
        s.locked,
        format_size(s.bytes_stored),
        s.opened,
        s.revoked,
        s.taken_down
    );
    let (h, d) = (&stats.last_hour, &stats.last_day);
    let _ = writeln!(out, "{:<12} {:>10} {:>10}", "", "LAST HOUR", "LAST DAY");
    for (label, hour, day) in [
        ("created", h.created, d.created),
        ("claimed", h.claimed, d.claimed),
        ("expired", h.expired, d.expired),
        ("locked", h.locked, d.locked),
        ("revoked", h.revoked, d.revoked),
        ("taken down", h.taken_down, d.taken_down),
    ] {
        let _ = writeln!(out, "{label:<12} {hour:>10} {day:>10}");
    }
    let _ = writeln!(
        out,
        "{:<12} {:>10} {:>10}\n",
        "uploaded",
        format_size(h.bytes_in),
        format_size(d.bytes_in)
    );
    let sessions: Vec<String> = stats
        .ssh
        .sessions
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect();
    let _ = writeln!(
        out,
        "SSH       {} ({} instance{})",
        if sessions.is_empty() {
            "no sessions".to_owned()
        } else {
            sessions.join(", ")
        },
        stats.ssh.instances,
        if stats.ssh.instances == 1 { "" } else { "s" }
    );
    let store = &stats.store;
    let _ = writeln!(
        out,
        "STORE     {} {} ({:.1} ms)",
        store.backend,
        if store.ok { "ok" } else { "FAILING" },
        store.latency_ms
    );
    if let Some(error) = &store.error {
        let _ = writeln!(out, "          {error}");
    }
    let _ = writeln!(
        out,
        "REPORTS   {} open\nBANS      {} in force",
        stats.open_reports, stats.bans
    );
    out
}

fn shares_text(shares: &[ShareOverview], now: u64) -> String {
    if shares.is_empty() {
        return "No shares.\n".into();
    }
    let mut out = format!(
        "{:<10}  {:<8}  {:>9}  {:<20}  {:<20}  {}\n",
        "HANDLE", "STATE", "STORED", "CREATED", "EXPIRES", "OWNER"
    );
    for share in shares {
        let status = &share.status;
        let state = if status.is_expired(now) {
            "expired".to_owned()
        } else {
            state_label(status.state)
        };
        let _ = writeln!(
            out,
            "{:<10}  {:<8}  {:>9}  {:<20}  {:<20}  {}",
            status.handle,
            state,
            format_size(status.stored_size),
            utc_minutes(status.created_at),
            utc_minutes(status.expires_at),
            share.owner.as_ref().map_or("(no key)", |o| o.as_str())
        );
    }
    out
}

fn top_text(top: &TopSenders) -> String {
    let mut out = format!(
        "TOP SENDERS, LAST {}\n",
        format_duration(Duration::from_secs(top.window_secs))
    );
    for (title, rows) in [("BY KEY", &top.by_key), ("BY ADDRESS", &top.by_address)] {
        let _ = writeln!(out, "\n{title:<52} {:>7} {:>10}", "SHARES", "BYTES");
        if rows.is_empty() {
            out.push_str("(none)\n");
        }
        for row in rows {
            let _ = writeln!(
                out,
                "{:<52} {:>7} {:>10}",
                row.sender,
                row.shares,
                format_size(row.bytes)
            );
        }
    }
    out
}

fn ban_line(ban: &Ban) -> String {
    match ban.until {
        Some(until) => format!("{} until {}", ban.target, utc_minutes(until)),
        None => format!("{} until lifted", ban.target),
    }
}

fn bans_text(bans: &[Ban]) -> String {
    if bans.is_empty() {
        return "No bans.\n".into();
    }
    let mut out = format!(
        "{:<52}  {:<20}  {:<20}  {}\n",
        "TARGET", "SINCE", "UNTIL", "BY"
    );
    for ban in bans {
        let until = ban.until.map_or("lifted".to_owned(), utc_minutes);
        let _ = writeln!(
            out,
            "{:<52}  {:<20}  {:<20}  {}",
            ban.target.to_string(),
            utc_minutes(ban.at),
            until,
            ban.by
        );
    }
    out
}

fn reports_text(reports: &[Report]) -> String {
    if reports.is_empty() {
        return "No open reports.\n".into();
    }
    let mut out = format!(
        "{:<5}  {:<20}  {:<10}  {:<9}  {:<22}  {:<28}  {}\n",
        "#", "FILED", "SHARE", "REASON", "FROM", "STATUS", "DETAILS"
    );
    for report in reports {
        let filed = &report.filed;
        let status = match &report.resolution {
            Some(r) => format!("{} {}", r.action, utc_minutes(r.at)),
            None => "open".to_owned(),
        };
        let _ = writeln!(
            out,
            "{:<5}  {:<20}  {:<10}  {:<9}  {:<22}  {:<28}  {}",
            report.number,
            utc_minutes(filed.at),
            filed.share,
            filed.reason.as_str(),
            filed.reporter,
            status,
            if filed.details.is_empty() {
                "-"
            } else {
                filed.details.as_str()
            }
        );
    }
    out
}

fn audit_text(entries: &[AuditEntry]) -> String {
    if entries.is_empty() {
        return "No operator actions yet.\n".into();
    }
    let mut out = format!(
        "{:<20}  {:<52}  {:<36}  {}\n",
        "WHEN", "OPERATOR", "ACTION", "OUTCOME"
    );
    for entry in entries {
        let _ = writeln!(
            out,
            "{:<20}  {:<52}  {:<36}  {}",
            utc_minutes(entry.at),
            entry.by,
            entry.action,
            entry.outcome
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(text: &str) -> Result<Invocation, String> {
        let words: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
        parse(&words)
    }

    #[test]
    fn commands_and_options_are_typed() {
        assert_eq!(parse_words("").unwrap().command, AdminCommand::Help);
        let stats = parse_words("stats --json").unwrap();
        assert_eq!(stats.command, AdminCommand::Stats);
        assert!(stats.json);
        assert_eq!(
            parse_words("ban 10.0.0.0/8 --for 1h").unwrap().command,
            AdminCommand::Ban {
                target: "10.0.0.0/8".into(),
                duration: Some(Duration::from_secs(3600)),
            }
        );
        assert_eq!(
            parse_words("top --window=1h --limit 3").unwrap().command,
            AdminCommand::Top {
                window: Duration::from_secs(3600),
                limit: 3
            }
        );
        assert_eq!(
            parse_words("dismiss #4").unwrap().command,
            AdminCommand::Dismiss(4)
        );
        assert_eq!(
            parse_words("reports --all").unwrap().command,
            AdminCommand::Reports { all: true }
        );
        assert_eq!(
            parse_words("takedown --from 192.0.2.7").unwrap().command,
            AdminCommand::TakeDownFrom("192.0.2.7".into())
        );
        assert!(parse_words("takedown abcd --from 192.0.2.7").is_err());
    }

    #[test]
    fn a_public_key_line_split_into_words_is_one_target() {
        let line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl bob@laptop";
        assert_eq!(
            parse_words(&format!("ban {line} --for 1h"))
                .unwrap()
                .command,
            AdminCommand::Ban {
                target: line.into(),
                duration: Some(Duration::from_secs(3600)),
            }
        );
        assert_eq!(
            parse_words(&format!("unban {line}")).unwrap().command,
            AdminCommand::Unban(line.into())
        );
        assert!(parse_words("ban 10.0.0.1 10.0.0.2").is_err());
    }

    #[test]
    fn mistakes_are_readable_and_nothing_is_guessed() {
        assert!(parse_words("takedown").unwrap_err().contains("needs"));
        assert!(
            parse_words("takedown a b")
                .unwrap_err()
                .contains("unexpected")
        );
        assert!(
            parse_words("stats --for 1h")
                .unwrap_err()
                .contains("does not apply")
        );
        assert!(
            parse_words("ban x --for soon")
                .unwrap_err()
                .contains("--for")
        );
        assert!(
            parse_words("shares --limit 0")
                .unwrap_err()
                .contains("--limit")
        );
        assert!(
            parse_words("rm -rf")
                .unwrap_err()
                .contains("unknown admin command")
        );
        assert!(
            parse_words("dismiss x")
                .unwrap_err()
                .contains("report number")
        );
        assert!(!parse_words("bogus\x1b[2J").unwrap_err().contains('\x1b'));
    }
}
