//! `report.html` in a real browser: headless Chromium renders the page of a real run, and the
//! screenshot shows the charts drawn.
//!
//! Needs Chromium (`cargo xtask browser setup` installs Debian's package); `cargo xtask ci` installs
//! it and runs this test with `--run-ignored only`.

use std::path::{Path, PathBuf};
use std::process::Command;

use environment::Backend;
use streamproof::run::{RunOptions, run};

use crate::scenario_path;

/// The fill colours of the latency histogram's bars and the delivery timeline's objects (html.rs).
const BAR: [u8; 3] = [0x40, 0x78, 0xc0];
const OBJECT: [u8; 3] = [0x2d, 0xa4, 0x4e];

/// Renders `page` in headless Chromium and returns the screenshot's RGB pixels.
fn screenshot(page: &Path, out: &Path) -> Vec<[u8; 3]> {
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success()))
        .expect("Chromium is installed (cargo xtask browser setup)");
    let status = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--hide-scrollbars",
            "--window-size=900,2400",
        ])
        .arg(format!("--screenshot={}", out.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("Chromium runs");
    assert!(status.status.success(), "chromium: {}", String::from_utf8_lossy(&status.stderr));
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(out).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buffer).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3, "an RGB screenshot, got {:?}", info.color_type);
    buffer[..info.buffer_size()].chunks_exact(channels).map(|p| [p[0], p[1], p[2]]).collect()
}

fn count(pixels: &[[u8; 3]], colour: [u8; 3]) -> usize {
    pixels.iter().filter(|&&p| p == colour).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium (cargo xtask browser setup); cargo xtask ci runs it"]
async fn chromium_draws_the_latency_histogram_and_delivery_timeline_of_a_real_run() {
    let scenario = scenario::load(&scenario_path("kinesis-to-s3-small.toml")).unwrap();
    let reports = tempfile::tempdir().unwrap();
    let options =
        RunOptions { backend: Backend::default(), report_dir: reports.path().to_path_buf(), keep: false };
    let outcome = run(&scenario, &options).await.expect("the harness runs");
    assert!(outcome.report.passed());
    let page: PathBuf = outcome.report_path.with_file_name("report.html");

    let pixels = screenshot(&page, &reports.path().join("report.png"));
    // A bar of 1 record is at least a few pixels tall; the histogram holds 1500 records and the
    // timeline at least one object, each drawn as a filled rectangle.
    assert!(count(&pixels, BAR) > 2_000, "histogram bars drawn: {} pixels", count(&pixels, BAR));
    assert!(count(&pixels, OBJECT) > 200, "timeline objects drawn: {} pixels", count(&pixels, OBJECT));

    // The same page without its SVG charts has none of those pixels: they come from the charts.
    let html = std::fs::read_to_string(&page).unwrap();
    let mut stripped = String::new();
    let mut rest = html.as_str();
    while let Some(start) = rest.find("<svg") {
        stripped.push_str(&rest[..start]);
        let end = rest[start..].find("</svg>").expect("every svg is closed") + start + "</svg>".len();
        rest = &rest[end..];
    }
    stripped.push_str(rest);
    let control = reports.path().join("no-charts.html");
    std::fs::write(&control, stripped).unwrap();
    let pixels = screenshot(&control, &reports.path().join("no-charts.png"));
    assert_eq!((count(&pixels, BAR), count(&pixels, OBJECT)), (0, 0), "without the charts");
}
