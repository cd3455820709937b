//! Everything the SSH side prints, as pure functions of data: the details of an armed share,
//! its `--json` form, the `ls` table, help and usage texts.
//!
//! The output contract (docs/properties.md §10) lives here: the link alone goes to stdout for pipes, human details go
//! to stderr, and nothing contains ANSI escapes — names were sanitized before they got here.
//! Links are only ever formatted into client-bound text, never into anything that is logged.

use crate::config::format_size;
use crate::share::{Armed, ArmedSealed, InboxItem, Millis, ShareError, ShareStatus, StatusState};
use crate::units::count;

/// The one-line summary on stderr after an upload.
pub fn armed_details(armed: &Armed, now: Millis) -> String {
    let mut text = format!(
        "{} {}, expires in {} ({}), works once",
        format_size(armed.size),
        armed.kind.as_str(),
        time_left(armed.expires_at, now),
        utc(armed.expires_at),
    );
    if armed.password {
        text.push_str(", password required");
    }
    text.push_str(&format!(", id {}", armed.handle));
    text
}

/// stderr after a pipe whose bytes were not text: what the recipient will get instead.
pub fn binary_pipe_note(armed: &Armed) -> String {
    let name = armed.name.as_deref().unwrap_or("share.bin");
    format!(
        "not text: the recipient downloads the exact bytes as a file named {name} (--name sets it)"
    )
}

/// stderr for a file sent with scp or sftp: the link, then its details.
pub fn armed_file(armed: &Armed, link: &str, now: Millis) -> String {
    let name = armed.name.as_deref().unwrap_or("upload");
    format!("{name}: {link}\n  {}\n", armed_details(armed, now))
}

/// `--json`: one object on one line.
pub fn armed_json(armed: &Armed, link: &str) -> String {
    let value = serde_json::json!({
        "link": link,
        "id": armed.handle.as_str(),
        "kind": armed.kind.as_str(),
        "name": armed.name,
        "size": armed.size,
        "expires_at": utc(armed.expires_at),
        "expires_at_ms": armed.expires_at,
        "password": armed.password,
    });
    format!("{value}\n")
}

