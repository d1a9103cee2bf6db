//! The dashboard's JSON API as scripts and the page use it: runs, bands, errors as 4xx,
//! limits, superseding, downloads that `datadao run --config` repeats, and a fuzz of
//! the API that must never get a 5xx or kill the server.

mod common;

#[path = "common/server.rs"]
mod server;

use std::fs;

use common::datadao;
use proptest::prelude::*;
use server::{get, post, Server};

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn the_page_is_served_whole_and_loads_nothing_from_elsewhere() {
    let s = Server::start();
    let (status, page) = get(&format!("{}/", s.url));
    assert_eq!(status, 200);
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("src=\"/page.js\"") && page.contains("href=\"/page.css\""));
    // No inline script or style: the Content-Security-Policy allows none.
    assert!(!page.contains("<script>") && !page.contains("<style") && !page.contains("style=\""));
    let (status, script) = get(&format!("{}/page.js", s.url));
    assert_eq!(status, 200);
    let script = String::from_utf8(script).unwrap();
    assert!(script.contains("buildCharts"));
    for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("] {
        assert!(!script.contains(sink), "{sink}");
    }
    let (status, style) = get(&format!("{}/page.css", s.url));
    assert_eq!(status, 200);
    let page = page + &script + &String::from_utf8(style).unwrap();
    for external in [
        "src=\"http",
        "href=\"http",
        "url(http",
        "import(\"http",
        "fetch(\"http",
    ] {
        assert!(!page.contains(external), "{external}");
    }
}

