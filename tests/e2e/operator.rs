//! The operator console end to end: the real OpenSSH client with an operator key and with other
//! keys against the real binary, curl for the web side, and (for the shared view) two server
//! instances on one real Redis.

use std::process::Output;
use std::time::{Duration, Instant};

use crate::support::ssh_client::{Client, run, text};
use crate::support::{RedisServer, Reply, ServerOptions, TestServer, request, temp_dir};
use serde_json::Value;

/// An operator key, its admin-keys file, and a server that names it.
struct Console {
    operator: Client,
    server: TestServer,
    _admin_dir: tempfile::TempDir,
}

fn admin_file(operator: &Client) -> (tempfile::TempDir, String) {
    let dir = temp_dir();
    let path = dir.path().join("admin_keys");
    std::fs::write(&path, format!("# operators\n{}", operator.public_key())).unwrap();
    let path = path.display().to_string();
    (dir, path)
}

fn console_with(options: ServerOptions) -> Console {
    let mut operator = Client::unbound();
    let (dir, path) = admin_file(&operator);
    let mut options = options;
    options.args.extend(["--admin-keys".to_owned(), path]);
    let server = TestServer::start(options);
    operator.connect_to(&server);
    Console {
        operator,
        server,
        _admin_dir: dir,
    }
}

fn console() -> Console {
    console_with(ServerOptions::default())
}

fn ssh(client: &Client, args: &[&str], stdin: &[u8]) -> Output {
    run(&mut client.ssh_command_t(args), stdin)
}

fn admin(client: &Client, args: &[&str]) -> Output {
    let mut words = vec!["admin"];
    words.extend_from_slice(args);
    ssh(client, &words, b"")
}

/// `admin … --json`, which must succeed.
fn admin_json(client: &Client, args: &[&str]) -> Value {
    let mut words = args.to_vec();
    words.push("--json");
    let out = admin(client, &words);
    assert!(
        out.status.success(),
        "admin {args:?} failed: {}",
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "admin {args:?} --json is not JSON ({e}): {}",
            text(&out.stdout)
        )
    })
}

/// Uploads `body` by pipe and returns the link.
fn upload(client: &Client, body: &[u8], args: &[&str]) -> String {
    let out = ssh(client, args, body);
    assert!(out.status.success(), "upload failed: {}", text(&out.stderr));
    text(&out.stdout).trim().to_owned()
}

/// `POST` the claim the way `curl -X POST` does: the key from the link's fragment.
fn claim(link: &str) -> Reply {
    let (url, key) = link.split_once('#').expect("a link with a key");
    request(&["-X", "POST", "--data-urlencode", &format!("key={key}"), url])
}

fn status_url(link: &str) -> String {
    link.split_once('#').expect("a link").0.to_owned()
}

