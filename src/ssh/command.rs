//! What an `exec` request asks for, parsed once from the raw command bytes (sans-IO).
//!
//! The command line arrives as one string (OpenSSH joins the words after the host with spaces),
//! so it is split here with POSIX-shell-like quoting and then matched against a closed set:
//! `help`, `ls`, `revoke ID`, `watch`, `get …`, `inbox`, `scp -t …` (legacy sink), or upload
//! options. Anything else is a
//! readable error — never a guess. Values are validated on the way in (expiry parsed, names
//! sanitized, sizes and digests decoded), so the channel code only sees typed options.

use std::time::Duration;

use crate::config::{parse_duration, parse_size};
use crate::share::{HANDLE_CHARS, ShareName};

/// A parsed request.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Help,
    List,
    Revoke(String),
    /// `admin …`: the words after `admin`, parsed by the operator console only once the caller
    /// is known to be an operator.
    Admin(Vec<String>),
    Upload(UploadOptions),
    ScpSink(ScpOptions),
    /// `get LINK` / `get N` / `get ID`: claim a share and write its content to stdout.
    Get(GetOptions),
    /// `inbox`: the shares sealed to the caller's key.
    Inbox,
    /// `watch [--json]`: receipt events for the caller's shares, a line each, until the
    /// connection closes.
    Watch {
        json: bool,
    },
}

/// What `get` claims, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetOptions {
    pub target: GetTarget,
    /// The first line of stdin is the share's password (never on the command line).
    pub password_stdin: bool,
}

/// A link (kept as typed, parsed by the channel: it holds the key and is never echoed), or a
/// share in the caller's inbox.
#[derive(Clone, PartialEq, Eq)]
pub enum GetTarget {
    Link(String),
    Inbox(InboxPick),
}

/// Which share of the caller's inbox `get` claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InboxPick {
    /// Its number in `inbox` (oldest first, from 1): shifts when an older share leaves.
    Number(u32),
    /// Its id (the handle `inbox` shows, lowercase): the same for as long as the share lives.
    Id(String),
}

impl std::fmt::Debug for GetTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GetTarget::Link(_) => f.write_str("Link(…)"),
            GetTarget::Inbox(pick) => write!(f, "Inbox({pick:?})"),
        }
    }
}

/// Options of a piped upload.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UploadOptions {
    pub ttl: Option<Duration>,
    pub name: Option<ShareName>,
    pub json: bool,
    /// The first line of stdin is the password; the payload follows it.
    pub password_stdin: bool,
    /// `--size N`: the exact byte count of the payload; anything else publishes nothing.
    pub size: Option<u64>,
    /// `--sha256 HEX`: the payload's digest; anything else publishes nothing.
    pub sha256: Option<[u8; 32]>,
    /// `--to KEY-LINE` / `--to github:USER`, as given: seal the share to these keys.
    pub to: Vec<String>,
    /// `--wait`: after printing the link, block until the share is opened, expires or is
    /// revoked, and say which in the exit code.
    pub wait: bool,
    /// `--wait-timeout DURATION`: stop waiting after this long (implies `--wait`).
    pub wait_timeout: Option<Duration>,
}

/// Flags of `scp -t` that change what the sink accepts.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScpOptions {
    pub recursive: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CommandError {
    #[error("unterminated quote in the command")]
    UnterminatedQuote,
    #[error("unknown command or option {0:?}; run `help` to see what is possible")]
    Unknown(String),
    #[error("{0} needs a value")]
    MissingValue(&'static str),
    #[error("--ttl: {0}")]
    Ttl(String),
    #[error("--name: {0}")]
    Name(String),
    #[error("--size: {0}")]
    Size(String),
    #[error("--wait-timeout: {0}")]
    WaitTimeout(String),
    #[error("--wait only works for shares with a link, not with --to")]
    SealedWait,
    #[error("--sha256 needs the 64 hexadecimal characters of a SHA-256 digest")]
    Sha256,
    #[error("--to: at most {} recipients per share", crate::share::MAX_RECIPIENTS)]
    TooManyRecipients,
    #[error("--to cannot be combined with --password-stdin: a sealed share needs no password")]
    SealedWithPassword,
    #[error("revoke needs the id of one of your shares (see `ls`)")]
    RevokeWithoutId,
    #[error("downloads are not possible over SSH: open the link in a browser or with curl")]
    ScpDownload,
    #[error("unsupported scp invocation: {0}")]
    Scp(String),
    /// A value with spaces that OpenSSH split into words (it joins the remote command's words
    /// with spaces, so the local shell's quotes do not reach the server).
    #[error(
        "{flag} took {value:?} and then found {extra:?}: OpenSSH joins the words after the host \
         with spaces, so a value with spaces must be quoted twice, e.g. \
         ssh HOST -- {flag} \"'{value} {extra}'\""
    )]
    LooksSplit {
        flag: &'static str,
        value: String,
        extra: String,
    },
    #[error(
        "get needs a link (quote it: ssh HOST get 'https://…/s/ID#KEY') or the id or number of \
         a share in your inbox (see `inbox`)"
    )]
    GetWithoutTarget,
    /// Never echoes the words: one of them may be a link key.
    #[error(
        "get takes one link, inbox id or inbox number (and --password-stdin); a password is \
         never put on the command line: send it as the first line of stdin with \
         --password-stdin"
    )]
    GetExtra,
}

