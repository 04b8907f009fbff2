//! `acumatica-sim`: run the Acumatica simulator from the command line.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;

/// A simulated Acumatica ERP instance for demos, development and tests.
#[derive(Debug, Parser)]
#[command(name = "acumatica-sim", version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Data size (1 ≈ 1,000 sales orders with ≈ 10,000 lines).
    #[arg(long, default_value_t = 1)]
    scale: u32,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Tenant (company) login name.
    #[arg(long, default_value = "Company")]
    tenant: String,
    /// User name accepted at sign-in.
    #[arg(long, default_value = "admin")]
    user: String,
    /// Password accepted at sign-in.
    #[arg(long, default_value = "demo")]
    password: String,
    /// Concurrent API sessions allowed (the licence's API user limit).
    #[arg(long, default_value_t = 8)]
    max_sessions: usize,
    /// Latency added to every data request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Latency added per record served, in microseconds.
    #[arg(long, default_value_t = 0)]
    latency_per_row_us: u64,
    /// Idle API sessions are closed after this many seconds.
    #[arg(long, default_value_t = 600)]
    idle_timeout_secs: u64,
    /// Concurrent API requests processed ("API processing cores"; 0 = no limit).
    #[arg(long, default_value_t = 0)]
    max_concurrent_requests: usize,
    /// API requests per minute allowed by the licence (0 = no limit).
    #[arg(long, default_value_t = 0)]
    requests_per_minute: u32,
    /// Fraction of data requests answered 429.
    #[arg(long, default_value_t = 0.0)]
    fault_429: f64,
    /// Fraction of data requests answered 503.
    #[arg(long, default_value_t = 0.0)]
    fault_5xx: f64,
    /// Fraction of data requests whose connection drops mid-body.
    #[arg(long, default_value_t = 0.0)]
    fault_drop: f64,
    /// Fraction of data requests whose session expires first (401).
    #[arg(long, default_value_t = 0.0)]
    fault_expire: f64,
    /// OAuth client id of the connected application (`GUID@Tenant`).
    #[arg(long)]
    client_id: Option<String>,
    /// OAuth client secret of the connected application.
    #[arg(long)]
    client_secret: Option<String>,
    /// Lifetime of OAuth access tokens, in seconds.
    #[arg(long, default_value_t = 3600)]
    token_lifetime_secs: u64,
    /// OAuth flows the connected application allows (comma-separated: code, implicit,
    /// password; default all).
    #[arg(long, value_delimiter = ',', value_parser = ["code", "implicit", "password"])]
    flows: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut oauth = acumatica_sim::OAuthApp {
        token_lifetime: Duration::from_secs(args.token_lifetime_secs),
        ..Default::default()
    };
    if !args.flows.is_empty() {
        oauth.flows = args
            .flows
            .iter()
            .map(|f| match f.as_str() {
                "implicit" => acumatica_sim::OAuthFlow::Implicit,
                "password" => acumatica_sim::OAuthFlow::Password,
                _ => acumatica_sim::OAuthFlow::AuthorizationCode,
            })
            .collect();
    }
    if let Some(id) = &args.client_id {
        oauth.client_id = id.clone();
    }
    if let Some(s) = &args.client_secret {
        oauth.client_secret = s.clone();
    }
    let (client_id, client_secret) = (oauth.client_id.clone(), oauth.client_secret.clone());
    let sim = acumatica_sim::start(acumatica_sim::SimConfig {
        listen: args.listen,
        scale: args.scale,
        seed: args.seed,
        tenant: args.tenant.clone(),
        user: args.user.clone(),
        password: args.password.clone(),
        max_sessions: args.max_sessions,
        latency: Duration::from_millis(args.latency_ms),
        latency_per_row: Duration::from_micros(args.latency_per_row_us),
        idle_timeout: Duration::from_secs(args.idle_timeout_secs),
        max_concurrent_requests: args.max_concurrent_requests,
        requests_per_minute: args.requests_per_minute,
        faults: acumatica_sim::Faults {
            rate_429: args.fault_429,
            rate_5xx: args.fault_5xx,
            rate_drop: args.fault_drop,
            rate_expire: args.fault_expire,
        },
        oauth,
    })
    .await?;
    println!("Acumatica simulator listening on {}", sim.base_url());
    println!(
        "  REST endpoint: {}/entity/Default/24.200.001/ (also 23.200.001)",
        sim.base_url()
    );
    println!(
        "  sign in: POST {}/entity/auth/login {{\"name\":\"{}\",\"password\":\"{}\",\"tenant\":\"{}\"}}",
        sim.base_url(),
        args.user,
        args.password,
        args.tenant
    );
    println!(
        "  OAuth: {}/identity/connect/{{authorize,token}} client_id={client_id} client_secret={client_secret} (loopback redirect URIs)",
        sim.base_url()
    );
    println!("  counters: {}/_sim/stats", sim.base_url());
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
