//! Criterion micro-benchmark of the page decoder (issue 7, figure 1): Acumatica JSON pages into
//! Arrow, next to `serde_json` merely tokenizing the same bytes (`IgnoredAny`).
//!
//! `cargo bench --bench decode` (the report, `cargo bench --bench report`, prints the ratio).

mod common;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn decode(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let pages = rt.block_on(common::pages());
    for (group_name, table_name, body) in [
        ("SalesOrder page", "SalesOrder", &pages.orders),
        (
            "SalesOrder_Details page",
            "SalesOrder_Details",
            &pages.details,
        ),
    ] {
        let t = common::table(table_name);
        let mut group = c.benchmark_group(group_name);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function("decode_page to Arrow", |b| {
            b.iter(|| {
                let (batch, _) = acumatica_datafusion::decode::decode_page(
                    &t.def,
                    &t.projection,
                    &t.schema,
                    body,
                    0,
                )
                .expect("decodes");
                black_box(batch)
            })
        });
        group.bench_function("serde_json IgnoredAny", |b| {
            b.iter(|| {
                black_box(
                    serde_json::from_slice::<serde::de::IgnoredAny>(body).expect("valid JSON"),
                )
            })
        });
        group.finish();
    }
}

criterion_group!(benches, decode);
criterion_main!(benches);
