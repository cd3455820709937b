//! `onetimeshare`: parse arguments, set up logging, resolve settings, run until SIGINT/SIGTERM.

use anyhow::Context as _;
use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

use onetimeshare::app::App;
use onetimeshare::config::{Effective, SettingsArgs, catalog};

#[derive(Parser)]
#[command(
    name = "onetimeshare",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: SettingsArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve(SettingsArgs),
    /// Exit 0 if the server configured by the same settings answers /healthz with 200
    /// (for container HEALTHCHECKs).
    Healthcheck(SettingsArgs),
    /// Inspect the configuration without starting anything.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Resolve the settings exactly as `serve` would and print each effective value with its
    /// source (default, file, env, flag), secrets redacted; exit non-zero if they are invalid.
    Check(Box<SettingsArgs>),
    /// Print every setting (flag, environment variable, TOML key, default, meaning) as the
    /// Markdown table the README carries.
    Table,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let matches = command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let (args, healthcheck) = match cli.command {
        Some(Command::Serve(args)) => (args, false),
        Some(Command::Healthcheck(args)) => (args, true),
        Some(Command::Config(ConfigCommand::Check(args))) => {
            let matches = matches
                .subcommand_matches("config")
                .and_then(|m| m.subcommand_matches("check"))
                .context("clap parsed `config check` without its matches")?;
            let (_, effective) = Effective::check(&args, matches)?;
            print!("{effective}");
            return Ok(());
        }
        Some(Command::Config(ConfigCommand::Table)) => {
            print!("{}", catalog::markdown_table());
            return Ok(());
        }
        None => (cli.serve, false),
    };
    let settings = args.resolve()?;
    if healthcheck {
        let addr = onetimeshare::http::probe_addr(settings.http_addr);
        let tls = settings.http.tls.is_some();
        onetimeshare::http::probe(addr, tls, std::time::Duration::from_secs(5)).await?;
        println!("healthy: {addr}");
        return Ok(());
    }
    onetimeshare::telemetry::init(settings.log_format);
    let app = App::build(settings).await.context("could not start")?;
    // Listen for signals before "ready" is logged: a SIGTERM right after it must drain, not kill.
    let signal = shutdown_signal().context("cannot listen for shutdown signals")?;
    app.run_until(signal).await;
    Ok(())
}

/// The command line, with environment values kept out of `--help` (clap would print
/// `[env: ONETIMESHARE_REDIS_URL=redis://:password@…]`; `config check` shows them redacted).
fn command() -> clap::Command {
    fn hide_env_values(command: clap::Command) -> clap::Command {
        command
            .mut_args(|arg| arg.hide_env_values(true))
            .mut_subcommands(hide_env_values)
    }
    hide_env_values(Cli::command())
}

/// Resolves on the first SIGTERM or SIGINT. The handlers are installed when this is called
/// (not when the future is first polled).
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = interrupt.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
