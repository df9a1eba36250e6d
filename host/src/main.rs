//! `hookhost`: run the server, or talk to one.

use clap::Parser;
use hookhost::cli::{Cli, Command, LogFormat, run_client};
use hookhost::server::{self, TokenSource};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc malloc: per-request allocations (HTTP, JSON,
/// wasmtime stores) cost ~13% of ingress CPU with glibc; see bench/RESULTS.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    hookhost::delivery::http::install_tls();
    match cli.command {
        Command::Serve(args) => {
            let filter =
                EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
            // Logs on stderr; stdout carries only the start-up banner.
            let log = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr);
            match args.log_format {
                LogFormat::Text => log
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                    .init(),
                LogFormat::Json => log.json().with_current_span(true).init(),
            }
            let data_dir = args.data_dir.clone();
            let config = match args.into_config(cli.client.token.clone()) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("hookhost: {e}");
                    return ExitCode::from(2);
                }
            };
            let running = match server::start(config).await {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("hookhost: cannot start: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match running.token_source {
                TokenSource::Generated => println!(
                    "Generated admin token (stored in {}; shown only now):\n  {}",
                    data_dir.join(hookhost::config::ADMIN_TOKEN_FILE).display(),
                    running.admin_token
                ),
                TokenSource::Stored => println!(
                    "Admin token: stored in {}",
                    data_dir.join(hookhost::config::ADMIN_TOKEN_FILE).display()
                ),
                TokenSource::Configured => println!("Admin token: from HOOKHOST_ADMIN_TOKEN"),
            }
            println!(
                "hookhost listening on http://{} (webhook URLs: {}/hooks/...)",
                running.addr, running.public_url
            );
            match running.run_until_signal().await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("hookhost: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Transform(args) => match hookhost::cli::transform::transform(args).await {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        Command::Run(args) => match hookhost::cli::run::run(args).await {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        Command::Migrate(args) => {
            let Some(url) = args.database_url else {
                eprintln!(
                    "hookhost migrate: the sled store needs no migrations; pass --database-url"
                );
                return ExitCode::from(2);
            };
            match hookhost::store::Postgres::connect(&url, args.database_schema.as_deref()).await {
                Ok(_) => {
                    println!("schema is up to date");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("hookhost migrate: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Export(args) => match hookhost::cli::transfer::export(args).await {
            Ok(n) => {
                eprintln!("exported {n} records");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("hookhost export: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Import(args) => match hookhost::cli::transfer::import(args).await {
            Ok(n) => {
                eprintln!("imported {n} records");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("hookhost import: {e}");
                ExitCode::FAILURE
            }
        },
        command => match run_client(&cli.client, command).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