#[test]
fn a_run_returns_thinned_series_and_errors_are_4xx_with_the_cli_message() {
    let s = Server::start();
    let (status, body) = post(
        &format!("{}/api/run", s.url),
        r#"{"settings": {"market.fee_rate": 0.01}}"#,
    );
    assert_eq!(status, 200, "{body}");
    let steps = body["series"]["step"].as_array().unwrap();
    assert_eq!(steps.len(), 2000);
    assert!(body["series"]["price"][0].as_f64().unwrap() > 0.0);
    // 100,000 steps are thinned to a few thousand points.
    let (status, body) = post(
        &format!("{}/api/run", s.url),
        r#"{"settings": {"simulation.total_steps": 100000, "simulation.entry_steps": 1000000}}"#,
    );
    assert_eq!(status, 200, "{body}");
    let n = body["series"]["step"].as_array().unwrap().len();
    assert!((2000..=4097).contains(&n), "{n}");
    for (body, key, part) in [
        (
            r#"{"settings": {"market.fee_rate": 2}}"#,
            "market.fee_rate",
            "[0, 1)",
        ),
        (
            r#"{"settings": {"market.fee_rte": 0.1}}"#,
            "market.fee_rte",
            "did you mean",
        ),
        (r#"{"preset": "nope"}"#, "", "nope"),
        (
            r#"{"settings": {"simulation.agents_per_entry": 100000}}"#,
            "simulation.total_steps",
            "dashboard",
        ),
        (
            r#"{"settings": {"simulation.total_steps": null}}"#,
            "simulation.total_steps",
            "accepted",
        ),
        (r#"[1, 2]"#, "", "JSON object"),
    ] {
        let (status, reply) = post(&format!("{}/api/run", s.url), body);
        assert_eq!(status, 422, "{body}: {reply}");
        assert!(
            reply["error"].as_str().unwrap().contains(part),
            "{body}: {reply}"
        );
        if !key.is_empty() {
            assert_eq!(reply["key"].as_str(), Some(key), "{body}: {reply}");
        }
    }
    let (status, _) = post(&format!("{}/api/run", s.url), "not json");
    assert_eq!(status, 400);
    let huge = format!(r#"{{"settings": {{"x": "{}"}}}}"#, "a".repeat(100_000));
    let (status, reply) = post(&format!("{}/api/run", s.url), &huge);
    // 413, or the connection closed by the server before the client finished sending.
    assert!(status == 413 || status == 0, "{status}: {reply}");
}

#[test]
fn a_band_reduces_seeds_like_the_sweep() {
    let s = Server::start();
    let (status, body) = post(
        &format!("{}/api/band", s.url),
        r#"{"seeds": 5, "settings": {"simulation.total_steps": 200}, "preset": "scarce-data"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let series = &body["series"];
    let (lo, mid, hi) = (
        &series["price_p5"],
        &series["price_p50"],
        &series["price_p95"],
    );
    let n = series["step"].as_array().unwrap().len();
    assert_eq!(n, 200);
    for i in 0..n {
        let (a, b, c) = (
            lo[i].as_f64().unwrap(),
            mid[i].as_f64().unwrap(),
            hi[i].as_f64().unwrap(),
        );
        assert!(a <= b && b <= c, "step {i}");
    }
    let (status, _) = post(&format!("{}/api/band", s.url), r#"{"seeds": 0}"#);
    assert_eq!(status, 422);
}

#[test]
fn the_downloaded_scenario_repeats_the_downloaded_data_with_the_cli() {
    let s = Server::start();
    let scenario = r#"{"preset": "privacy", "settings": {"market.fee_rate": 0.02, "simulation.total_steps": 150}}"#;
    let (status, toml) = get(&format!("{}/api/scenario.toml?s={}", s.url, enc(scenario)));
    assert_eq!(status, 200);
    let (status, csv) = get(&format!("{}/api/data.csv?s={}", s.url, enc(scenario)));
    assert_eq!(status, 200);
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("scenario.toml"), &toml).unwrap();
    datadao(dir.path())
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
        fs::read(dir.path().join("simulation_data.csv")).unwrap(),
        csv
    );
    // Uploading it gives back the scenario.
    let upload = serde_json::json!({"name": "scenario.toml", "text": std::str::from_utf8(&toml).unwrap()});
    let (status, parsed) = post(
        &format!("{}/api/parse-scenario", s.url),
        &upload.to_string(),
    );
    assert_eq!(status, 200, "{parsed}");
    assert_eq!(parsed["preset"], "privacy");
    assert_eq!(parsed["settings"]["market.fee_rate"], 0.02);
    assert_eq!(parsed["settings"]["simulation.total_steps"], 150);
}

#[test]
fn a_newer_request_of_a_session_supersedes_a_run_in_flight() {
    let s = Server::start();
    let url = format!("{}/api/run", s.url);
    let slow = {
        let url = url.clone();
        std::thread::spawn(move || {
            post(
                &url,
                r#"{"session": "t", "seq": 1, "settings": {"simulation.total_steps": 3000, "simulation.agents_per_entry": 50}}"#,
            )
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (status, _) = post(
        &url,
        r#"{"session": "t", "seq": 2, "settings": {"simulation.total_steps": 50}}"#,
    );
    assert_eq!(status, 200);
    let (status, body) = slow.join().unwrap();
    assert_eq!(status, 409, "{body}");
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |v| v.is_finite())
            .prop_map(serde_json::Value::from),
        "\\PC{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map("[a-z._]{0,12}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Whatever a request sends, the answer is 2xx or 4xx, never a 5xx, and the server stays
/// up. (A runner by hand rather than `proptest!`, so that one server serves every case
/// and is stopped at the end.)
#[test]
fn the_api_never_fails_on_any_request() {
    use proptest::test_runner::{Config, TestRunner};
    let mut server = Server::start();
    let strategy = (
        prop_oneof![
            Just("market.fee_rate".to_string()),
            Just("simulation.total_steps".to_string()),
            Just("simulation.agents_per_entry".to_string()),
            Just("pie.policy".to_string()),
            Just("data.use_cases".to_string()),
            "[a-z._]{0,20}",
        ],
        json_value(),
        prop_oneof![
            Just(serde_json::Value::Null),
            Just(serde_json::json!("privacy")),
            json_value()
        ],
        proptest::collection::vec(any::<u8>(), 0..64),
        any::<bool>(),
        prop_oneof![
            Just("/api/run"),
            Just("/api/band"),
            Just("/api/parse-scenario")
        ],
    );
    let mut runner = TestRunner::new(Config::with_cases(120));
    runner
        .run(&strategy, |(key, value, preset, raw, use_raw, path)| {
            let body = if use_raw {
                String::from_utf8_lossy(&raw).into_owned()
            } else {
                serde_json::json!({"preset": preset, "settings": {key: value}, "seeds": 2})
                    .to_string()
            };
            let (status, reply) = post(&format!("{}{path}", server.url), &body);
            prop_assert!(status < 500, "{status} for {body}: {reply}");
            Ok(())
        })
        .unwrap();
    assert!(server.alive());
}

#[test]
fn governed_runs_bring_their_treasury_and_settings_and_count_their_forks() {
    let s = Server::start();
    let (status, body) = post(
        &format!("{}/api/run", s.url),
        r#"{"preset": "governed", "settings": {"simulation.total_steps": 200}}"#,
    );
    assert_eq!(status, 200, "{body}");
    let g = &body["series"]["governance"];
    assert_eq!(g["fee_rate"].as_array().unwrap().len(), 200);
    // The treasury is the Pie.
    assert_eq!(g["treasury_ddt"], body["series"]["pie_ddt"]);
    assert_eq!(g["share_power"][0].as_f64(), Some(0.4));
    let (status, body) = post(
        &format!("{}/api/run", s.url),
        r#"{"settings": {"simulation.total_steps": 50}}"#,
    );
    assert_eq!(status, 200);
    assert!(body["series"]["governance"].is_null());
    // The limit counts foresight forks: 60 million agent-steps of its own, about three
    // times that with forks, is more than the dashboard runs.
    let (status, body) = post(
        &format!("{}/api/run", s.url),
        r#"{"preset": "governed", "settings": {"simulation.agents_per_entry": 150}}"#,
    );
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("foresight forks included"));
    let (status, schema) = get(&format!("{}/api/schema", s.url));
    assert_eq!(status, 200);
    let schema: serde_json::Value = serde_json::from_slice(&schema).unwrap();
    let choices = schema["choices"].as_array().unwrap();
    assert!(choices.iter().any(|c| c["key"] == "governance.weight"));
}
