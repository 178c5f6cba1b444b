//! The report as an SVG chart, written by hand (no plotting dependency): throughput per
//! transaction (with `--compare`, also the in-process ITI-18 with and without the consent and
//! MinLog stages, whose gaps are the shares under load), latency percentiles on a log scale,
//! and each throughput as a ratio to its limit.

use std::fmt::Write;

use super::report::{Report, TransactionReport};
use super::workload::Transaction;

const WIDTH: f64 = 1000.0;
const LABEL_WIDTH: f64 = 300.0;
const BAR_AREA: f64 = WIDTH - LABEL_WIDTH - 120.0;
const ROW: f64 = 22.0;
/// Latency axis: 0.1 ms to 10 s, log scale.
const LATENCY_MS_MIN: f64 = 0.1;
const LATENCY_MS_MAX: f64 = 10_000.0;
const PERCENTILE_COLOURS: [(&str, &str); 4] = [
    ("p50", "#4c78a8"),
    ("p95", "#f58518"),
    ("p99", "#e45756"),
    ("max", "#9d755d"),
];

pub fn render(report: &Report) -> String {
    let rows = rows(report);
    let ratios: Vec<_> = report.ratios.iter().filter(|r| r.unit != "ms").collect();
    let throughput_height = 40.0 + rows.len() as f64 * ROW;
    let latency_height = 60.0 + rows.len() as f64 * (ROW * 2.2);
    let ratio_height = 40.0 + ratios.len() as f64 * ROW;
    let height = 70.0 + throughput_height + latency_height + ratio_height + 30.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(
        svg,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>"##
    );
    let title = format!(
        "dds bench on {}: {} patients × {} documents, {} clients, {} CPUs ({} DocumentEntries)",
        report.store.backend,
        report.store.patients,
        report.config.documents_per_patient,
        report.config.clients,
        report.machine.cpus,
        report.store.document_entries
    );
    text(
        &mut svg,
        10.0,
        24.0,
        &title,
        "font-size=\"16\" font-weight=\"bold\"",
    );
    if let Some(c) = &report.compare {
        let load = &c.iti18_under_load;
        let shares = format!(
            "ITI-18 under load, in process ({} clients): consent {:.1} %, MinLog + BRS {:.1} % (1 − rate with / rate without); one at a time: {:.1} %, {:.1} %",
            load.clients,
            load.consent_share_under_load * 100.0,
            load.minlog_share_under_load * 100.0,
            c.consent_share_one_at_a_time * 100.0,
            c.minlog_share_one_at_a_time * 100.0
        );
        text(&mut svg, 10.0, 44.0, &shares, "fill=\"#333333\"");
    }
    let mut y = 60.0;

    // Throughput.
    text(
        &mut svg,
        10.0,
        y,
        "Requests per second",
        "font-weight=\"bold\"",
    );
    y += 14.0;
    let top = rows
        .iter()
        .map(|(_, t)| t.requests_per_second)
        .fold(1.0, f64::max);
    for (name, t) in &rows {
        y += ROW;
        text(&mut svg, 10.0, y - 6.0, name, "");
        let w = BAR_AREA * t.requests_per_second / top;
        rect(&mut svg, LABEL_WIDTH, y - 16.0, w, 14.0, "#54a24b");
        text(
            &mut svg,
            LABEL_WIDTH + w + 4.0,
            y - 6.0,
            &format!("{:.1}", t.requests_per_second),
            "",
        );
    }
    y += 40.0;

    // Latency.
    text(
        &mut svg,
        10.0,
        y,
        "Latency (ms, log scale)",
        "font-weight=\"bold\"",
    );
    let mut legend_x = LABEL_WIDTH;
    for (name, colour) in PERCENTILE_COLOURS {
        rect(&mut svg, legend_x, y - 10.0, 10.0, 10.0, colour);
        text(&mut svg, legend_x + 14.0, y, name, "");
        legend_x += 60.0;
    }
    y += 10.0;
    for tick in [0.1, 1.0, 10.0, 100.0, 1_000.0, 10_000.0] {
        let x = LABEL_WIDTH + log_position(tick);
        let _ = write!(
            svg,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#dddddd"/>"##,
            y,
            y + rows.len() as f64 * ROW * 2.2 + 4.0
        );
        text(
            &mut svg,
            x - 8.0,
            y + rows.len() as f64 * ROW * 2.2 + 16.0,
            &format_ms(tick),
            "fill=\"#666666\"",
        );
    }
    for (name, t) in &rows {
        let top = y + 4.0;
        text(&mut svg, 10.0, top + 16.0, name, "");
        let values = [
            t.latency_ms.p50,
            t.latency_ms.p95,
            t.latency_ms.p99,
            t.latency_ms.max,
        ];
        for (i, ((_, colour), value)) in PERCENTILE_COLOURS.iter().zip(values).enumerate() {
            let bar_y = top + i as f64 * 10.0;
            let w = log_position(value.max(LATENCY_MS_MIN));
            rect(&mut svg, LABEL_WIDTH, bar_y, w, 9.0, colour);
            text(
                &mut svg,
                LABEL_WIDTH + w + 4.0,
                bar_y + 8.0,
                &format!("{value:.2}"),
                "font-size=\"9\"",
            );
        }
        y += ROW * 2.2;
    }
    y += 50.0;

    // Ratios.
    text(
        &mut svg,
        10.0,
        y,
        "Throughput as a ratio to its limit (the line is the limit)",
        "font-weight=\"bold\"",
    );
    y += 10.0;
    let top_ratio = ratios.iter().map(|r| r.ratio).fold(1.0, f64::max);
    let limit_x = LABEL_WIDTH + BAR_AREA / top_ratio;
    let _ = write!(
        svg,
        r##"<line x1="{limit_x:.1}" y1="{y:.1}" x2="{limit_x:.1}" y2="{:.1}" stroke="#333333" stroke-dasharray="4 3"/>"##,
        y + ratios.len() as f64 * ROW + 4.0
    );
    for ratio in &ratios {
        y += ROW;
        let label = format!("{} / limit", ratio.figure);
        text(&mut svg, 10.0, y - 6.0, &shorten(&label, 48), "");
        let w = BAR_AREA * ratio.ratio / top_ratio;
        rect(&mut svg, LABEL_WIDTH, y - 16.0, w, 14.0, "#72b7b2");
        text(
            &mut svg,
            LABEL_WIDTH + w + 4.0,
            y - 6.0,
            &format!("{:.3}", ratio.ratio),
            "",
        );
        let _ = write!(svg, "<title>{}</title>", escape(&ratio.limit));
    }
    svg.push_str("</svg>\n");
    svg
}