/// `ls`: the sender's shares, newest first. Columns are as wide as what they hold; a share no
/// one can open any more shows `—` for its expiry instead of a countdown that means nothing.
pub fn share_table(shares: &[ShareStatus], now: Millis) -> String {
    if shares.is_empty() {
        return "You have no live shares.\n".into();
    }
    let rows: Vec<[String; 5]> = shares
        .iter()
        .map(|share| {
            let (state, live) = match share.state {
                _ if share.is_expired(now) => ("expired".to_owned(), false),
                StatusState::Armed => ("armed".to_owned(), true),
                StatusState::Locked => ("locked".to_owned(), true),
                StatusState::Opened { at } => (format!("opened {}", utc(at)), false),
                StatusState::Revoked { at } => (format!("revoked {}", utc(at)), false),
                StatusState::TakenDown { at } => {
                    (format!("removed by the operator {}", utc(at)), false)
                }
            };
            let left = if live {
                time_left(share.expires_at, now)
            } else {
                "—".to_owned()
            };
            [
                share.handle.as_str().to_owned(),
                share.kind.as_str().to_owned(),
                format_size(share.stored_size),
                state,
                left,
            ]
        })
        .collect();
    let head = ["ID", "KIND", "STORED", "STATE", "EXPIRES IN"].map(str::to_owned);
    let width = |i: usize| {
        rows.iter()
            .chain([&head])
            .map(|r| r[i].chars().count())
            .max()
            .unwrap_or(0)
    };
    let (w0, w1, w2, w3) = (width(0), width(1), width(2), width(3));
    let mut out = String::new();
    for [id, kind, stored, state, left] in std::iter::once(&head).chain(&rows) {
        let line = format!("{id:<w0$}  {kind:<w1$}  {stored:>w2$}  {state:<w3$}  {left}");
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// stderr after a sealed upload: who can open it and how.
pub fn sealed_details(armed: &ArmedSealed, now: Millis) -> String {
    format!(
        "{} sealed to {}, expires in {} ({}), id {id}; each recipient sees it with `ssh HOST \
         inbox` and the first to claim it (`ssh HOST get {id} | age -d -i KEY`) gets it",
        format_size(armed.size),
        count(armed.recipients as u64, "key"),
        time_left(armed.expires_at, now),
        utc(armed.expires_at),
        id = armed.handle,
    )
}

/// `--to … --json`: one object on one line (no link: none opens a sealed share).
pub fn sealed_json(armed: &ArmedSealed) -> String {
    let value = serde_json::json!({
        "id": armed.handle.as_str(),
        "size": armed.size,
        "recipients": armed.recipients,
        "expires_at": utc(armed.expires_at),
        "expires_at_ms": armed.expires_at,
    });
    format!("{value}\n")
}

/// `inbox`: numbered for `get N`, oldest first, with each share's id for `get ID` (numbers
/// shift as older shares leave; ids do not). Sizes are the stored (encrypted) size.
pub fn inbox_table(items: &[InboxItem], now: Millis) -> String {
    if items.is_empty() {
        return "Your inbox is empty: no share is sealed to this key.\n".into();
    }
    let rows: Vec<[String; 7]> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            [
                (i + 1).to_string(),
                item.handle.as_str().to_owned(),
                item.from
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(60)
                    .collect(),
                item.kind.as_str().to_owned(),
                format_size(item.stored_size),
                time_left(item.expires_at, now),
                item.label.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let head = ["N", "ID", "FROM", "KIND", "SIZE", "EXPIRES IN", "LABEL"].map(str::to_owned);
    let width = |i: usize| {
        rows.iter()
            .chain([&head])
            .map(|r| r[i].chars().count())
            .max()
            .unwrap_or(0)
    };
    let (w0, w1, w2, w3, w4, w5) = (width(0), width(1), width(2), width(3), width(4), width(5));
    let mut out = String::new();
    for [n, id, from, kind, size, left, label] in std::iter::once(&head).chain(&rows) {
        let line = format!(
            "{n:<w0$}  {id:<w1$}  {from:<w2$}  {kind:<w3$}  {size:>w4$}  {left:<w5$}  {label}"
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str("Claim one with: ssh HOST get ID | age -d -i ~/.ssh/id_ed25519 > file\n");
    out
}

/// `get` was given something that is not a link. The text is not echoed: it may hold a key.
pub const NOT_A_LINK: &str = "get: that is not a share link (https://HOST/s/ID#KEY); \
    quote the whole link so the shell keeps it in one piece: ssh HOST get 'LINK'\n";

/// Why a claim over SSH got no content: the same states and words as the HTTP claim
/// (`already opened at …`, revoked, removed, locked), as one line for stderr.
pub fn claim_refusal(err: &ShareError) -> String {
    match err {
        ShareError::AlreadyOpened { at } => format!(
            "already opened at {}: this link worked once and has been used; if that was not \
             you, someone else opened it first: tell the sender",
            crate::utc::utc_seconds(*at)
        ),
        ShareError::Revoked { at } => format!(
            "revoked by its sender at {}; its content is deleted",
            crate::utc::utc_seconds(*at)
        ),
        ShareError::TakenDown { at } => format!(
            "removed by the operator at {}; its content is deleted",
            crate::utc::utc_seconds(*at)
        ),
        ShareError::Locked { attempts } => format!(
            "locked after {}: no more attempts are accepted; ask the sender for a new link",
            count(u64::from(*attempts), "wrong password")
        ),
        ShareError::PasswordRequired => "this share needs a password: send it as the first \
             line of stdin with --password-stdin; nothing was burned"
            .into(),
        ShareError::WrongPassword { remaining } => format!(
            "wrong password: {} left; nothing was burned",
            count(u64::from(*remaining), "attempt")
        ),
        ShareError::Corrupt(_) => "the share failed its integrity check, so what arrived is \
             incomplete: discard it; the share is used up, ask the sender to send it again"
            .into(),
        other => other.words(),
    }
}

/// Why `id` cannot name a share for `revoke`, in words: ids are the hex handles `ls` prints,
/// and at least 4 characters of one are needed.
pub fn check_share_id(id: &str) -> Result<(), String> {
    if !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        let shown: String = id.chars().filter(|c| !c.is_control()).take(40).collect();
        return Err(format!(
            "`{shown}` is not a share id: ids are hexadecimal (0-9, a-f), as `ls` prints them"
        ));
    }
    if id.len() < 4 {
        return Err("revoke needs at least 4 characters of a share id (see `ls`)".into());
    }
    Ok(())
}

/// Where clients reach this server's SSH side, as they would type it: the public host (from
/// the public URL) and the SSH port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Door {
    pub host: String,
    pub port: u16,
}

impl Door {
    /// `ssh host`, or `ssh -p PORT host` off port 22.
    pub fn ssh(&self) -> String {
        match self.port {
            22 => format!("ssh {}", self.host),
            port => format!("ssh -p {port} {}", self.host),
        }
    }

    fn scp(&self, what: &str) -> String {
        match self.port {
            22 => format!("scp {what} {}:", self.host),
            port => format!("scp -P {port} {what} {}:", self.host),
        }
    }

    fn sftp(&self) -> String {
        match self.port {
            22 => format!("sftp {}", self.host),
            port => format!("sftp -P {port} {}", self.host),
        }
    }
}

/// `help`: everything the SSH side can do, with this server's real `ssh` line.
pub fn help(door: &Door) -> String {
    let ssh = door.ssh();
    let scp = door.scp("secret.env");
    let scp_o = door.scp("-O secret.env");
    let sftp = door.sftp();
    format!(
        "\
onetimeshare: turn a secret into a link that works exactly once.

Interactive (paste a secret, pick expiry and password, arm it, copy the link):
  {ssh}

Upload (the link is printed alone on stdout, details on stderr):
  cat secret.env | {ssh}
  {ssh} -- --ttl 1h --name db.env < secret.env
  {scp}            (one link per file, on stderr)
  {scp_o}
  {sftp}  then  put FILE
  PuTTY plink and dropbear dbclient open a terminal even for a pipe: add -T
    cat secret.env | plink -T HOST      cat secret.env | dbclient -T HOST

Upload options:
  --ttl DURATION     expiry, e.g. 5m, 1h, 1d, 7d
  --name NAME        file name shown to the recipient (makes it a file share)
  --json             print one JSON object instead of the bare link
  --size BYTES       the exact size of the secret; if a different number of
                     bytes arrives (a producer that died mid-pipe), the upload
                     fails and nothing is stored. Empty input is refused unless
                     announced with --size 0
  --sha256 HEX       the SHA-256 of the secret (as sha256sum prints it); if the
                     content differs, the upload fails and nothing is stored.
                     Example:
                       {ssh} -- --size $(stat -c %s f) --sha256 $(sha256sum < f | cut -d' ' -f1) < f
  --password-stdin   the first line of stdin is a password the recipient must
                     also know; the secret follows it. Never put a password on
                     the command line. Example:
                       {{ cat pw.txt; cat secret.env; }} | {ssh} -- --password-stdin
  --wait             after printing the link, stay connected until the share
                     is opened, expires or is revoked; say which and when on
                     stderr. Exit status: 0 opened, 3 expired unopened,
                     4 revoked, removed by the operator or locked,
                     5 --wait-timeout ran out (or the server restarted)
  --wait-timeout DURATION  stop waiting after this long (implies --wait)
  --to KEY           seal the share to a recipient's SSH public key instead of
                     making a link: an age file only that key's owner can
                     open, listed in their `inbox`. KEY is a public key line
                     ('ssh-ed25519 AAAA… bob', quoted twice) or github:USER
                     (that user's published keys); repeat for more recipients

Receive in a terminal (the plaintext on stdout, messages on stderr):
  {ssh} get 'LINK' > file                  claims it: the link works once
  {{ echo PASSWORD; }} | {ssh} get --password-stdin 'LINK' > file
  {ssh} inbox                              shares sealed to your key (--to)
  {ssh} get ID | age -d -i ~/.ssh/id_ed25519 > file
                     claims one by the ID `inbox` shows (or its number N,
                     which shifts as older shares leave)

Your shares (identified by your SSH key):
  {ssh} ls          list them: id, kind, size, state, time left
  {ssh} revoke ID   destroy one before it is opened
  {ssh} watch       a line per event on your shares as it happens: the armed
                    ones first, then armed, opened, revoked, removed, locked,
                    expired, as TIME  EVENT  ID  KIND  SIZE (--json: one JSON
                    object per line); runs until you disconnect, also with
                    stdin at its end (< /dev/null)
  {ssh} help        this text

Quoting: OpenSSH joins the words after the host with spaces, and the server
splits them again like a shell (single and double quotes, backslash). A value
with spaces needs a second pair of quotes that reaches the server:
  {ssh} -- --name \"'Q3 report.pdf'\" < report.pdf
"
    )
}

/// Shown on an interactive terminal until the full-screen interface is available.
pub const USAGE_ON_TERMINAL: &str = "\
onetimeshare: this link works once.

The interactive interface is not available yet. Pipe a secret instead:
  cat secret.env | ssh HOST
Run `ssh HOST help` for everything else.
";

/// Remaining time, rounded for humans ("1d", "5m", "expired").
pub fn time_left(expires_at: Millis, now: Millis) -> String {
    if expires_at <= now {
        return "expired".into();
    }
    let mut secs = (expires_at - now).div_ceil(1000);
    if secs >= 3600 {
        // Past an hour, minutes are the finest unit shown: a share made a moment ago with
        // `--ttl 1d` reads `1d 0h`, not `23h 59m`.
        secs = (secs + 30) / 60 * 60;
    }
    crate::units::format_remaining(secs * 1000)
}

/// `2026-11-23 09:34 UTC` from unix milliseconds.
pub fn utc(at: Millis) -> String {
    crate::utc::utc_minutes(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_reads_like_the_ttl_that_was_asked_for() {
        assert_eq!(time_left(86_400_000, 5), "1d 0h");
        assert_eq!(time_left(60_000, 0), "1m 00s");
        assert_eq!(time_left(90_500, 0), "1m 31s");
        assert_eq!(time_left(10, 10), "expired");
    }

    #[test]
    fn ids_that_are_not_hex_are_called_what_they_are() {
        assert!(
            check_share_id("zzzz")
                .unwrap_err()
                .contains("not a share id")
        );
        assert!(check_share_id("ab").unwrap_err().contains("at least 4"));
        assert!(check_share_id("ab12").is_ok());
    }

    #[test]
    fn the_share_table_fits_every_state_and_dead_shares_do_not_count_down() {
        use crate::crypto::Kind;
        use crate::share::ShareId;
        let now = 1_800_000_000_000;
        let share = |state| ShareStatus {
            handle: ShareId::generate().unwrap().handle(),
            kind: Kind::File,
            stored_size: 2048,
            created_at: now - 60_000,
            expires_at: now + 3_600_000,
            state,
            password: false,
            max_attempts: 5,
            attempts: 0,
        };
        let table = share_table(
            &[
                share(StatusState::Armed),
                share(StatusState::TakenDown { at: now - 1000 }),
                share(StatusState::Opened { at: now - 1000 }),
            ],
            now,
        );
        let lines: Vec<&str> = table.lines().collect();
        let column = lines[0].find("EXPIRES IN").unwrap();
        assert!(lines[1][column..].starts_with("1h"), "{table}");
        assert!(lines[2].contains("removed by the operator "), "{table}");
        assert!(lines[2].ends_with("  —"), "{table}");
        assert!(lines[3].ends_with("  —"), "{table}");
        for line in &lines[1..] {
            assert_eq!(
                line.chars().take(column).count(),
                column,
                "every row reaches the EXPIRES IN column: {table}"
            );
        }
    }

    #[test]
    fn help_shows_the_servers_real_ssh_line_the_interactive_screen_and_quoting() {
        let text = help(&Door {
            host: "share.example".into(),
            port: 2222,
        });
        assert!(text.contains("Interactive"), "{text}");
        assert!(text.contains("\n  ssh -p 2222 share.example\n"), "{text}");
        assert!(
            text.contains("scp -P 2222 secret.env share.example:"),
            "{text}"
        );
        assert!(text.contains("Quoting"), "{text}");
        assert!(!text.contains("HOST ls"), "{text}");
        let default_port = help(&Door {
            host: "share.example".into(),
            port: 22,
        });
        assert!(
            default_port.contains("  ssh share.example get 'LINK'"),
            "{default_port}"
        );
        assert!(
            default_port.contains("  ssh share.example watch "),
            "{default_port}"
        );
        assert!(
            default_port.contains("  ssh share.example get ID | age -d"),
            "{default_port}"
        );
    }

    #[test]
    fn texts_carry_no_escape_sequences() {
        let help = help(&Door {
            host: "share.example".into(),
            port: 22,
        });
        for text in [help.as_str(), USAGE_ON_TERMINAL] {
            assert!(!text.contains('\x1b'));
        }
    }
}
