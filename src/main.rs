//! `onetimeshare`: parse arguments, set up logging, resolve settings, run until SIGINT/SIGTERM.

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use onetimeshare::app::App;
use onetimeshare::config::{Layer, Settings};

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
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
    /// Exit 0 if the server configured by the same settings answers /healthz with 200
    /// (for container HEALTHCHECKs).
    Healthcheck(ServeArgs),
}

#[derive(clap::Args, Default)]
struct ServeArgs {
    /// TOML config file; its keys are the long flag names
    #[arg(long, env = "ONETIMESHARE_CONFIG", value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    #[command(flatten)]
    layer: Layer,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let (args, healthcheck) = match cli.command {
        Some(Command::Serve(args)) => (args, false),
        Some(Command::Healthcheck(args)) => (args, true),
        None => (cli.serve, false),
    };
    let file = match &args.config {
        Some(path) => Layer::from_toml_file(path)?,
        None => Layer::default(),
    };
    let settings = Settings::resolve(args.layer.over(file))?;
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