impl Command {
    pub fn parse(raw: &[u8]) -> Result<Command, CommandError> {
        let text = String::from_utf8_lossy(raw);
        let mut words = split(&text)?;
        if words.first().is_some_and(|w| w == "--") {
            words.remove(0);
        }
        let Some(first) = words.first() else {
            return Ok(Command::Upload(UploadOptions::default()));
        };
        match first.as_str() {
            "help" | "--help" | "-h" => Ok(Command::Help),
            "ls" | "list" => match words.len() {
                1 => Ok(Command::List),
                _ => Err(CommandError::Unknown(words[1].clone())),
            },
            "revoke" => match words.as_slice() {
                [_, id] => Ok(Command::Revoke(id.clone())),
                [_] => Err(CommandError::RevokeWithoutId),
                [_, _, extra, ..] => Err(CommandError::Unknown(extra.clone())),
                [] => Err(CommandError::RevokeWithoutId),
            },
            "admin" => Ok(Command::Admin(words[1..].to_vec())),
            "get" => parse_get(&words[1..]).map(Command::Get),
            "inbox" => match words.get(1) {
                None => Ok(Command::Inbox),
                Some(extra) => Err(CommandError::Unknown(printable(extra))),
            },
            "watch" => {
                let mut json = false;
                for word in &words[1..] {
                    match word.as_str() {
                        "--json" => json = true,
                        other => return Err(CommandError::Unknown(printable(other))),
                    }
                }
                Ok(Command::Watch { json })
            }
            "scp" => parse_scp(&words[1..]),
            _ => parse_upload(&words).map(Command::Upload),
        }
    }
}

fn parse_upload(words: &[String]) -> Result<UploadOptions, CommandError> {
    let mut options = UploadOptions::default();
    let mut words = words.iter();
    // The last option that took a value, and the value: a stray word after it was likely part
    // of it.
    let mut last_value: Option<(&'static str, String)> = None;
    while let Some(word) = words.next() {
        if !word.starts_with('-')
            && let Some((flag, value)) = last_value.take()
        {
            return Err(CommandError::LooksSplit {
                flag,
                value: printable(&value),
                extra: printable(word),
            });
        }
        let (flag, inline) = match word.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (word.as_str(), None),
        };
        let mut value = |name: &'static str| {
            inline
                .clone()
                .or_else(|| words.next().cloned())
                .ok_or(CommandError::MissingValue(name))
        };
        match flag {
            "--ttl" | "-t" => {
                let text = value("--ttl")?;
                last_value = Some(("--ttl", text.clone()));
                let ttl = match parse_duration(&text) {
                    Ok(ttl) => ttl,
                    // `--ttl 1 h`: say how to quote it rather than that "1" is no duration.
                    Err(_) if words.clone().next().is_some_and(|w| !w.starts_with('-')) => {
                        continue;
                    }
                    Err(e) => return Err(CommandError::Ttl(e.to_string())),
                };
                options.ttl = Some(ttl);
            }
            "--name" | "-n" => {
                let text = value("--name")?;
                last_value = Some(("--name", text.clone()));
                let name = ShareName::sanitize(text.as_bytes())
                    .map_err(|e| CommandError::Name(e.to_string()))?;
                options.name = Some(name);
            }
            "--size" => {
                let text = value("--size")?;
                let size = parse_size(&text).map_err(|e| CommandError::Size(e.to_string()))?;
                options.size = Some(size);
            }
            "--sha256" => {
                let text = value("--sha256")?;
                let mut digest = [0u8; 32];
                hex::decode_to_slice(text.trim(), &mut digest).map_err(|_| CommandError::Sha256)?;
                options.sha256 = Some(digest);
            }
            "--to" => {
                let mut line = value("--to")?;
                // A key line whose quotes OpenSSH dropped: its words run to the next option.
                if !["ssh-", "ecdsa-", "sk-"]
                    .iter()
                    .any(|p| line.starts_with(p))
                {
                    last_value = Some(("--to", line.clone()));
                } else {
                    while let Some(next) = words.clone().next().filter(|w| !w.starts_with("--")) {
                        line.push(' ');
                        line.push_str(next);
                        words.next();
                    }
                }
                if options.to.len() >= crate::share::MAX_RECIPIENTS {
                    return Err(CommandError::TooManyRecipients);
                }
                options.to.push(line);
            }
            "--wait" => options.wait = true,
            "--wait-timeout" => {
                let text = value("--wait-timeout")?;
                last_value = Some(("--wait-timeout", text.clone()));
                let timeout =
                    parse_duration(&text).map_err(|e| CommandError::WaitTimeout(e.to_string()))?;
                options.wait = true;
                options.wait_timeout = Some(timeout);
            }
            "--json" => options.json = true,
            "--password-stdin" => options.password_stdin = true,
            other => return Err(CommandError::Unknown(other.to_owned())),
        }
    }
    if !options.to.is_empty() && options.password_stdin {
        return Err(CommandError::SealedWithPassword);
    }
    if !options.to.is_empty() && options.wait {
        return Err(CommandError::SealedWait);
    }
    Ok(options)
}