/// Polls `admin stats --json` until `done` holds (activity is recorded off the request path).
fn stats_until(client: &Client, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let stats = admin_json(client, &["stats"]);
        if done(&stats) {
            return stats;
        }
        assert!(
            Instant::now() < deadline,
            "stats never showed {what}: {stats:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn number(value: &Value, path: &str) -> u64 {
    value
        .pointer(path)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no number at {path} in {value:#}"))
}

// ---------------------------------------------------------------------------------------------

#[test]
fn anyone_but_an_operator_gets_not_an_operator_for_every_admin_command() {
    let c = console();
    let stranger = Client::new(&c.server);
    let commands: [&[&str]; 8] = [
        &[],
        &["help"],
        &["stats"],
        &["shares", "--json"],
        &["takedown", "abcd"],
        &["ban", "127.0.0.1"],
        &["audit"],
        &["no-such-command", "--bogus"],
    ];
    for args in commands {
        let out = admin(&stranger, args);
        assert_eq!(out.status.code(), Some(1), "admin {args:?}");
        assert_eq!(text(&out.stderr), "not an operator\n", "admin {args:?}");
        assert!(
            out.stdout.is_empty(),
            "admin {args:?}: {}",
            text(&out.stdout)
        );
    }
    // A server without operators says the same to the key that is an operator elsewhere.
    let plain = TestServer::start(ServerOptions::default());
    let mut elsewhere = Client::unbound();
    elsewhere.key = c.operator.key.clone();
    elsewhere.connect_to(&plain);
    let out = admin(&elsewhere, &["stats"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "not an operator\n");
    // The operator is one.
    let out = admin(&c.operator, &["help"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("admin takedown SHARE"));
    // Nothing the strangers did is an operator action.
    assert_eq!(admin_json(&c.operator, &["audit"]), Value::Array(vec![]));
}

#[test]
fn stats_change_after_one_upload_and_one_claim() {
    let c = console();
    let sender = Client::new(&c.server);
    let before = admin_json(&c.operator, &["stats"]);
    assert_eq!(number(&before, "/shares/live"), 0);
    assert_eq!(number(&before, "/last_hour/created"), 0);
    assert_eq!(before["store"]["backend"], "embedded");
    assert_eq!(before["store"]["ok"], true);
    // The stats command itself is a live admin session.
    assert_eq!(number(&before, "/ssh/sessions/admin"), 1);

    let link = upload(&sender, b"DB_PASSWORD=hunter2\n", &[]);
    let after_upload = stats_until(&c.operator, "the upload", |s| {
        s["last_hour"]["created"] == 1
    });
    assert_eq!(number(&after_upload, "/shares/live"), 1);
    assert_eq!(number(&after_upload, "/last_day/created"), 1);
    assert_eq!(number(&after_upload, "/last_hour/bytes_in"), 20);
    assert!(number(&after_upload, "/shares/bytes_stored") > 20);

    let reply = claim(&link);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "DB_PASSWORD=hunter2\n");
    let after_claim = stats_until(&c.operator, "the claim", |s| s["last_hour"]["claimed"] == 1);
    assert_eq!(number(&after_claim, "/shares/live"), 0);
    assert_eq!(number(&after_claim, "/shares/opened"), 1);
    assert_eq!(number(&after_claim, "/shares/bytes_stored"), 0);
    assert_eq!(number(&after_claim, "/last_day/claimed"), 1);
    assert_eq!(number(&after_claim, "/last_hour/created"), 1);

    let table = text(&admin(&c.operator, &["stats"]).stdout);
    assert!(table.contains("SHARES    0 live"), "{table}");
    assert!(table.contains("claimed"), "{table}");
    assert!(table.contains("STORE     embedded ok"), "{table}");
}

#[test]
fn shares_and_top_senders_name_keys_and_addresses_never_content() {
    let c = console();
    let alice = Client::new(&c.server);
    let bob = Client::new(&c.server);
    let secret_name = "prod-db-credentials.env";
    let secret = b"SUPER_SECRET_VALUE=8c1f3e";
    let link = upload(&alice, secret, &["--", "--name", secret_name]);
    upload(&alice, b"second", &[]);
    upload(&bob, b"third!", &[]);

    let shares = admin_json(&c.operator, &["shares"]);
    let shares = shares.as_array().unwrap();
    assert_eq!(shares.len(), 3);
    assert_eq!(
        shares
            .iter()
            .filter(|s| s["owner"] == alice.fingerprint().as_str())
            .count(),
        2
    );
    assert!(shares.iter().all(|s| s["state"] == "armed"));

    let top = stats_until(&c.operator, "three uploads", |s| {
        s["last_hour"]["created"] == 3
    });
    assert_eq!(number(&top, "/last_hour/created"), 3);
    let top = admin_json(&c.operator, &["top", "--window", "1h"]);
    assert_eq!(top["by_key"][0]["sender"], alice.fingerprint().as_str());
    assert_eq!(top["by_key"][0]["shares"], 2);
    assert_eq!(top["by_key"][0]["bytes"], (secret.len() + 6) as u64);
    assert_eq!(top["by_key"][1]["sender"], bob.fingerprint().as_str());
    assert_eq!(top["by_address"][0]["sender"], "127.0.0.1");
    assert_eq!(top["by_address"][0]["shares"], 3);

    // Nothing an operator can see names, shows or unlocks a share.
    let id = status_url(&link).rsplit('/').next().unwrap().to_owned();
    let key = link.split_once('#').unwrap().1.to_owned();
    let mut everything = String::new();
    for args in [
        &["stats"][..],
        &["shares"],
        &["top"],
        &["bans"],
        &["reports", "--all"],
        &["audit"],
        &["stats", "--json"],
        &["shares", "--json"],
        &["top", "--json"],
    ] {
        let out = admin(&c.operator, args);
        assert!(
            out.status.success(),
            "admin {args:?}: {}",
            text(&out.stderr)
        );
        everything.push_str(&text(&out.stdout));
    }
    for leak in [secret_name, "SUPER_SECRET", id.as_str(), key.as_str()] {
        assert!(!everything.contains(leak), "operator output shows {leak:?}");
    }
}

#[test]
fn takedown_from_a_key_or_an_address_removes_all_of_its_live_shares_and_is_audited() {
    let c = console();
    let alice = Client::new(&c.server);
    let bob = Client::new(&c.server);
    let alice_links = [
        upload(&alice, b"spam one", &[]),
        upload(&alice, b"spam two", &[]),
    ];
    let opened = upload(&alice, b"already delivered", &[]);
    assert_eq!(claim(&opened).text(), "already delivered");
    let bob_link = upload(&bob, b"bob's", &[]);

    let out = admin(&c.operator, &["takedown", "--from", &alice.fingerprint()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.starts_with("taken down 2 shares"), "{said}");
    for link in &alice_links {
        let reply = claim(link);
        assert_eq!(reply.status, 410, "{}", reply.text());
    }
    let audit = admin_json(&c.operator, &["audit"]);
    let actions: Vec<&str> = audit
        .as_array()
        .expect("audit entries")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions
            .iter()
            .any(|a| a.starts_with("takedown --from SHA256:") && a.ends_with(": 2 shares")),
        "{actions:?}"
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| a.contains("(from SHA256:"))
            .count(),
        2,
        "each share is audited: {actions:?}"
    );

    // By address: bob's share came from the same address (this machine).
    let out = admin(&c.operator, &["takedown", "--from", "127.0.0.1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("taken down 1 share\n"));
    assert_eq!(claim(&bob_link).status, 410);
    let block = admin(&c.operator, &["takedown", "--from", "10.0.0.0/8"]);
    assert_eq!(block.status.code(), Some(1));
    assert!(text(&block.stderr).contains("--from needs a key"));
}

#[test]
fn takedown_turns_a_live_link_into_removed_by_the_operator() {
    let c = console();
    let sender = Client::new(&c.server);
    let link = upload(&sender, b"definitely-malware", &[]);
    let other = upload(&sender, b"innocent", &[]);

    // The operator pastes the whole link from an abuse mail: the key in it is never kept.
    let out = admin(&c.operator, &["takedown", &link]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.starts_with("taken down "), "{said}");

    let page = request(&[&status_url(&link)]);
    assert_eq!(page.status, 410);
    assert!(
        page.text().contains("REMOVED BY THE OPERATOR"),
        "{}",
        page.text()
    );
    let reply = claim(&link);
    assert_eq!(reply.status, 410);
    assert!(!reply.text().contains("definitely-malware"));
    // The sender's `ls` says so too; the other share is untouched.
    let ls = text(&ssh(&sender, &["ls"], b"").stdout);
    assert!(ls.contains("removed by the operator"), "{ls}");
    assert_eq!(claim(&other).text(), "innocent");

    // A second takedown is refused with the reason; a garbage target is explained.
    let again = admin(&c.operator, &["takedown", &link]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("removed by the operator"));
    let garbage = admin(&c.operator, &["takedown", "not-a-share!"]);
    assert_eq!(garbage.status.code(), Some(1));
    assert!(text(&garbage.stderr).contains("is not a share link, id or handle"));
    // A mangled link is refused without echoing the key it carries.
    let mangled = format!("{}/s/too-short#{}", c.server.http_url(), "K".repeat(43));
    let refused = admin(&c.operator, &["takedown", &mangled]);
    assert_eq!(refused.status.code(), Some(1));
    let said = text(&refused.stderr);
    assert!(said.contains("/s/too-short"), "{said}");
    assert!(!said.contains("KKKK"), "{said}");

    let key = link.split_once('#').unwrap().1;
    let audit = text(&admin(&c.operator, &["audit", "--json"]).stdout);
    for secret in [key, "KKKK"] {
        assert!(!audit.contains(secret), "the audit log holds a link key");
        assert!(
            !c.server.log().contains(secret),
            "the server log holds a link key"
        );
    }
}

/// Every byte but unreserved ones as `%XX`, as some mail clients encode a whole link.
fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn takedown_recognises_links_as_abuse_mail_mangles_them_and_never_keeps_their_key() {
    let c = console();
    let sender = Client::new(&c.server);
    type Mangle = fn(&str, &str) -> String;
    let mangle: [(&str, Mangle); 5] = [
        ("%23 for #", |url, key| format!("{url}%23{key}")),
        ("encoded twice", |url, key| format!("{url}%2523{key}")),
        ("percent-encoded whole", |url, key| {
            percent(&format!("{url}#{key}"))
        }),
        ("Safe Links", |url, key| {
            format!(
                "https://eur01.safelinks.protection.outlook.com/?url={}&data=05%7C02&reserved=0",
                percent(&format!("{url}#{key}"))
            )
        }),
        ("URL Defense v3", |url, key| {
            format!("https://urldefense.com/v3/__{url}*{key}__;Iw!!AbC!dEf$")
        }),
    ];
    let mut keys = Vec::new();
    for (form, mangled) in mangle {
        let link = upload(&sender, b"definitely-malware", &[]);
        let (url, key) = link.split_once('#').unwrap();
        keys.push(key.to_owned());
        let pasted = mangled(url, key);
        let out = admin(&c.operator, &["takedown", &pasted]);
        assert!(out.status.success(), "{form}: {}", text(&out.stderr));
        assert_eq!(
            request(&[url]).status,
            410,
            "{form}: the share is still live"
        );
        assert!(!text(&out.stdout).contains(key) && !text(&out.stderr).contains(key));
    }

    // Forms that name no share are refused without echoing what may be a key.
    let secret = "S3cr3tK3y".repeat(5);
    let base = c.server.http_url();
    for bad in [
        format!("{base}/s/too-short%23{secret}"),
        format!("{base}/s/too-short%2523{secret}"),
        format!("{base}/s/too-short*{secret}"),
        format!("{base}/s/too-short{secret}"),
        percent(&format!("{base}/s/too-short#{secret}")),
    ] {
        let refused = admin(&c.operator, &["takedown", &bad]);
        assert_eq!(refused.status.code(), Some(1), "{bad}");
        let said = text(&refused.stderr);
        assert!(said.contains("is not a share link"), "{said}");
        assert!(!said.contains("S3cr3t"), "{said}");
        let refused = admin(&c.operator, &["ban", &bad]);
        assert_eq!(refused.status.code(), Some(1), "{bad}");
        assert!(
            !text(&refused.stderr).contains("S3cr3t"),
            "{}",
            text(&refused.stderr)
        );
    }

    let audit = text(&admin(&c.operator, &["audit", "--json", "--limit", "100"]).stdout);
    for secret in keys.iter().map(String::as_str).chain([secret.as_str()]) {
        assert!(
            !audit.contains(&secret[..12]),
            "the audit log holds a link key: {audit}"
        );
        assert!(
            !c.server.log().contains(&secret[..12]),
            "the server log holds a link key"
        );
    }
}

#[test]
fn a_key_ban_refuses_that_keys_uploads_and_logins_until_lifted_and_survives_a_restart() {
    let data = temp_dir();
    let options = ServerOptions {
        data_dir: Some(data.path().join("data")),
        ..ServerOptions::default()
    };
    let c = console_with(options.clone());
    let banned = Client::new(&c.server);
    let bystander = Client::new(&c.server);
    upload(&banned, b"before the ban", &[]);

    let out = admin(&c.operator, &["ban", &banned.fingerprint(), "--for", "2h"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(&banned.fingerprint()));

    let refused = ssh(&banned, &[], b"after the ban");
    assert_eq!(refused.status.code(), Some(1));
    assert!(refused.stdout.is_empty());
    let message = text(&refused.stderr);
    assert!(
        message.contains("this SSH key is banned by the operator of this service until"),
        "{message}"
    );
    // Logging in to the screen is refused with the same words.
    let login = run(&mut banned.ssh_command_tty(&[]), b"");
    assert_eq!(login.status.code(), Some(1));
    let said = format!("{}{}", text(&login.stdout), text(&login.stderr));
    assert!(
        said.contains("this SSH key is banned by the operator"),
        "{said}"
    );
    // Other keys are not affected.
    upload(&bystander, b"still fine", &[]);

    // The ban survives a restart of the server (it is in the store, not in memory).
    let status = c.server.terminate();
    assert!(status.success());
    let restarted = TestServer::start(ServerOptions {
        args: vec!["--admin-keys".into(), admin_file(&c.operator).1],
        ..options
    });
    let mut banned = banned;
    banned.connect_to(&restarted);
    let mut operator = c.operator;
    operator.connect_to(&restarted);
    let refused = ssh(&banned, &[], b"after the restart");
    assert_eq!(refused.status.code(), Some(1));
    let bans = admin_json(&operator, &["bans"]);
    assert_eq!(bans[0]["target"], banned.fingerprint().as_str());

    let out = admin(&operator, &["unban", &banned.fingerprint()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    upload(&banned, b"after the unban", &[]);
    assert_eq!(admin_json(&operator, &["bans"]), Value::Array(vec![]));
}

#[test]
fn an_address_ban_refuses_every_key_from_it_but_never_locks_the_operator_out() {
    let c = console();
    let alice = Client::new(&c.server);
    let bob = Client::new(&c.server);
    let out = admin(&c.operator, &["ban", "127.0.0.0/8"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    for client in [&alice, &bob] {
        let refused = ssh(client, &[], b"x");
        assert_eq!(refused.status.code(), Some(1));
        assert_eq!(
            text(&refused.stderr),
            "connections from your address (127.0.0.0/8) are banned by the operator of this service\n"
        );
    }
    // The operator shares that address and can still lift the ban.
    let out = admin(&c.operator, &["unban", "127.0.0.1/8"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    upload(&alice, b"welcome back", &[]);

    // Operators cannot be banned by key either.
    let quoted = format!("'{}'", c.operator.public_key().trim());
    let out = admin(&c.operator, &["ban", &quoted]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("operators cannot be banned"));
}

#[test]
fn a_report_filed_over_http_appears_in_admin_reports_and_can_be_acted_on() {
    let c = console();
    let sender = Client::new(&c.server);
    let link = upload(&sender, b"phishing kit", &[]);
    let innocent = upload(&sender, b"fine", &[]);
    let report_url = format!("{}/report", status_url(&link));

    // The status page carries the form (and never the key).
    let page = request(&[&status_url(&link)]);
    assert!(page.text().contains("REPORT ABUSE"));
    let id = status_url(&link).rsplit('/').next().unwrap().to_owned();
    assert!(page.text().contains(&format!("action=\"/s/{id}/report\"")));
    assert!(!page.text().contains(link.split_once('#').unwrap().1));

    let filed = request(&[
        "-X",
        "POST",
        "-H",
        "Accept: text/html",
        "--data-urlencode",
        "reason=phishing",
        "--data-urlencode",
        "details=fake bank login\x1b[2J page",
        &report_url,
    ]);
    assert_eq!(filed.status, 202, "{}", filed.text());
    assert!(
        filed.text().contains("REPORT #1 RECEIVED"),
        "{}",
        filed.text()
    );
    let bad = request(&["-X", "POST", "-d", "reason=boredom", &report_url]);
    assert_eq!(bad.status, 400);
    let missing = request(&[
        "-X",
        "POST",
        "-d",
        "reason=spam",
        &format!("{}/s/AAAAAAAAAAAAAAAA/report", c.server.http_url()),
    ]);
    assert_eq!(missing.status, 404);
    let second = request(&[
        "-X",
        "POST",
        "-d",
        "reason=spam",
        &format!("{}/report", status_url(&innocent)),
    ]);
    assert_eq!(second.status, 202);

    let reports = admin_json(&c.operator, &["reports"]);
    let reports = reports.as_array().unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0]["number"], 1);
    assert_eq!(reports[0]["reason"], "phishing");
    assert_eq!(reports[0]["details"], "fake bank login [2J page");
    assert_eq!(reports[0]["reporter"], "127.0.0.1");
    let handle = reports[0]["share"].as_str().unwrap().to_owned();
    let table = text(&admin(&c.operator, &["reports"]).stdout);
    assert!(
        table.contains(&handle) && table.contains("phishing"),
        "{table}"
    );
    assert!(!table.contains('\x1b'));

    // Rate limited: the burst is spent, the next report is refused.
    let limited = (0..3)
        .map(|_| request(&["-X", "POST", "-d", "reason=spam", &report_url]).status)
        .collect::<Vec<_>>();
    assert!(limited.contains(&429), "{limited:?}");
    let reports_now = admin_json(&c.operator, &["reports"])
        .as_array()
        .unwrap()
        .len();
    assert!(reports_now <= 3, "{reports_now} reports after the limit");

    // Acting: takedown by the reported handle resolves the report; dismiss closes another.
    let out = admin(&c.operator, &["takedown", &handle]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(request(&[&status_url(&link)]).status, 410);
    let out = admin(&c.operator, &["dismiss", "2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let open = admin_json(&c.operator, &["reports"]);
    assert!(
        open.as_array()
            .unwrap()
            .iter()
            .all(|r| r["number"] != 1 && r["number"] != 2)
    );
    let all = admin_json(&c.operator, &["reports", "--all"]);
    let first = all
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["number"] == 1)
        .unwrap();
    assert_eq!(first["resolution"]["action"], "taken down");
    assert_eq!(first["resolution"]["by"], c.operator.fingerprint().as_str());
    // The reported share itself was never opened by reporting.
    assert_eq!(claim(&innocent).text(), "fine");
}

#[test]
fn the_audit_log_lists_each_operator_action_with_who_and_outcome() {
    let c = console();
    let sender = Client::new(&c.server);
    let link = upload(&sender, b"x", &[]);
    for args in [
        vec!["ban", "192.0.2.0/24", "--for", "1h"],
        vec!["unban", "192.0.2.0/24"],
        vec!["unban", "192.0.2.0/24"],
        vec!["takedown", link.as_str()],
        vec!["dismiss", "7"],
    ] {
        admin(&c.operator, &args);
    }
    let audit = admin_json(&c.operator, &["audit"]);
    let entries = audit.as_array().unwrap();
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    let handle = &actions[1].0["takedown ".len()..];
    assert_eq!(handle.len(), 10, "{actions:?}");
    assert_eq!(
        actions,
        [
            ("dismiss report 7", "no open report number 7"),
            (format!("takedown {handle}").as_str(), "ok"),
            ("unban 192.0.2.0/24", "no ban on 192.0.2.0/24"),
            ("unban 192.0.2.0/24", "ok"),
            ("ban 192.0.2.0/24 for 1h", "ok"),
        ]
    );
    assert!(
        entries
            .iter()
            .all(|e| e["by"] == c.operator.fingerprint().as_str())
    );
    let table = text(&admin(&c.operator, &["audit", "--limit", "2"]).stdout);
    assert_eq!(table.lines().count(), 3, "{table}");
}

#[test]
fn instances_sharing_redis_show_one_console_and_enforce_one_ban_list() {
    let redis = RedisServer::start();
    let options = ServerOptions {
        redis_url: Some(redis.url()),
        ..ServerOptions::default()
    };
    let a = console_with(options.clone());
    let b = TestServer::start(ServerOptions {
        args: vec!["--admin-keys".into(), admin_file(&a.operator).1],
        ..options
    });
    let mut operator_b = Client::unbound();
    operator_b.key = a.operator.key.clone();
    operator_b.connect_to(&b);
    let sender_b = Client::new(&b);
    let sender_a = {
        let mut s = Client::unbound();
        s.key = sender_b.key.clone();
        s.connect_to(&a.server);
        s
    };

    // An upload on A shows in B's stats; B's stats count both instances.
    upload(&sender_a, b"on instance a", &[]);
    let stats = stats_until(&operator_b, "the upload on the other instance", |s| {
        s["last_hour"]["created"] == 1
    });
    assert_eq!(number(&stats, "/shares/live"), 1);
    assert_eq!(stats["store"]["backend"], "redis");
    let stats = stats_until(&operator_b, "both instances", |s| {
        s["ssh"]["instances"] == 2
    });
    assert_eq!(number(&stats, "/ssh/instances"), 2);

    // A ban placed on A refuses the same key on B at once.
    let out = admin(&a.operator, &["ban", &sender_b.fingerprint()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let refused = ssh(&sender_b, &[], b"on instance b");
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("banned by the operator"));
    // ...and B's audit log shows A's action.
    let audit = admin_json(&operator_b, &["audit"]);
    assert_eq!(
        audit[0]["action"],
        format!("ban {}", sender_b.fingerprint())
    );
}

#[test]
fn a_public_key_line_passed_as_one_argument_bans_and_unbans_that_key() {
    let c = console();
    let banned = Client::new(&c.server);
    // `ssh HOST admin ban "$(cat key.pub)"`: OpenSSH joins the remote words with spaces, so
    // the server receives the key line as three words.
    let line = banned.public_key().trim().to_owned();
    let out = admin(&c.operator, &["ban", &line]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&banned.fingerprint()),
        "{}",
        text(&out.stdout)
    );
    let refused = ssh(&banned, &[], b"after the ban");
    assert_eq!(refused.status.code(), Some(1));
    let out = admin(&c.operator, &["unban", &line]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    upload(&banned, b"after the unban", &[]);
}
