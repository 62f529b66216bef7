//! `report.html`: the report as one self-contained page with inline SVG charts, readable offline.
//!
//! The page has no scripts, fonts or external resources: the verdicts, the counts, a histogram of
//! latencies (sent → visible), and a delivery timeline of objects (when each became visible, and
//! its size against SizeInMBs when the buffering hints are known).

use std::fmt::Write as _;

use crate::assertion::AssertionStatus;
use crate::distribution::Distribution;
use crate::findings::HistogramBucket;
use crate::report::Report;
use crate::search_summary::SearchSummary;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 260.0;
const MARGIN_LEFT: f64 = 70.0;
const MARGIN_BOTTOM: f64 = 50.0;
const MARGIN_TOP: f64 = 20.0;
const MARGIN_RIGHT: f64 = 20.0;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:820px}\
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}\
table{border-collapse:collapse}td,th{padding:.2em .8em;text-align:left;border-bottom:1px solid #ddd}\
.pass{color:#1a7f37;font-weight:bold}.fail{color:#cf222e;font-weight:bold}.na{color:#6e7781;font-weight:bold}\
pre{background:#f6f8fa;padding:.8em;overflow-x:auto}svg{background:#fff;border:1px solid #ddd}\
.bar{fill:#4078c0}.object{fill:#2da44e}.object.gzip{fill:#8250df}.threshold{stroke:#cf222e;stroke-dasharray:6 4}\
.axis{stroke:#444}.grid{stroke:#eee}text{font-size:11px;fill:#444}";

impl Report {
    /// The report as a self-contained HTML page.
    pub fn html(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        let verdict = self.verdict();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>streamproof {verdict}: run {run}</title><style>{STYLE}</style></head><body>\n\
             <h1><span class=\"{class}\">{verdict}</span> run {run} in {location}</h1>\n",
            run = escape(&self.run_id),
            class = if self.passed() { "pass" } else { "fail" },
            location = escape(&self.location()),
        );
        if let Some(reason) = &self.incomplete {
            let _ = writeln!(
                out,
                "<p class=\"fail\">Incomplete: {}. Counts are what was read by then; records not read \
                 yet count as lost.</p>",
                escape(reason)
            );
        }

        out.push_str("<h2>Assertions</h2>\n<table>");
        for assertion in &self.assertions() {
            let (class, label) = match assertion.status {
                AssertionStatus::Pass => ("pass", "PASS"),
                AssertionStatus::Fail => ("fail", "FAIL"),
                AssertionStatus::NotApplicable => ("na", "N/A"),
            };
            let _ = write!(
                out,
                "<tr><td class=\"{class}\">{label}</td><td>{}</td><td>{}</td></tr>",
                escape(assertion.name()),
                escape(&assertion.detail)
            );
        }
        out.push_str("</table>\n");

        let counts = &self.counts;
        out.push_str("<h2>Counts</h2>\n<table>");
        for (name, value) in [
            ("generated", counts.generated),
            ("acknowledged", counts.acknowledged),
            ("failed to send", counts.failed_to_send),
            ("delivered", counts.delivered),
            ("lost", counts.lost),
            ("duplicated (extra copies)", counts.duplicated),
            ("reordered", counts.reordered),
            ("corrupt spans", counts.corrupt),
            ("unexpected", counts.unexpected),
            ("late", counts.late),
            ("objects", counts.objects),
            ("bytes", counts.bytes),
        ] {
            let _ = write!(out, "<tr><th>{name}</th><td>{value}</td></tr>");
        }
        if let Some(transform) = &self.transform {
            for (name, value) in [
                ("dropped by the transform", transform.dropped_by_transform),
                ("failed to the error output", transform.failed_to_error_output),
                ("envelope stripped by the transform", transform.envelope_stripped),
            ] {
                let _ = write!(out, "<tr><th>{name}</th><td>{value}</td></tr>");
            }
        }
        out.push_str("</table>\n");

        if let Some(search) = &self.search {
            out.push_str(&search_table(search, &self.bucket));
        }

        let latency = &self.latency;
        if self.search.is_some() {
            // An index has no arrival times; the backup objects (AllDocuments) still have a timeline.
            let _ = writeln!(out, "<h2>Latency</h2>\n<p>{}.</p>", escape(&latency.precision));
            if !self.objects.is_empty() {
                out.push_str("<h2>S3 backup timeline</h2>\n");
                let threshold =
                    self.buffering.as_ref().map(|buffering| u64::from(buffering.size_mb) * 1024 * 1024);
                out.push_str(&timeline_chart(self, threshold));
            }
        } else {
            self.latency_and_timeline(&mut out);
        }

        if let Some(distribution) = &self.distribution {
            out.push_str("<h2>Records per shard</h2>\n");
            if distribution.per_shard.is_empty() {
                out.push_str("<p>Direct PUT: records went to Firehose without shards.</p>\n");
            } else {
                out.push_str(&shard_chart(distribution));
            }
            let _ = writeln!(
                out,
                "<p>{}.</p>",
                escape(distribution.summary_line().trim_start_matches("shards").trim())
            );
            if !distribution.throttled_keys.is_empty() {
                out.push_str(
                    "<table><tr><th>most throttled key</th><th>throttled attempts</th><th>shard</th></tr>",
                );
                for key in &distribution.throttled_keys {
                    let _ = write!(
                        out,
                        "<tr><td>{}</td><td>{}{}</td><td>{}</td></tr>",
                        escape(&key.key),
                        if key.overcount > 0 { "≤" } else { "" },
                        key.throttled,
                        escape(key.shard.as_deref().unwrap_or("?"))
                    );
                }
                out.push_str("</table>\n");
            }
        }

        out.push_str(&self.html_tail());
        out
    }

    /// The latency histogram and the delivery timeline of S3 objects.
    fn latency_and_timeline(&self, out: &mut String) {
        let latency = &self.latency;
        out.push_str("<h2>Latency: sent → visible in S3</h2>\n");
        let _ = writeln!(
            out,
            "<p>{} first deliveries; p50 {}, p90 {}, p99 {}, max {} ({}).</p>",
            latency.samples,
            ms(latency.p50_ms),
            ms(latency.p90_ms),
            ms(latency.p99_ms),
            ms(latency.max_ms),
            escape(&latency.precision)
        );
        out.push_str(&latency_chart(&latency.histogram));

        out.push_str("<h2>Delivery timeline</h2>\n");
        let threshold = self.buffering.as_ref().map(|buffering| u64::from(buffering.size_mb) * 1024 * 1024);
        out.push_str(&timeline_chart(self, threshold));
        if self.objects_truncated {
            let _ = writeln!(out, "<p>Only the first {} objects are drawn.</p>", self.objects.len());
        }
        if let Some(buffering) = &self.buffering {
            let sizes = &buffering.size_bytes;
            let _ = writeln!(
                out,
                "<p>Buffering hints {} MiB / {} s (slack {} ms): object sizes after decompression min {}, \
                 p50 {}, p90 {}, max {} bytes; {} oversized, {} flushed early, {} held too long.{}</p>",
                buffering.size_mb,
                buffering.interval_seconds,
                buffering.slack_ms,
                sizes.min,
                sizes.p50,
                sizes.p90,
                sizes.max,
                buffering.oversized,
                buffering.flushed_early,
                buffering.held_too_long,
                buffering
                    .not_applicable
                    .as_deref()
                    .map(|why| format!(" {}", escape(why)))
                    .unwrap_or_default(),
            );
        }
    }

    /// The summary as preformatted text, and the end of the page.
    fn html_tail(&self) -> String {
        format!("<h2>Summary</h2>\n<pre>{}</pre>\n</body></html>\n", escape(&self.summary()))
    }
}

/// The search index, the failed-documents backup and (AllDocuments) the S3 backup, as a table.
fn search_table(search: &SearchSummary, bucket: &str) -> String {
    let mut out = format!(
        "<h2>{} index</h2>\n<p>Index <code>{}</code> at <code>{}</code>, S3 backup mode {}.</p>\n<table>",
        escape(&search.service),
        escape(&search.index),
        escape(&search.endpoint),
        escape(&search.backup_mode)
    );
    let codes: Vec<String> = search.error_codes.iter().map(|(code, n)| format!("{code}: {n}")).collect();
    let failed_at = format!("s3://{bucket}/{}", search.failed_prefix);
    let mut rows = vec![
        ("records indexed".to_owned(), search.indexed.to_string()),
        ("_count".to_owned(), search.index_count.to_string()),
        ("documents read".to_owned(), search.documents_read.to_string()),
        (format!("failed documents in {failed_at}"), search.failed_documents.to_string()),
        ("errorCode".to_owned(), if codes.is_empty() { "–".to_owned() } else { codes.join(", ") }),
        ("indexed and failed".to_owned(), search.in_both.to_string()),
        ("neither indexed nor failed".to_owned(), search.missing_count.to_string()),
    ];
    if let Some(records) = search.backup_records {
        let at = format!("s3://{bucket}/{}", search.backup_prefix);
        rows.push((format!("records in the backup {at}"), records.to_string()));
        rows.push(("missing from the backup".to_owned(), search.backup_missing_count.to_string()));
    }
    for (name, value) in rows {
        let _ = write!(out, "<tr><th>{}</th><td>{}</td></tr>", escape(&name), escape(&value));
    }
    out.push_str("</table>\n");
    out
}

/// A bar per latency bucket, labelled with its upper bound.
fn latency_chart(buckets: &[HistogramBucket]) -> String {
    let bars: Vec<(String, u64)> = buckets
        .iter()
        .map(|bucket| {
            let label =
                bucket.upper_ms.map_or_else(|| "more".to_owned(), |upper| format!("≤{}", short_ms(upper)));
            (label, bucket.count)
        })
        .collect();
    bar_chart(
        ("latency-histogram", "Latency histogram"),
        &bars,
        "records",
        "latency (upper bound of each bucket)",
    )
}

/// A bar per shard of the records it acknowledged, labelled with the shard's number.
fn shard_chart(distribution: &Distribution) -> String {
    let bars: Vec<(String, u64)> = distribution
        .per_shard
        .iter()
        .map(|shard| {
            let number = shard.shard.strip_prefix("shardId-").map_or(shard.shard.as_str(), |digits| {
                let trimmed = digits.trim_start_matches('0');
                if trimmed.is_empty() { "0" } else { trimmed }
            });
            (number.to_owned(), shard.records)
        })
        .collect();
    bar_chart(("records-per-shard", "Records per shard"), &bars, "records", "shard (acknowledged records)")
}

/// A bar per `(label, count)`, as tall as its count; a bar of 0 is not drawn, its label is.
fn bar_chart((id, title): (&str, &str), bars: &[(String, u64)], unit: &str, caption: &str) -> String {
    let mut svg = open_svg(id, title);
    let plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
    let plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM;
    let max = bars.iter().map(|(_, count)| *count).max().unwrap_or(0).max(1);
    y_axis(&mut svg, max as f64, unit);
    let slot = plot_width / bars.len().max(1) as f64;
    // Labels are about 6.5 px per character at 11 px: where they would run into each other, only
    // every `step`-th is written (each bar still names itself in its tooltip).
    let widest = bars.iter().map(|(label, _)| label.chars().count()).max().unwrap_or(0) as f64 * 6.5 + 6.0;
    let step = (widest / slot).ceil().max(1.0) as usize;
    for (index, (label, count)) in bars.iter().enumerate() {
        let x = MARGIN_LEFT + index as f64 * slot;
        if *count > 0 {
            let height = *count as f64 / max as f64 * plot_height;
            let _ = write!(
                svg,
                "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{height:.1}\">\
                 <title>{}: {count} {unit}</title></rect>",
                x + 2.0,
                MARGIN_TOP + plot_height - height,
                slot - 4.0,
                escape(label),
            );
        }
        if index % step == 0 {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x + slot / 2.0,
                HEIGHT - MARGIN_BOTTOM + 16.0,
                escape(label)
            );
        }
    }
    let _ = writeln!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></svg>",
        MARGIN_LEFT + plot_width / 2.0,
        HEIGHT - 10.0,
        escape(caption)
    );
    svg
}

/// A bar per object at the time it became visible, as tall as its decompressed size; the size
/// threshold as a dashed line when it is known.
fn timeline_chart(report: &Report, threshold: Option<u64>) -> String {
    let mut svg = open_svg("delivery-timeline", "Delivery timeline");
    let plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
    let plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM;
    let objects = &report.objects;
    let first = objects.iter().map(|object| object.visible_ms).min().unwrap_or(0);
    let last = objects.iter().map(|object| object.visible_ms).max().unwrap_or(0);
    let span_ms = (last - first).max(1) as f64;
    let biggest = objects.iter().map(|object| object.decoded_bytes).max().unwrap_or(0);
    let max = biggest.max(threshold.unwrap_or(0)).max(1) as f64;
    y_axis(&mut svg, max, "bytes");
    let bar = (plot_width / objects.len().max(1) as f64).clamp(2.0, 12.0);
    for object in objects {
        let x = MARGIN_LEFT + (object.visible_ms - first) as f64 / span_ms * (plot_width - bar);
        let height = (object.decoded_bytes as f64 / max * plot_height).max(1.0);
        let _ = write!(
            svg,
            "<rect class=\"object{}\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{height:.1}\">\
             <title>{}: {} bytes, {} records, visible at +{} ms</title></rect>",
            if object.gzip { " gzip" } else { "" },
            MARGIN_TOP + plot_height - height,
            escape(&object.key),
            object.decoded_bytes,
            object.records,
            object.visible_ms - first
        );
    }
    if let Some(threshold) = threshold {
        let y = MARGIN_TOP + plot_height - threshold as f64 / max * plot_height;
        let _ = write!(
            svg,
            "<line class=\"threshold\" x1=\"{MARGIN_LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">SizeInMBs</text>",
            WIDTH - MARGIN_RIGHT,
            WIDTH - MARGIN_RIGHT,
            y - 4.0
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{MARGIN_LEFT}\" y=\"{:.1}\">+0 s</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">+{:.1} s</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">object visible (LastModified), size after decompression</text></svg>",
        HEIGHT - MARGIN_BOTTOM + 16.0,
        WIDTH - MARGIN_RIGHT,
        HEIGHT - MARGIN_BOTTOM + 16.0,
        (last - first) as f64 / 1000.0,
        MARGIN_LEFT + plot_width / 2.0,
        HEIGHT - 10.0
    );
    svg
}

fn open_svg(id: &str, title: &str) -> String {
    format!(
        "<svg id=\"{id}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\"><title>{title}</title>"
    )
}

/// The vertical axis with gridlines at quarters of `max`.
fn y_axis(svg: &mut String, max: f64, unit: &str) {
    let plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM;
    for step in 0..=4 {
        let value = max * f64::from(step) / 4.0;
        let y = MARGIN_TOP + plot_height - f64::from(step) / 4.0 * plot_height;
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{MARGIN_LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - MARGIN_RIGHT,
            MARGIN_LEFT - 6.0,
            y + 4.0,
            short_count(value)
        );
    }
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"{MARGIN_LEFT}\" y1=\"{MARGIN_TOP}\" x2=\"{MARGIN_LEFT}\" y2=\"{:.1}\"/>\
         <line class=\"axis\" x1=\"{MARGIN_LEFT}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>\
         <text x=\"12\" y=\"{:.1}\" transform=\"rotate(-90 12 {:.1})\" text-anchor=\"middle\">{unit}</text>",
        HEIGHT - MARGIN_BOTTOM,
        HEIGHT - MARGIN_BOTTOM,
        WIDTH - MARGIN_RIGHT,
        HEIGHT - MARGIN_BOTTOM,
        MARGIN_TOP + plot_height / 2.0,
        MARGIN_TOP + plot_height / 2.0,
    );
}

fn short_ms(ms: u64) -> String {
    if ms >= 60_000 && ms.is_multiple_of(60_000) {
        format!("{} min", ms / 60_000)
    } else if ms >= 1_000 {
        format!("{} s", ms as f64 / 1000.0)
    } else {
        format!("{ms} ms")
    }
}

fn short_count(value: f64) -> String {
    if value >= 1_048_576.0 {
        format!("{:.1}M", value / 1_048_576.0)
    } else if value >= 10_000.0 {
        format!("{:.0}k", value / 1_000.0)
    } else {
        format!("{value:.0}")
    }
}

fn ms(value: Option<u64>) -> String {
    value.map_or_else(|| "–".to_owned(), |value| format!("{value} ms"))
}

/// Escapes text for HTML content and attribute values (`&`, `<`, `>`, `"` and `'`); every HTML
/// page the workspace writes (the run report, the capacity report) escapes with this.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_characters() {
        assert_eq!(escape(r#"<a href="x">&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
        assert_eq!(escape("로그 }{"), "로그 }{");
    }

    #[test]
    fn latency_chart_draws_one_bar_per_non_empty_bucket() {
        let buckets = [
            HistogramBucket { upper_ms: Some(10), count: 0 },
            HistogramBucket { upper_ms: Some(100), count: 7 },
            HistogramBucket { upper_ms: Some(60_000), count: 2 },
            HistogramBucket { upper_ms: None, count: 1 },
        ];
        let svg = latency_chart(&buckets);
        assert_eq!(svg.matches("<rect class=\"bar\"").count(), 3, "{svg}");
        assert!(
            svg.contains("≤100 ms: 7 records") && svg.contains("≤1 min") && svg.contains(">more<"),
            "{svg}"
        );
        assert_eq!(short_ms(2_500), "2.5 s");
    }

    #[test]
    fn crowded_labels_are_thinned_so_they_do_not_overlap() {
        let few: Vec<(String, u64)> = (0..4).map(|i| (format!("≤{i}0 ms"), 1)).collect();
        let many: Vec<(String, u64)> = (0..40).map(|i| (format!("≤{i}0 ms"), 1)).collect();
        let labels = |bars: &[(String, u64)]| {
            bar_chart(("c", "C"), bars, "records", "caption").matches("text-anchor=\"middle\">≤").count()
        };
        assert_eq!(labels(&few), 4);
        let shown = labels(&many);
        assert!((10..40).contains(&shown), "{shown} of 40 labels");
        // Every bar is drawn and names itself, labelled or not.
        assert_eq!(
            bar_chart(("c", "C"), &many, "records", "caption").matches("<rect class=\"bar\"").count(),
            40
        );
    }

    #[test]
    fn shard_chart_labels_every_shard_and_draws_the_busy_ones() {
        let shard = |number: u32, records: u64| crate::ShardRecords {
            shard: format!("shardId-{number:012}"),
            records,
            bytes: records * 10,
            share: 0.0,
            parents: Vec::new(),
            open: None,
        };
        let expectation = producer::Expectation {
            run_id: "r1".into(),
            envelope_field: "_streamproof".into(),
            generated: 1,
            ..producer::Expectation::default()
        };
        let expect = scenario::Expect {
            delivery: scenario::Delivery::ExactlyOnce,
            ordering: scenario::Ordering::PerKey,
            max_latency: std::time::Duration::from_secs(10),
            timeout: std::time::Duration::from_secs(60),
            max_shard_share: None,
            max_throttled_fraction: None,
            max_failed_fraction: 0.0,
            format: None,
        };
        let matcher = crate::Matcher::new(&expectation, &expect, "test clock");
        let mut report = matcher.report(&crate::ReadSummary::default());
        report.distribution = Some(Distribution {
            shards: 3,
            per_shard: vec![shard(0, 0), shard(1, 500), shard(10, 0)],
            hottest_shard: Some("shardId-000000000001".into()),
            hottest_share: Some(1.0),
            idle_shards: 2,
            put_attempts: 500,
            throttled: 0,
            throttled_fraction: 0.0,
            throttled_keys: Vec::new(),
            backend: "embedded".into(),
            throttling_modelled: true,
        });
        let html = report.html();
        let start = html.find("<svg id=\"records-per-shard\"").expect("a shard chart");
        let svg = &html[start..start + html[start..].find("</svg>").unwrap()];
        assert_eq!(svg.matches("<rect class=\"bar\"").count(), 1, "{svg}");
        assert!(svg.contains("<title>1: 500 records</title>"), "{svg}");
        assert!(svg.contains(">0</text>") && svg.contains(">10</text>"), "{svg}");
        assert!(html.contains("hottest shardId-000000000001 with 100.0% of the records, 2 idle"), "{html}");
    }
}