/// A word as an error may show it: no control characters, bounded.
fn printable(word: &str) -> String {
    word.chars().filter(|c| !c.is_control()).take(80).collect()
}

fn parse_get(words: &[String]) -> Result<GetOptions, CommandError> {
    let mut password_stdin = false;
    let mut target = None;
    for word in words {
        match word.as_str() {
            "--password-stdin" => password_stdin = true,
            _ if target.is_none() => target = Some(get_target(word)),
            _ => return Err(CommandError::GetExtra),
        }
    }
    Ok(GetOptions {
        target: target.ok_or(CommandError::GetWithoutTarget)?,
        password_stdin,
    })
}

/// An inbox id is exactly a handle's hex characters (digits-only ids exist, so that test comes
/// first); a shorter number is an inbox position; anything else is taken for a link.
fn get_target(word: &str) -> GetTarget {
    if word.len() == HANDLE_CHARS && word.bytes().all(|b| b.is_ascii_hexdigit()) {
        return GetTarget::Inbox(InboxPick::Id(word.to_ascii_lowercase()));
    }
    match word.parse::<u32>() {
        Ok(n) if word.bytes().all(|b| b.is_ascii_digit()) => GetTarget::Inbox(InboxPick::Number(n)),
        _ => GetTarget::Link(word.to_owned()),
    }
}

fn parse_scp(words: &[String]) -> Result<Command, CommandError> {
    let mut options = ScpOptions::default();
    let mut sink = false;
    for word in words {
        if word == "--" {
            break;
        }
        let Some(flags) = word.strip_prefix('-') else {
            // The target: files land in shares, never on a path, so it is not used.
            continue;
        };
        for flag in flags.chars() {
            match flag {
                't' => sink = true,
                'f' => return Err(CommandError::ScpDownload),
                'r' => options.recursive = true,
                'd' | 'p' | 'v' | 'q' | 'O' => {}
                // Escaped: the message goes to the client's terminal verbatim.
                other => {
                    return Err(CommandError::Scp(format!(
                        "option -{}",
                        other.escape_debug()
                    )));
                }
            }
        }
    }
    if sink {
        Ok(Command::ScpSink(options))
    } else {
        Err(CommandError::Scp("expected `scp -t`".into()))
    }
}

