//! The dashboard in a real browser: headless Chromium driven over WebDriver
//! (`chromium-driver`, spoken to directly as JSON over loopback). Load the page, move a
//! slider twenty times and time change-to-redraw, check the price chart against the
//! API's numbers, pin and compare, switch on the Monte Carlo band, download the TOML
//! and repeat it with `datadao run --config`, and take the screenshot the README shows.
//!
//! Skipped, with a message, where `/usr/bin/chromedriver` is not installed (`.ci/run`
//! installs Debian's `chromium` and `chromium-driver`).

mod common;

#[path = "common/server.rs"]
mod server;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};
use server::{get, post, Server};

const DRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A chromedriver process and one browser session, ended when dropped.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(DRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while ureq::get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-quic", "--window-size=1600,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        }}});
        let (status, reply) = post(&format!("{base}/session"), &caps.to_string());
        assert_eq!(status, 200, "{reply}");
        let session = reply["value"]["sessionId"].as_str().unwrap().to_string();
        Self {
            driver,
            base,
            session,
            _profile: profile,
        }
    }

    fn call(&self, path: &str, body: Value) -> Value {
        let (status, reply) = post(
            &format!("{}/session/{}{path}", self.base, self.session),
            &body.to_string(),
        );
        assert_eq!(status, 200, "{path}: {reply}");
        reply["value"].clone()
    }

    fn open(&self, url: &str) {
        self.call("/url", json!({"url": url}));
    }

    /// Run JavaScript in the page and return its value.
    fn js(&self, script: &str) -> Value {
        self.call("/execute/sync", json!({"script": script, "args": []}))
    }

    /// Wait until `condition` (a JavaScript expression) is true.
    fn wait_for(&self, condition: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.js(&format!("return !!({condition});")) != json!(true) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {condition}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn screenshot(&self, path: &Path) {
        let (status, bytes) = get(&format!(
            "{}/session/{}/screenshot",
            self.base, self.session
        ));
        assert_eq!(status, 200);
        let reply: Value = serde_json::from_slice(&bytes).unwrap();
        let png = base64::engine::general_purpose::STANDARD
            .decode(reply["value"].as_str().unwrap())
            .unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = ureq::delete(&format!("{}/session/{}", self.base, self.session)).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Move the fee slider to `value` as a user would (an `input` event), and wait for the
/// redraw it causes.
fn slide_fee(b: &Browser, value: f64) {
    let renders = b.js("return window.__datadao.renders;");
    b.js(&format!(
        "const r = document.getElementById('k-market-fee-rate'); r.value = '{value}'; r.dispatchEvent(new Event('input', {{bubbles: true}}));"
    ));
    b.wait_for(&format!("window.__datadao.renders > {renders} && window.__datadao.lastRun && document.getElementById('status').textContent.includes('redraw')"));
}

#[test]
fn the_dashboard_in_headless_chromium() {
    if !Path::new(DRIVER).exists() || !Path::new(CHROMIUM).exists() {
        eprintln!("skipped: the browser tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver); .ci/run installs them");
        return;
    }
    let server = Server::start();
    let b = Browser::start();
    b.open(&format!("{}/", server.url));
    b.wait_for("window.__datadao && window.__datadao.renders >= 1 && window.__datadao.lastRun");

    // Twenty slider changes: each re-runs and redraws; the times go to the README.
    let before: Value = b.js("return window.__datadao.lastRun.series.price;");
    for i in 0..20 {
        slide_fee(&b, 0.005 + 0.001 * f64::from(i));
    }
    let latencies: Vec<f64> =
        serde_json::from_value(b.js("return window.__datadao.latencies.slice(-20);")).unwrap();
    let mut sorted = latencies.clone();
    sorted.sort_by(f64::total_cmp);
    let median = (sorted[9] + sorted[10]) / 2.0;
    eprintln!(
        "change to redraw over 20 slider moves: median {median:.0} ms, min {:.0}, max {:.0}",
        sorted[0], sorted[19]
    );

    // The price chart changed and shows exactly the API's numbers for the page's state.
    let after: Value = b.js("return window.__datadao.lastRun.series.price;");
    assert_ne!(before, after, "moving the fee changed the price curve");
    let hash = b.js("return location.hash;");
    assert!(
        hash.as_str().unwrap().contains("market.fee_rate=0.024"),
        "{hash}"
    );
    let (status, api) = post(
        &format!("{}/api/run", server.url),
        r#"{"settings": {"market.fee_rate": 0.024}}"#,
    );
    assert_eq!(status, 200);
    assert_eq!(
        api["series"]["price"], after,
        "the chart's numbers are the API's"
    );

    // Pin, change, compare: both on the charts, labelled with what differs.
    b.js("document.getElementById('pin').click();");
    slide_fee(&b, 0.05);
    let pins = b.js("return document.getElementById('pins').textContent;");
    assert!(pins.as_str().unwrap().contains("fee_rate=0.024"), "{pins}");

    // The Monte Carlo band of 20 seeds.
    let started = Instant::now();
    b.js("const c = document.getElementById('band'); c.checked = true; c.dispatchEvent(new Event('change'));");
    b.wait_for("window.__datadao.lastBand && window.__datadao.lastBand.seeds === 20");
    eprintln!(
        "Monte Carlo band of 20 seeds drawn in {:.2} s",
        started.elapsed().as_secs_f64()
    );

    // The screenshot for the README.
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    b.screenshot(&shot);
    assert!(std::fs::metadata(&shot).unwrap().len() > 20_000);
    eprintln!("screenshot: {}", shot.display());

    // Download the scenario as the page links it, and repeat it with the CLI.
    let toml_href = b.js("return document.getElementById('dl-toml').href;");
    let csv_href = b.js("return document.getElementById('dl-csv').href;");
    let (status, toml) = get(toml_href.as_str().unwrap());
    assert_eq!(status, 200);
    let (status, csv) = get(csv_href.as_str().unwrap());
    assert_eq!(status, 200);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("scenario.toml"), &toml).unwrap();
    common::datadao(dir.path())
        .args([
            "-q",
            "--config",
            "scenario.toml",
            "--no-transactions",
            "--no-plot",
        ])
        .assert()
        .success();
    assert_eq!(
        std::fs::read(dir.path().join("simulation_data.csv")).unwrap(),
        csv
    );

    // An error is shown next to its field, and the charts say why they did not change.
    b.js("document.getElementById('search').value = 'market.fee_rate'; document.getElementById('search-value').value = '2'; document.getElementById('search-set').click();");
    b.wait_for("document.getElementById('status').textContent.includes('not updated')");
    let field_error = b.js(
        "return document.querySelector('.lever[data-key=\"market.fee_rate\"] .error').textContent;",
    );
    assert!(
        field_error.as_str().unwrap().contains("[0, 1)"),
        "{field_error}"
    );
    let note = b.js("return document.querySelector('#chart-price').parentElement.querySelector('.note').textContent;");
    assert!(note.as_str().unwrap().contains("not updated"), "{note}");
}
