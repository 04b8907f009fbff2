//! A flaky server: 429 storms, 503s, dropped connections and expired sessions during full
//! scans, and still exactly the right rows.

use acumatica_datafusion::AcumaticaOptions;
use acumatica_sim::{Faults, SimConfig};

use crate::support::{env, env_full};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_scans_survive_faults_with_every_row_once() {
    let queries = [
        "SELECT OrderType, OrderNbr, LineNbr, Amount FROM SalesOrder_Details",
        "SELECT CustomerID, CustomerName, CreditLimit FROM Customer",
        "SELECT OrderNbr, LineNbr, Quantity FROM gi.OpenSalesOrderLines",
    ];
    let clean = env().await;
    let flaky = env_full(
        SimConfig {
            faults: Faults {
                rate_429: 0.08,
                rate_5xx: 0.08,
                rate_drop: 0.08,
                rate_expire: 0.08,
            },
            ..Default::default()
        },
        "MaxRetries=12",
        AcumaticaOptions {
            page_size: 200,
            ..Default::default()
        },
    )
    .await;
    for q in queries {
        let expected = clean.rows(q).await;
        let got = flaky.rows(q).await;
        assert_eq!(got.len(), expected.len(), "{q}");
        assert!(got == expected, "{q}: rows differ");
    }
    let stats = flaky.sim.stats();
    assert!(stats.faults_injected > 5, "{stats:?}");
    assert!(flaky.conn.stats().retries > 0);
}