/// Splits a command line like a POSIX shell would for words and quotes (no expansion).
pub fn split(text: &str) -> Result<Vec<String>, CommandError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(ch) = chars.next() {
        match ch {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(CommandError::UnterminatedQuote),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(CommandError::UnterminatedQuote),
                        },
                        Some(c) => word.push(c),
                        None => return Err(CommandError::UnterminatedQuote),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Command, CommandError> {
        Command::parse(text.as_bytes())
    }

    #[test]
    fn words_split_like_a_shell_without_expansion() {
        assert_eq!(
            split(r#"a 'b c' "d \"e\"" f\ g  $HOME"#).unwrap(),
            ["a", "b c", "d \"e\"", "f g", "$HOME"]
        );
        assert_eq!(split("'open").unwrap_err(), CommandError::UnterminatedQuote);
        assert!(split("   ").unwrap().is_empty());
    }

    #[test]
    fn upload_options_are_typed_on_the_way_in() {
        let Command::Upload(opts) = parse("-- --ttl 1h --name 'db env' --json").unwrap() else {
            panic!("not an upload");
        };
        assert_eq!(opts.ttl, Some(Duration::from_secs(3600)));
        assert_eq!(opts.name.unwrap().as_str(), "db env");
        assert!(opts.json);
        assert!(!opts.password_stdin);
        let Command::Upload(opts) = parse("--ttl=5m --password-stdin").unwrap() else {
            panic!("not an upload");
        };
        assert_eq!(opts.ttl, Some(Duration::from_secs(300)));
        assert!(opts.password_stdin);
    }

    #[test]
    fn wait_and_its_timeout_are_typed_on_the_way_in() {
        let Command::Upload(opts) = parse("-- --wait").unwrap() else {
            panic!("not an upload");
        };
        assert!(opts.wait);
        assert_eq!(opts.wait_timeout, None);
        let Command::Upload(opts) = parse("--wait-timeout 90s").unwrap() else {
            panic!("not an upload");
        };
        assert!(opts.wait);
        assert_eq!(opts.wait_timeout, Some(Duration::from_secs(90)));
        assert!(matches!(
            parse("--wait-timeout soon"),
            Err(CommandError::WaitTimeout(_))
        ));
        assert_eq!(
            parse("--wait --to github:bob"),
            Err(CommandError::SealedWait)
        );
    }

    #[test]
    fn an_announced_size_and_digest_are_typed_on_the_way_in() {
        let digest = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
        let Command::Upload(opts) = parse(&format!("--size 4 --sha256 {digest}")).unwrap() else {
            panic!("not an upload");
        };
        assert_eq!(opts.size, Some(4));
        assert_eq!(
            opts.sha256.map(hex::encode),
            Some(digest.to_ascii_lowercase())
        );
        let Command::Upload(opts) = parse("--size=1K").unwrap() else {
            panic!("not an upload");
        };
        assert_eq!(opts.size, Some(1024));
        assert!(matches!(parse("--size lots"), Err(CommandError::Size(_))));
        for bad in [
            "abc",
            &digest[..62],
            &format!("{digest}00"),
            &digest.replace('F', "G"),
        ] {
            assert_eq!(
                parse(&format!("--sha256 {bad}")).unwrap_err(),
                CommandError::Sha256,
                "{bad}"
            );
        }
    }

    #[test]
    fn bad_options_are_readable_errors() {
        assert_eq!(
            parse("--ttl").unwrap_err(),
            CommandError::MissingValue("--ttl")
        );
        assert!(matches!(parse("--ttl soon"), Err(CommandError::Ttl(_))));
        assert!(matches!(
            parse("--name ..").unwrap_err(),
            CommandError::Name(_)
        ));
        assert_eq!(
            parse("rm -rf /").unwrap_err(),
            CommandError::Unknown("rm".into())
        );
        assert_eq!(parse("revoke").unwrap_err(), CommandError::RevokeWithoutId);
    }

    #[test]
    fn a_value_split_by_openssh_says_how_to_quote_it() {
        // `ssh HOST -- --name "Q3 report.pdf"` arrives as `-- --name Q3 report.pdf`.
        let err = parse("-- --name Q3 report.pdf").unwrap_err();
        assert_eq!(
            err,
            CommandError::LooksSplit {
                flag: "--name",
                value: "Q3".into(),
                extra: "report.pdf".into()
            }
        );
        assert!(
            err.to_string()
                .contains(r#"ssh HOST -- --name "'Q3 report.pdf'""#),
            "{err}"
        );
        let err = parse("--ttl 1 h").unwrap_err();
        assert!(
            matches!(err, CommandError::LooksSplit { flag: "--ttl", .. }),
            "{err}"
        );
        // Quoted twice, it is one word again.
        let Command::Upload(opts) = parse(r#"-- --name 'Q3 report.pdf' --json"#).unwrap() else {
            panic!("not an upload");
        };
        assert_eq!(opts.name.unwrap().as_str(), "Q3 report.pdf");
    }

    #[test]
    fn to_takes_a_key_line_split_by_openssh_and_caps_the_recipients() {
        let Command::Upload(opts) =
            parse("-- --to ssh-ed25519 AAAAC3Nz bob@laptop --to github:octocat --json").unwrap()
        else {
            panic!("not an upload");
        };
        assert_eq!(
            opts.to,
            ["ssh-ed25519 AAAAC3Nz bob@laptop", "github:octocat"]
        );
        assert!(opts.json);
        let many = "--to github:x ".repeat(1000);
        assert_eq!(parse(&many).unwrap_err(), CommandError::TooManyRecipients);
        assert_eq!(parse("inbox").unwrap(), Command::Inbox);
    }

    #[test]
    fn our_commands_are_recognised() {
        assert_eq!(parse("help").unwrap(), Command::Help);
        assert_eq!(parse("ls").unwrap(), Command::List);
        assert_eq!(
            parse("revoke ab12").unwrap(),
            Command::Revoke("ab12".into())
        );
        assert_eq!(
            parse("").unwrap(),
            Command::Upload(UploadOptions::default())
        );
    }

    #[test]
    fn get_takes_a_link_or_an_inbox_number_and_never_echoes_extra_words() {
        let link = "http://h/s/abcd#KEYKEYKEY";
        assert_eq!(
            parse(&format!("get '{link}'")).unwrap(),
            Command::Get(GetOptions {
                target: GetTarget::Link(link.into()),
                password_stdin: false
            })
        );
        assert_eq!(
            parse("get --password-stdin 3").unwrap(),
            Command::Get(GetOptions {
                target: GetTarget::Inbox(InboxPick::Number(3)),
                password_stdin: true
            })
        );
        // An id as `inbox` shows it (any case); ids that are all digits are still ids.
        for (word, id) in [("0A1b2c3d4e", "0a1b2c3d4e"), ("1234567890", "1234567890")] {
            assert_eq!(
                parse(&format!("get {word}")).unwrap(),
                Command::Get(GetOptions {
                    target: GetTarget::Inbox(InboxPick::Id(id.into())),
                    password_stdin: false
                })
            );
        }
        assert_eq!(
            parse("get +3").unwrap(),
            Command::Get(GetOptions {
                target: GetTarget::Link("+3".into()),
                password_stdin: false
            })
        );
        assert_eq!(parse("get").unwrap_err(), CommandError::GetWithoutTarget);
        let err = parse(&format!("get {link} hunter2")).unwrap_err();
        assert_eq!(err, CommandError::GetExtra);
        assert!(!err.to_string().contains("hunter2"));
        assert!(!format!("{:?}", parse(&format!("get {link}"))).contains("KEYKEY"));
    }

    #[test]
    fn watch_takes_json_and_nothing_else() {
        assert_eq!(parse("watch").unwrap(), Command::Watch { json: false });
        assert_eq!(
            parse("watch --json").unwrap(),
            Command::Watch { json: true }
        );
        assert_eq!(
            parse("watch --json x").unwrap_err(),
            CommandError::Unknown("x".into())
        );
        assert_eq!(
            parse("watch --all").unwrap_err(),
            CommandError::Unknown("--all".into())
        );
    }

    #[test]
    fn scp_sink_invocations_are_recognised_and_downloads_refused() {
        assert_eq!(
            parse("scp -t .").unwrap(),
            Command::ScpSink(ScpOptions::default())
        );
        assert_eq!(
            parse("scp -d -p -t -- dir").unwrap(),
            Command::ScpSink(ScpOptions::default())
        );
        assert_eq!(
            parse("scp -r -t .").unwrap(),
            Command::ScpSink(ScpOptions { recursive: true })
        );
        assert_eq!(
            parse("scp -f secret").unwrap_err(),
            CommandError::ScpDownload
        );
        assert!(matches!(parse("scp x"), Err(CommandError::Scp(_))));
        // Found by fuzzing (exec_command): an unknown option letter was echoed raw.
        let err = parse("scp -\x1b[2J").unwrap_err().to_string();
        assert!(!err.contains('\x1b') && err.contains("\\u{1b}"), "{err}");
    }
}
