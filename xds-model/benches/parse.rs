//! Typed parse versus a raw quick-xml scan of the same ITI-41 body: 50 DocumentEntries with
//! full DK metadata, documents as `xop:Include` references.
//!
//! Run: `cargo bench -p xds-model --bench parse`. Besides criterion's report it prints the
//! throughput ratio typed/raw (goal: at least 0.5), measured on its own so it shows even with
//! `--bench parse -- --quick`.

/// The service binary allocates with mimalloc (see `dds/src/main.rs`); the benchmark measures
/// the parse as it runs there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use quick_xml::NsReader;
use quick_xml::events::Event;
use xds_model::message::parse_message;

fn body() -> Vec<u8> {
    support::provide_and_register(50).to_xml().into_bytes()
}

/// Every event, with namespaces resolved: the least a namespace-aware reader does.
fn raw_scan(input: &[u8]) -> usize {
    let mut reader = NsReader::from_reader(input);
    reader.config_mut().expand_empty_elements = true;
    let mut events = 0;
    loop {
        match reader.read_resolved_event() {
            Ok((_, Event::Eof)) => return events,
            Ok(_) => events += 1,
            Err(e) => panic!("benchmark input is not XML: {e}"),
        }
    }
}

/// The raw scan plus what no typed reader can skip: parsing and normalizing every attribute
/// and text, without keeping anything. The gap to `typed` is building the owned model.
fn scan_with_values(input: &[u8]) -> usize {
    let mut reader = NsReader::from_reader(input);
    reader.config_mut().expand_empty_elements = true;
    let mut bytes = 0;
    loop {
        match reader.read_resolved_event() {
            Ok((_, Event::Eof)) => return bytes,
            Ok((_, Event::Start(s))) => {
                for a in s.attributes() {
                    match a.map(|a| {
                        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .map(|v| v.len())
                    }) {
                        Ok(Ok(n)) => bytes += n,
                        _ => panic!("bad attribute"),
                    }
                }
            }
            Ok((_, Event::Text(t))) => bytes += t.xml10_content().len(),
            Ok(_) => {}
            Err(e) => panic!("benchmark input is not XML: {e}"),
        }
    }
}

fn typed(input: &[u8]) -> usize {
    match parse_message(input) {
        Ok(m) => std::mem::size_of_val(&m),
        Err(e) => panic!("benchmark input does not parse: {e}"),
    }
}

fn bench(c: &mut Criterion) {
    let input = body();
    let mut group = c.benchmark_group("iti41_50_entries");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
    group.sample_size(20);
    group.bench_function("raw_quick_xml_scan", |b| {
        b.iter(|| raw_scan(black_box(&input)))
    });
    group.bench_function("typed_parse", |b| b.iter(|| typed(black_box(&input))));
    group.finish();
}

/// Best-of-rounds time per call, so a noisy neighbour inflates neither side.
fn best(f: impl Fn(&[u8]) -> usize, input: &[u8]) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..15 {
        let start = Instant::now();
        for _ in 0..10 {
            black_box(f(black_box(input)));
        }
        best = best.min(start.elapsed() / 10);
    }
    best
}

fn main() {
    let input = body();
    let raw = best(raw_scan, &input);
    let typed_time = best(typed, &input);
    let values = best(scan_with_values, &input);
    println!(
        "scan + attribute/text values {:?}: ratio to raw {:.2}, typed to it {:.2}",
        values,
        raw.as_secs_f64() / values.as_secs_f64(),
        values.as_secs_f64() / typed_time.as_secs_f64()
    );
    println!(
        "input {} bytes; raw scan {:?} ({:.0} MB/s); typed parse {:?} ({:.0} MB/s); throughput ratio typed/raw = {:.2}",
        input.len(),
        raw,
        input.len() as f64 / raw.as_secs_f64() / 1e6,
        typed_time,
        input.len() as f64 / typed_time.as_secs_f64() / 1e6,
        raw.as_secs_f64() / typed_time.as_secs_f64()
    );
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
