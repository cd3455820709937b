//! Configuration as an operator meets it, through the real binary: precedence (default < file <
//! env < flag) in `config check` and on a running server, the same refusal from `config check`
//! and `serve`, secrets kept out of every output, and the README's settings table matching the
//! code (`UPDATE_DOCS=1` rewrites it).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support;
use crate::support::{ServerOptions, TestServer};

const TABLE_BEGIN: &str =
    "<!-- settings table: generated from the code by `onetimeshare config table` -->";
const TABLE_END: &str = "<!-- end of settings table -->";

struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs the binary with `env` as its only `ONETIMESHARE_*` variables; kills it after 20 s.
fn onetimeshare(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_onetimeshare"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ONETIMESHARE_") {
            command.env_remove(key);
        }
    }
    let mut child = command
        .env_remove("RUST_BACKTRACE")
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run the onetimeshare binary");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    Run {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `config check`'s report: setting → (value, source).
fn report(stdout: &str) -> BTreeMap<String, (String, String)> {
    stdout
        .lines()
        .skip(1)
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let (name, rest) = words.split_first().expect("a setting name");
            let (source, value) = rest.split_last().expect("a value and a source");
            (name.to_string(), (value.join(" "), source.to_string()))
        })
        .collect()
}

fn pair(value: &str, source: &str) -> (String, String) {
    (value.to_owned(), source.to_owned())
}

#[test]
fn config_check_takes_each_setting_from_the_highest_layer_that_sets_it() {
    let dir = support::temp_dir();
    let file = dir.path().join("onetimeshare.toml");
    std::fs::write(
        &file,
        "default-ttl = \"2h\"\nmax-size = \"1MiB\"\nmax-attempts = 3\n",
    )
    .unwrap();
    let file = file.display().to_string();

    let run = onetimeshare(
        &["config", "check", "--max-attempts", "6"],
        &[
            ("ONETIMESHARE_CONFIG", &file),
            ("ONETIMESHARE_MAX_SIZE", "2MiB"),
            ("ONETIMESHARE_MAX_ATTEMPTS", "4"),
        ],
    );

    assert!(run.success, "{}", run.stderr);
    let settings = report(&run.stdout);
    assert_eq!(settings["config"], pair(&file, "env"));
    assert_eq!(settings["max-ttl"], pair("7d", "default"));
    assert_eq!(settings["default-ttl"], pair("2h", "file"));
    assert_eq!(settings["max-size"], pair("2MiB", "env"));
    assert_eq!(settings["max-attempts"], pair("6", "flag"));
    assert_eq!(
        settings["ssh-host-key"],
        pair("(ssh_host_ed25519_key in the data dir)", "default")
    );
}

#[test]
fn an_invalid_configuration_fails_config_check_and_serve_with_the_same_message() {
    let dir = support::temp_dir();
    let file = dir.path().join("onetimeshare.toml");
    let data = dir.path().join("data").display().to_string();
    for (contents, expected) in [
        (
            "default-ttl = \"30d\"\n",
            "default-ttl (30d) is longer than max-ttl",
        ),
        ("max_size = \"1MiB\"\n", "unknown field `max_size`"),
    ] {
        std::fs::write(&file, contents).unwrap();
        let file = file.display().to_string();

        let check = onetimeshare(&["config", "check", "--config", &file], &[]);
        let serve = onetimeshare(
            &[
                "serve",
                "--config",
                &file,
                "--data-dir",
                &data,
                "--ssh-addr",
                "127.0.0.1:0",
                "--http-addr",
                "127.0.0.1:0",
            ],
            &[],
        );

        assert!(
            !check.success && check.stdout.is_empty(),
            "{}",
            check.stdout
        );
        assert!(check.stderr.contains(expected), "{}", check.stderr);
        assert!(!serve.success);
        assert_eq!(serve.stderr.lines().next(), check.stderr.lines().next());
    }
}

#[test]
fn a_redis_password_is_shown_neither_by_config_check_nor_by_help() {
    let env = [(
        "ONETIMESHARE_REDIS_URL",
        "redis://app:hunter2@redis.internal:6379/",
    )];

    let check = onetimeshare(&["config", "check"], &env);

    assert!(check.success, "{}", check.stderr);
    assert_eq!(
        report(&check.stdout)["redis-url"],
        pair("redis://app:***@redis.internal:6379/", "env")
    );
    assert!(!check.stdout.contains("hunter2"));
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["healthcheck", "--help"],
        &["config", "check", "--help"],
    ] {
        let help = onetimeshare(args, &env);
        assert!(help.success, "{args:?}: {}", help.stderr);
        assert!(help.stdout.contains("ONETIMESHARE_REDIS_URL"), "{args:?}");
        assert!(
            !help.stdout.contains("hunter2"),
            "{args:?}: {}",
            help.stdout
        );
    }
}

#[test]
fn a_redis_password_in_the_query_of_a_unix_socket_url_is_not_shown_by_config_check() {
    let url = "redis+unix:///run/redis/redis.sock?db=1&pass=hunter2";

    let check = onetimeshare(&["config", "check", "--redis-url", url], &[]);

    assert!(check.success, "{}", check.stderr);
    assert_eq!(
        report(&check.stdout)["redis-url"],
        pair("redis+unix:///run/redis/redis.sock?db=1&pass=***", "flag")
    );
    assert!(!check.stdout.contains("hunter2"), "{}", check.stdout);
}

