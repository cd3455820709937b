//! The binary as an operator runs it: starts on an empty data dir, stops cleanly on SIGTERM.

use crate::support;
use crate::support::{ServerOptions, TestServer};

#[test]
fn the_server_starts_on_a_fresh_data_dir_and_stops_cleanly_on_sigterm() {
    let server = TestServer::start(ServerOptions::default());
    assert!(server.data_dir().join("shares.redb").is_file());
    assert!(server.data_dir().join("blobs").is_dir());
    let status = server.terminate();
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn healthcheck_reports_a_running_server_healthy_and_a_stopped_one_not() {
    let server = TestServer::start(ServerOptions::default());
    let addr = server.http_addr.to_string();
    let check = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_onetimeshare"))
            .args(["healthcheck", "--http-addr", &addr])
            .output()
            .unwrap()
    };
    let healthy = check();
    assert!(healthy.status.success(), "{healthy:?}");
    assert!(String::from_utf8_lossy(&healthy.stdout).contains("healthy"));
    assert!(server.terminate().success());
    let down = check();
    assert!(!down.status.success());
    assert!(
        String::from_utf8_lossy(&down.stderr).contains("cannot connect"),
        "{down:?}"
    );
}

#[test]
fn a_bad_setting_is_refused_with_a_readable_message() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_onetimeshare"))
        .args(["serve", "--max-size", "lots"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("max-size") && stderr.contains("lots"),
        "{stderr}"
    );
}

#[test]
fn an_operator_theme_colours_the_web_pages() {
    let dir = support::temp_dir();
    let theme = dir.path().join("calm.toml");
    let builtin = include_str!("../../themes/industrial-urgency.toml");
    std::fs::write(&theme, builtin.replace("#ff5f15", "#3366ff")).unwrap();
    let server = TestServer::start(ServerOptions {
        args: vec!["--theme".into(), theme.display().to_string()],
        ..ServerOptions::default()
    });
    let curl = support::require_tool("curl", "curl");
    let css = std::process::Command::new(curl)
        .args(["-fsS", &format!("{}/static/app.css", server.http_url())])
        .output()
        .unwrap();
    assert!(css.status.success(), "{css:?}");
    let css = String::from_utf8_lossy(&css.stdout);
    assert!(css.contains("--accent:#3366ff;"), "{css}");
    assert!(!css.contains("#ff5f15"), "the built-in accent is gone");
}
