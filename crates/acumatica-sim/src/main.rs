//! `acumatica-sim`: run the Acumatica simulator from the command line.

use std::net::SocketAddr;

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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let sim = acumatica_sim::start(acumatica_sim::SimConfig {
        listen: args.listen,
        scale: args.scale,
        seed: args.seed,
        tenant: args.tenant.clone(),
        user: args.user.clone(),
        password: args.password.clone(),
        max_sessions: args.max_sessions,
        latency: std::time::Duration::from_millis(args.latency_ms),
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
    println!("  counters: {}/_sim/stats", sim.base_url());
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