#[test]
fn an_expiry_shorter_than_a_minute_is_refused_by_config_check() {
    for (args, minimum) in [
        (&["--default-ttl", "0"][..], "at least 1m"),
        (&["--default-ttl", "30s"], "at least 1m"),
        (&["--max-ttl", "0"], "at least 1m"),
        (&["--min-ttl", "0"], "at least 1s"),
        (&["--min-ttl", "1h", "--default-ttl", "30m"], "at least 1h"),
    ] {
        let mut all = vec!["config", "check"];
        all.extend_from_slice(args);

        let check = onetimeshare(&all, &[]);

        assert!(!check.success, "{args:?} was accepted: {}", check.stdout);
        let setting = args[args.len() - 2].trim_start_matches("--");
        assert!(
            check.stderr.contains(setting) && check.stderr.contains(minimum),
            "{args:?}: {}",
            check.stderr
        );
    }
}

/// The accent colour of a running server's stylesheet.
fn served_accent(server: &TestServer) -> String {
    let curl = support::require_tool("curl", "curl");
    let css = Command::new(curl)
        .args(["-fsS", &format!("{}/static/app.css", server.http_url())])
        .output()
        .unwrap();
    assert!(css.status.success(), "{css:?}");
    let css = String::from_utf8_lossy(&css.stdout);
    let start = css.find("--accent:").expect("an --accent variable") + "--accent:".len();
    css[start..].split(';').next().unwrap().to_owned()
}

#[test]
fn a_running_server_takes_each_setting_from_the_highest_layer_that_sets_it() {
    let dir = support::temp_dir();
    let builtin = include_str!("../../themes/industrial-urgency.toml");
    let theme = |name: &str, accent: &str| {
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, builtin.replace("#ff5f15", accent)).unwrap();
        path.display().to_string()
    };
    let (in_file, in_env, in_flag) = (
        theme("file", "#111111"),
        theme("env", "#222222"),
        theme("flag", "#333333"),
    );
    let file = dir.path().join("onetimeshare.toml");
    std::fs::write(
        &file,
        format!("theme = {in_file:?}\npublic-url = \"https://file.example\"\n"),
    )
    .unwrap();
    let config = vec!["--config".to_owned(), file.display().to_string()];
    let env = vec![
        ("ONETIMESHARE_THEME".to_owned(), in_env.clone()),
        (
            "ONETIMESHARE_PUBLIC_URL".to_owned(),
            "https://env.example".to_owned(),
        ),
    ];

    let default = TestServer::start(ServerOptions::default());
    assert_eq!(served_accent(&default), "#ff5f15");
    drop(default);

    let from_file = TestServer::start(ServerOptions {
        args: config.clone(),
        ..ServerOptions::default()
    });
    assert_eq!(served_accent(&from_file), "#111111");
    drop(from_file);

    let from_env = TestServer::start(ServerOptions {
        args: config.clone(),
        env: env.clone(),
        ..ServerOptions::default()
    });
    assert_eq!(served_accent(&from_env), "#222222");
    drop(from_env);

    let from_flag = TestServer::start(ServerOptions {
        args: [config, vec!["--theme".into(), in_flag]].concat(),
        env,
        ..ServerOptions::default()
    });
    assert_eq!(served_accent(&from_flag), "#333333");
    // The harness gives --public-url as a flag: it beats the file's and the environment's, and
    // the home page tells senders to ssh to its host.
    let curl = support::require_tool("curl", "curl");
    let home = Command::new(curl)
        .args(["-fsS", &format!("{}/", from_flag.http_url())])
        .output()
        .unwrap();
    let home = String::from_utf8_lossy(&home.stdout);
    let ssh = format!("ssh -p {} 127.0.0.1", from_flag.ssh_addr.port());
    assert!(home.contains(&ssh), "{home}");
    assert!(!home.contains("env.example") && !home.contains("file.example"));
}

#[test]
fn the_readme_settings_table_is_the_one_the_code_generates() {
    let generated = onetimeshare(&["config", "table"], &[]);
    assert!(generated.success, "{}", generated.stderr);
    let table = generated.stdout;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (before, rest) = readme
        .split_once(TABLE_BEGIN)
        .unwrap_or_else(|| panic!("README.md has no line {TABLE_BEGIN}"));
    let (committed, after) = rest
        .split_once(TABLE_END)
        .unwrap_or_else(|| panic!("README.md has no line {TABLE_END} after the table"));
    let committed = committed.trim_start_matches('\n');
    if committed == table {
        return;
    }
    if std::env::var_os("UPDATE_DOCS").is_some() {
        let updated = format!("{before}{TABLE_BEGIN}\n{table}{TABLE_END}{after}");
        std::fs::write(&path, updated).unwrap();
        eprintln!("README.md: settings table regenerated");
        return;
    }
    let committed_rows: Vec<&str> = committed.lines().collect();
    let generated_rows: Vec<&str> = table.lines().collect();
    let mut diff = String::new();
    for row in &committed_rows {
        if !generated_rows.contains(row) {
            diff.push_str(&format!("- {row}\n"));
        }
    }
    for row in &generated_rows {
        if !committed_rows.contains(row) {
            diff.push_str(&format!("+ {row}\n"));
        }
    }
    if diff.is_empty() {
        diff.push_str("(same rows, another order)\n");
    }
    panic!(
        "README.md's settings table differs from the code (- README, + code):\n{diff}\n\
         Regenerate it: UPDATE_DOCS=1 cargo nextest run --test e2e config::the_readme \
         (or UPDATE_DOCS=1 cargo test --test e2e config::the_readme)"
    );
}