/// The rows of the throughput and latency panels: the mixed workload, then `--compare`.
fn rows(report: &Report) -> Vec<(String, &TransactionReport)> {
    let mut rows: Vec<(String, &TransactionReport)> = Transaction::ALL
        .iter()
        .filter_map(|t| {
            let r = report.transactions.get(t.key())?;
            (r.requests > 0).then(|| (format!("{} (mix)", t.title()), r))
        })
        .collect();
    if let Some(c) = &report.compare {
        rows.push((
            "ITI-18 alone, all patients".to_owned(),
            &c.iti18_all_patients,
        ));
        rows.push((
            "ITI-18 alone, no directives".to_owned(),
            &c.iti18_without_directives,
        ));
        rows.push((
            "ITI-18 alone, with directives".to_owned(),
            &c.iti18_with_directives,
        ));
        rows.push(("ITI-41 alone".to_owned(), &c.iti41_only));
        rows.push(("MinLog record alone".to_owned(), &c.minlog_record_only));
        // The pipeline under load, stage left out or not: the gaps between these bars are the
        // consent and MinLog shares the goals are measured by.
        let load = &c.iti18_under_load;
        for (name, variant) in [
            ("ITI-18 in process, full", &load.full),
            ("ITI-18 in process, without consent", &load.without_consent),
            ("ITI-18 in process, without MinLog", &load.without_minlog),
        ] {
            rows.push((name.to_owned(), &variant.iti18));
        }
    }
    rows
}

fn log_position(ms: f64) -> f64 {
    let span = (LATENCY_MS_MAX / LATENCY_MS_MIN).log10();
    let at = (ms.clamp(LATENCY_MS_MIN, LATENCY_MS_MAX) / LATENCY_MS_MIN).log10();
    BAR_AREA * at / span
}

fn format_ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms}")
    } else {
        format!("{ms:.0}")
    }
}

fn rect(svg: &mut String, x: f64, y: f64, w: f64, h: f64, fill: &str) {
    let _ = write!(
        svg,
        r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}" fill="{fill}"/>"#,
        w.max(0.5)
    );
}

fn text(svg: &mut String, x: f64, y: f64, content: &str, attributes: &str) {
    let _ = write!(
        svg,
        r#"<text x="{x:.1}" y="{y:.1}" {attributes}>{}</text>"#,
        escape(content)
    );
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}

fn escape(text: &str) -> String {
    crate::cli::client::escape(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_positions_span_the_axis() {
        assert_eq!(log_position(LATENCY_MS_MIN), 0.0);
        assert!((log_position(LATENCY_MS_MAX) - BAR_AREA).abs() < 1e-9);
        assert!(log_position(1.0) < log_position(10.0));
    }
}
