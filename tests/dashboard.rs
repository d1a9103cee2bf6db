//! The dashboard's JSON API as scripts and the page use it: runs, bands, errors as 4xx,
//! limits, superseding, downloads that `datadao run --config` repeats, and a fuzz of
//! the API that must never get a 5xx or kill the server; and the server as an attacker
//! meets it: security headers on every answer, foreign Host and Origin headers, content
//! types, oversized, slow, idle and abandoned requests (with the server's memory and a
//! small request's latency measured before, during and after), and signals with work in
//! flight. Everything talks to loopback, with bounded counts and times.

mod common;

#[path = "common/server.rs"]
mod server;

use std::fs;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::datadao;
use proptest::prelude::*;
use server::{agent_timeout, get, post, post_with, raw, request, Server};

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
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
    ] {
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
    // Errors about several settings name them all in `keys`, read from the error's
    // fields; errors about one have `key` only.
    let (status, reply) = post(
        &format!("{}/api/run", s.url),
        r#"{"settings": {"governance.enabled": true, "simulation.rules": "original-2024"}}"#,
    );
    assert_eq!(status, 422, "{reply}");
    assert_eq!(reply["key"], "governance.enabled", "{reply}");
    assert_eq!(
        reply["keys"],
        serde_json::json!(["governance.enabled", "simulation.rules"]),
        "{reply}"
    );
    let (_, reply) = post(&format!("{}/api/run", s.url), r#"{"preset": "nope"}"#);
    assert_eq!(reply["key"], "preset", "{reply}");
    assert!(reply.get("keys").is_none(), "{reply}");
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
    let upload =
        serde_json::json!({"name": "scenario.toml", "text": std::str::from_utf8(&toml).unwrap()});
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
            let r = post(
                &url,
                r#"{"session": "t", "seq": 1, "settings": {"simulation.total_steps": 3000, "simulation.agents_per_entry": 100}}"#,
            );
            (r, Instant::now())
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    let newer = Instant::now();
    let (status, _) = post(
        &url,
        r#"{"session": "t", "seq": 2, "settings": {"simulation.total_steps": 50}}"#,
    );
    assert_eq!(status, 200);
    let ((status, body), done) = slow.join().unwrap();
    assert_eq!(status, 409, "{body}");
    // Stopped within 100 ms of the newer request (plus the slack of a loaded test machine).
    let took = done.duration_since(newer);
    eprintln!("superseded run answered {took:?} after the newer request was sent");
    assert!(took < Duration::from_millis(400), "{took:?}");
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

// ---- the server under attack -------------------------------------------------------

/// A run that takes seconds (close to the cost limit): 60,000 agents at the end.
const SLOW_RUN: &str =
    r#"{"settings": {"simulation.total_steps": 3000, "simulation.agents_per_entry": 100}}"#;
/// A run that takes milliseconds.
const SMALL_RUN: &str = r#"{"settings": {"simulation.total_steps": 50}}"#;

fn check_headers(r: &server::Raw, what: &str) {
    let csp = r
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP: {r:?}"));
    assert!(csp.contains("default-src 'self'"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval") && !csp.contains('*'),
        "{what}: {csp}"
    );
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{what}");
}

#[test]
fn every_response_carries_the_security_headers() {
    let s = Server::start();
    let host = s.addr.clone();
    let json = "Content-Type: application/json\r\n";
    let cases: Vec<(u16, Vec<u8>)> = vec![
        (200, request("GET", "/", &host, "", "")),
        (200, request("GET", "/page.js", &host, "", "")),
        (200, request("GET", "/page.css", &host, "", "")),
        (200, request("GET", "/api/schema", &host, "", "")),
        (200, request("GET", "/api/scenario.toml", &host, "", "")),
        (200, request("POST", "/api/run", &host, json, SMALL_RUN)),
        (404, request("GET", "/nope", &host, "", "")),
        (404, request("POST", "/nope", &host, json, "{}")),
        (405, request("PUT", "/api/run", &host, "", "")),
        (405, request("GET", "/api/run", &host, "", "")),
        (
            415,
            request(
                "POST",
                "/api/run",
                &host,
                "Content-Type: text/plain\r\n",
                "{}",
            ),
        ),
        (421, request("GET", "/", "evil.example:80", "", "")),
        (
            421,
            request("POST", "/api/run", "rebind.example:80", json, SMALL_RUN),
        ),
        (
            421,
            request("GET", "/api/data.csv", "rebind.example:80", "", ""),
        ),
        (
            403,
            request(
                "POST",
                "/api/run",
                &host,
                "Content-Type: application/json\r\nOrigin: null\r\n",
                "{}",
            ),
        ),
        (
            422,
            request("POST", "/api/run", &host, json, r#"{"preset": "nope"}"#),
        ),
        (400, request("POST", "/api/run", &host, json, "not json")),
        (400, request("GET", "/api/data.csv?s=%7B", &host, "", "")),
    ];
    for (want, req) in cases {
        let r = raw(&s.addr, &req);
        let line = String::from_utf8_lossy(&req)
            .lines()
            .next()
            .unwrap()
            .to_string();
        assert_eq!(r.status, want, "{line}: {r:?}");
        check_headers(&r, &line);
    }
    // 413 before the body is read.
    let r = raw(
        &s.addr,
        format!("POST /api/run HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n").as_bytes(),
    );
    assert_eq!(r.status, 413, "{r:?}");
    check_headers(&r, "413");
    // The page's script and style are served as what they are.
    let js = raw(&s.addr, &request("GET", "/page.js", &host, "", ""));
    assert!(js
        .header("content-type")
        .unwrap()
        .starts_with("text/javascript"));
    let css = raw(&s.addr, &request("GET", "/page.css", &host, "", ""));
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
}

#[test]
fn only_its_own_host_and_origin_are_served() {
    let s = Server::start_with(&["--allow-host", "dash.test"]);
    let port = s.addr.rsplit(':').next().unwrap().to_string();
    let status = |host: &str, extra: &str| {
        raw(&s.addr, &request("GET", "/api/schema", host, extra, "")).status
    };
    for ok in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("LocalHost:{port}"),
        format!("[::1]:{port}"),
        format!("dash.test:{port}"),
        "dash.test".to_string(),
    ] {
        assert_eq!(status(&ok, ""), 200, "{ok}");
    }
    // DNS rebinding: a name that resolves here is still not this server's name.
    for bad in [
        format!("evil.example:{port}"),
        format!("127.0.0.1.nip.io:{port}"),
        format!("localhost.evil.example:{port}"),
        "localhost".to_string(),
        format!("localhost:{}", port.parse::<u32>().unwrap() + 1),
        format!("0.0.0.0:{port}"),
        String::new(),
    ] {
        assert_eq!(status(&bad, ""), 421, "{bad:?}");
    }
    let host = s.addr.clone();
    let post_from = |origin: &str| {
        let extra = format!("Content-Type: application/json\r\n{origin}");
        raw(
            &s.addr,
            &request("POST", "/api/run", &host, &extra, SMALL_RUN),
        )
    };
    assert_eq!(post_from("").status, 200, "no Origin (curl) is allowed");
    for ok in [
        format!("http://{host}"),
        format!("http://localhost:{port}"),
        "https://dash.test".into(),
    ] {
        assert_eq!(post_from(&format!("Origin: {ok}\r\n")).status, 200, "{ok}");
    }
    for bad in [
        "null".to_string(),
        "http://evil.example".into(),
        format!("http://evil.example:{port}"),
        format!("https://{host}"),
        format!("http://localhost:{}", port.parse::<u32>().unwrap() + 1),
        "file://".into(),
    ] {
        let r = post_from(&format!("Origin: {bad}\r\n"));
        assert_eq!(r.status, 403, "{bad}: {r:?}");
        assert!(r.body.contains("Origin"), "{}", r.body);
    }
    // Another site's <img> or link cannot start work; its link to the page still opens.
    for site in ["cross-site", "same-site"] {
        let extra = format!("Sec-Fetch-Site: {site}\r\n");
        assert_eq!(status(&host, &extra), 403, "{site}");
        let r = raw(&s.addr, &request("GET", "/", &host, &extra, ""));
        assert_eq!(r.status, 200, "{site}: the page itself");
    }
    assert_eq!(status(&host, "Sec-Fetch-Site: same-origin\r\n"), 200);
}

#[test]
fn a_wildcard_bind_answers_to_loopback_and_allowed_names_only() {
    let s = Server::start_with(&["--host", "0.0.0.0", "--allow-host", "dash.test:8443"]);
    let port = s.addr.rsplit(':').next().unwrap().to_string();
    let status = |host: &str| raw(&s.addr, &request("GET", "/api/schema", host, "", "")).status;
    assert_eq!(status(&format!("127.0.0.1:{port}")), 200);
    assert_eq!(status(&format!("localhost:{port}")), 200);
    assert_eq!(status("dash.test:8443"), 200);
    assert_eq!(status(&format!("dash.test:{port}")), 421);
    assert_eq!(status(&format!("0.0.0.0:{port}")), 421);
    assert_eq!(status(&format!("192.168.1.10:{port}")), 421);
}

#[test]
fn posts_must_be_json() {
    let s = Server::start();
    let host = s.addr.clone();
    for (ct, want) in [
        ("text/plain", 415),
        ("text/plain;charset=UTF-8", 415),
        ("application/x-www-form-urlencoded", 415),
        ("multipart/form-data; boundary=x", 415),
        ("application/jsonp", 415),
        ("application/json", 200),
        ("application/json; charset=utf-8", 200),
        ("APPLICATION/JSON", 200),
    ] {
        let r = raw(
            &s.addr,
            &request(
                "POST",
                "/api/run",
                &host,
                &format!("Content-Type: {ct}\r\n"),
                SMALL_RUN,
            ),
        );
        assert_eq!(r.status, want, "{ct}: {r:?}");
    }
    let r = raw(&s.addr, &request("POST", "/api/run", &host, "", SMALL_RUN));
    assert_eq!(r.status, 415, "no Content-Type");
    // The upload is JSON too; TOML sent as text is refused.
    let r = raw(
        &s.addr,
        &request(
            "POST",
            "/api/parse-scenario",
            &host,
            "Content-Type: text/plain\r\n",
            "preset = 'privacy'",
        ),
    );
    assert_eq!(r.status, 415);
    let (status, parsed) = post(
        &format!("{}/api/parse-scenario", s.url),
        r#"{"name": "p.toml", "text": "preset = 'privacy'"}"#,
    );
    assert_eq!(status, 200, "{parsed}");
    assert_eq!(parsed["preset"], "privacy");
}

#[test]
fn an_uploaded_scenarios_errors_name_the_uploaded_file() {
    let s = Server::start();
    let url = format!("{}/api/parse-scenario", s.url);
    for (text, part) in [
        ("[market]\nfee_rate = 7\n", "market.fee_rate"),
        ("[market\n", "TOML"),
        ("[market]\nfee_rte = 0.1\n", "fee_rte"),
    ] {
        let body = serde_json::json!({"name": "mine.toml", "text": text}).to_string();
        let (status, reply) = post(&url, &body);
        assert_eq!(status, 422, "{text}: {reply}");
        let e = reply["error"].as_str().unwrap();
        assert!(e.contains("uploaded file mine.toml"), "{e}");
        assert!(!e.contains("sweep file"), "{e}");
        assert!(e.contains(part), "{e}");
    }
    // A name is only a name: no path, no control characters.
    let body = serde_json::json!({"name": "../../etc/\u{1b}[31mx.toml", "text": "[market]\nfee_rate = 7\n"}).to_string();
    let (_, reply) = post(&url, &body);
    let e = reply["error"].as_str().unwrap();
    assert!(e.contains("uploaded file [31mx.toml"), "{e}");
    let (status, _) = post(&url, r#"{"name": "x.toml"}"#);
    assert_eq!(status, 422);
}

#[test]
fn oversized_bodies_are_refused_before_they_are_read() {
    let s = Server::start();
    let host = s.addr.clone();
    for path in ["/api/run", "/api/band", "/api/parse-scenario"] {
        let mut sock = TcpStream::connect(&s.addr).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let started = Instant::now();
        // Headers only: the 413 must come without the body.
        write!(sock, "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 5000000000\r\n\r\n").unwrap();
        let r = server::read_response(&mut sock);
        assert_eq!(r.status, 413, "{path}: {r:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    // Chunked, no length announced: cut off at the limit.
    let mut sock = TcpStream::connect(&s.addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(sock, "POST /api/run HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n").unwrap();
    let chunk = "a".repeat(16 * 1024);
    for _ in 0..8 {
        if write!(sock, "{:x}\r\n{chunk}\r\n", chunk.len()).is_err() {
            break;
        }
    }
    let r = server::read_response(&mut sock);
    assert_eq!(r.status, 413, "{r:?}");
}

#[test]
fn slow_headers_are_dropped_after_10_seconds() {
    let s = Server::start();
    // A slowloris: a header byte every half second never finishes its headers.
    let mut sock = TcpStream::connect(&s.addr).unwrap();
    let started = Instant::now();
    let head = format!("GET /api/schema HTTP/1.1\r\nHost: {}\r\nX-Slow: ", s.addr);
    sock.write_all(head.as_bytes()).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut b = [0u8; 64];
    while started.elapsed() < Duration::from_secs(30) {
        if sock.write_all(b"a").is_err() {
            break;
        }
        match sock.read(&mut b) {
            // Closed by the server (or reset).
            Ok(0) => break,
            Ok(_) => panic!("answered before the headers were complete"),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
    }
    let took = started.elapsed();
    eprintln!("slow client dropped after {took:?}");
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(13),
        "{took:?}"
    );
    // A connection that sends nothing at all is closed too.
    let mut idle = TcpStream::connect(&s.addr).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let started = Instant::now();
    assert_eq!(idle.read(&mut b).unwrap_or(0), 0);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(13),
        "{took:?}"
    );
}

#[test]
fn idle_connections_do_not_shut_anyone_out() {
    let s = Server::start();
    let host = s.addr.clone();
    let small = |what: &str| {
        let started = Instant::now();
        let (status, body) = post_with(
            &agent_timeout(Duration::from_secs(10)),
            &format!("{}/api/run", s.url),
            SMALL_RUN,
        );
        assert_eq!(status, 200, "{what}: {body}");
        started.elapsed()
    };
    let before = small("before");
    let rss_before = s.rss_kib();
    // 200 idle connections, 100 with half their headers and 100 with their headers and
    // half a body: more than the server keeps.
    let mut idle = Vec::new();
    for i in 0..400 {
        let mut sock = TcpStream::connect(&s.addr).unwrap();
        if i % 4 == 0 {
            sock.write_all(format!("GET / HTTP/1.1\r\nHost: {host}\r\n").as_bytes())
                .unwrap();
        } else if i % 4 == 1 {
            sock.write_all(format!("POST /api/run HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"settings\"").as_bytes())
                .unwrap();
        }
        idle.push(sock);
    }
    std::thread::sleep(Duration::from_millis(300));
    let during: Vec<Duration> = (0..5)
        .map(|_| small("with 400 idle connections open"))
        .collect();
    let (status, _) = get(&format!("{}/api/schema", s.url));
    assert_eq!(status, 200);
    let rss_during = s.rss_kib();
    drop(idle);
    let after = small("after");
    eprintln!(
        "small run: {before:?} before, {during:?} with 400 idle connections, {after:?} after; RSS {rss_before} -> {rss_during} KiB"
    );
    assert!(
        during.iter().all(|d| *d < Duration::from_secs(2)),
        "{during:?}"
    );
    assert!(
        rss_during < rss_before + 100 * 1024,
        "{rss_before} -> {rss_during} KiB"
    );
}

#[test]
fn a_body_that_does_not_arrive_is_given_up_after_30_seconds() {
    let s = Server::start();
    let mut sock = TcpStream::connect(&s.addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(45)))
        .unwrap();
    let started = Instant::now();
    write!(sock, "POST /api/run HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"settings\"", s.addr).unwrap();
    let r = server::read_response(&mut sock);
    let took = started.elapsed();
    assert_eq!(r.status, 408, "{r:?}");
    assert!(
        took >= Duration::from_secs(29) && took < Duration::from_secs(35),
        "{took:?}"
    );
}

#[test]
fn an_abandoned_run_stops_and_frees_its_worker() {
    let s = Server::start();
    let url = format!("{}/api/run", s.url);
    let small = || {
        let started = Instant::now();
        let (status, body) = post(&url, SMALL_RUN);
        assert_eq!(status, 200, "{body}");
        started.elapsed()
    };
    let before = (0..3).map(|_| small()).min().unwrap();
    let rss_before = s.rss_kib();
    // How long the slow run takes when waited for.
    let started = Instant::now();
    let (status, body) = post(&url, SLOW_RUN);
    assert_eq!(status, 200, "{body}");
    let slow = started.elapsed();
    // Four clients (more than the workers) start it and hang up after 300 ms.
    let quitters: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                post_with(&agent_timeout(Duration::from_millis(300)), &url, SLOW_RUN).0
            })
        })
        .collect();
    // During: a small run sent while every worker is taken by a client about to hang up
    // is served as soon as they do (not when their runs would have ended).
    std::thread::sleep(Duration::from_millis(100));
    let during = small();
    for q in quitters {
        assert_eq!(q.join().unwrap(), 0, "the client gave up");
    }
    // Within 100 ms of the disconnect the runs have stopped: no CPU is used after that.
    std::thread::sleep(Duration::from_millis(150));
    let cpu = s.cpu();
    std::thread::sleep(Duration::from_millis(700));
    let busy = s.cpu() - cpu;
    let after = small();
    let rss_after = s.rss_kib();
    eprintln!(
        "slow run {slow:?}; small run {before:?} before, {during:?} while four clients 200 ms from hanging up held the workers, {after:?} right after; CPU in the 0.7 s after: {busy:?}; RSS {rss_before} -> {rss_after} KiB"
    );
    assert!(during < Duration::from_millis(200 + 400), "{during:?}");
    assert!(
        busy < Duration::from_millis(150),
        "the abandoned runs kept running: {busy:?}"
    );
    assert!(after < before + Duration::from_millis(500), "{after:?}");
    assert!(after * 4 < slow, "{after:?} vs {slow:?}");
    assert!(
        rss_after < rss_before + 200 * 1024,
        "{rss_before} -> {rss_after} KiB"
    );
}

#[test]
fn an_abandoned_download_stops_and_no_get_buffers_the_whole_file() {
    let s = Server::start();
    let rss_before = s.rss_kib();
    // One agent for 3 million steps: about half a gigabyte of CSV, within the limit.
    let scenario = r#"{"settings": {"simulation.total_steps": 3000000, "simulation.initial_agents": 0, "simulation.agents_per_entry": 1, "simulation.entry_steps": 1000000000}}"#;
    let resp = agent_timeout(Duration::from_secs(60))
        .get(&format!("{}/api/data.csv?s={}", s.url, enc(scenario)))
        .call()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.header("content-length").is_none(),
        "streamed, not buffered"
    );
    let mut reader = resp.into_reader();
    let mut first = vec![0u8; 2 << 20];
    reader.read_exact(&mut first).unwrap();
    assert!(first.starts_with(b"step,"));
    let rss_during = s.rss_kib();
    drop(reader);
    std::thread::sleep(Duration::from_millis(200));
    let cpu = s.cpu();
    std::thread::sleep(Duration::from_millis(700));
    let busy = s.cpu() - cpu;
    eprintln!("download: RSS {rss_before} -> {rss_during} KiB while streaming; CPU after the hang-up {busy:?}");
    assert!(
        rss_during < rss_before + 64 * 1024,
        "{rss_before} -> {rss_during} KiB"
    );
    assert!(busy < Duration::from_millis(150), "{busy:?}");
    // More rows than the limit allows are refused before anything runs.
    let huge = r#"{"settings": {"simulation.total_steps": 100000000, "simulation.initial_agents": 0, "simulation.agents_per_entry": 1, "simulation.entry_steps": 1000000000}}"#;
    let (status, body) = get(&format!("{}/api/data.csv?s={}", s.url, enc(huge)));
    assert_eq!(status, 422, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("per row"));
}

#[test]
fn the_cost_counts_every_step_and_every_seed() {
    let s = Server::start();
    let url = format!("{}/api/run", s.url);
    // One agent for 1e8 steps is 1e8 agent-steps, but each step costs more than an agent.
    let one_agent = |steps: u64| {
        format!(
            r#"{{"settings": {{"simulation.total_steps": {steps}, "simulation.initial_agents": 0, "simulation.agents_per_entry": 1, "simulation.entry_steps": 4000000000}}}}"#
        )
    };
    let (status, body) = post(&url, &one_agent(100_000_000));
    assert_eq!(status, 422, "{body}");
    let e = body["error"].as_str().unwrap();
    assert!(e.contains("per step"), "{e}");
    assert_eq!(body["key"], "simulation.total_steps");
    let (status, body) = post(&url, &one_agent(20_000_000));
    assert_eq!(status, 422, "{body}");
    // The schema states the pricing.
    let (_, schema) = get(&format!("{}/api/schema", s.url));
    let schema: serde_json::Value = serde_json::from_slice(&schema).unwrap();
    let step_cost = schema["limits"]["step_cost"].as_f64().unwrap();
    assert!(step_cost >= 1.0, "{schema}");
    // A band counts all its seeds: 100 default runs are more than one band may cost.
    let (status, body) = post(&format!("{}/api/band", s.url), r#"{"seeds": 100}"#);
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["key"], "seeds");
    assert!(
        body["error"].as_str().unwrap().contains("all its seeds"),
        "{body}"
    );
    let (status, body) = post(
        &format!("{}/api/band", s.url),
        r#"{"seeds": 3, "settings": {"simulation.total_steps": 100}}"#,
    );
    assert_eq!(status, 200, "{body}");
}

#[test]
fn session_ids_are_bounded_and_the_session_table_stays_small() {
    let s = Server::start();
    let url = format!("{}/api/run", s.url);
    let run = |session: &serde_json::Value| {
        post(&url, &serde_json::json!({"session": session, "seq": 1, "settings": {"simulation.total_steps": 10}}).to_string())
    };
    assert_eq!(run(&serde_json::json!("a".repeat(128))).0, 200);
    for bad in [
        serde_json::json!("a".repeat(129)),
        serde_json::json!("é".repeat(200)),
        serde_json::json!(7),
        serde_json::json!(["x"]),
    ] {
        let (status, body) = run(&bad);
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["key"], "session", "{body}");
    }
    let (status, body) = post(&url, r#"{"session": "x", "seq": -1}"#);
    assert_eq!(status, 422, "{body}");
    // The attack that used to keep 516 MB: thousands of requests with 60 KB session ids.
    let rss_before_long = s.rss_kib();
    let agent = agent_timeout(Duration::from_secs(30));
    for i in 0..2000 {
        let id = format!("{i}{}", "x".repeat(60_000));
        let body = serde_json::json!({"session": id, "seq": 1, "settings": {"simulation.total_steps": 10}}).to_string();
        let (status, reply) = post_with(&agent, &url, &body);
        assert_eq!(status, 422, "{reply}");
    }
    let rss_after_long = s.rss_kib();
    eprintln!(
        "2,000 requests with 60 KB session ids: RSS {rss_before_long} -> {rss_after_long} KiB"
    );
    assert!(
        rss_after_long < rss_before_long + 20 * 1024,
        "{rss_before_long} -> {rss_after_long} KiB"
    );
    // 3,000 sessions of the longest id: the table forgets the oldest.
    let rss_before = s.rss_kib();
    let agent = agent_timeout(Duration::from_secs(30));
    for i in 0..3000 {
        let id = format!("{i:0>128}");
        let body = serde_json::json!({"session": id, "seq": 1, "settings": {"simulation.total_steps": 10}}).to_string();
        assert_eq!(post_with(&agent, &url, &body).0, 200);
    }
    let rss_after = s.rss_kib();
    eprintln!("3,000 sessions: RSS {rss_before} -> {rss_after} KiB");
    assert!(
        rss_after < rss_before + 20 * 1024,
        "{rss_before} -> {rss_after} KiB"
    );
}

#[test]
fn a_newer_request_supersedes_a_band_in_flight_and_stale_ones_are_refused() {
    let s = Server::start();
    let band = format!("{}/api/band", s.url);
    let slow = {
        let band = band.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            let r = post(
                &band,
                r#"{"session": "b", "seq": 5, "seeds": 20, "settings": {"simulation.total_steps": 2000, "simulation.agents_per_entry": 30}}"#,
            );
            (r, started.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let newer = Instant::now();
    let (status, body) = post(
        &band,
        r#"{"session": "b", "seq": 6, "seeds": 2, "settings": {"simulation.total_steps": 50}}"#,
    );
    assert_eq!(status, 200, "{body}");
    let ((status, body), _) = slow.join().unwrap();
    assert_eq!(status, 409, "{body}");
    let took = newer.elapsed();
    eprintln!("superseded band answered within {took:?} of the newer band");
    assert!(took < Duration::from_millis(1500), "{took:?}");
    // An older request than the latest is refused at once.
    let (status, _) = post(
        &band,
        r#"{"session": "b", "seq": 4, "seeds": 2, "settings": {"simulation.total_steps": 50}}"#,
    );
    assert_eq!(status, 409);
    // Runs and bands of one session do not supersede each other.
    let (status, _) = post(
        &format!("{}/api/run", s.url),
        r#"{"session": "b", "seq": 1, "settings": {"simulation.total_steps": 50}}"#,
    );
    assert_eq!(status, 200);
}

#[test]
fn sigterm_and_ctrl_c_stop_the_server_within_a_second_with_work_in_flight() {
    for (signal, code) in [("TERM", 143), ("INT", 130)] {
        let mut s = Server::start();
        let mut clients = Vec::new();
        for body in [SLOW_RUN, SLOW_RUN] {
            let url = format!("{}/api/run", s.url);
            clients.push(std::thread::spawn(move || post(&url, body).0));
        }
        let band = format!("{}/api/band", s.url);
        clients.push(std::thread::spawn(move || {
            post(
                &band,
                r#"{"seeds": 20, "settings": {"simulation.agents_per_entry": 30}}"#,
            )
            .0
        }));
        let csv = format!("{}/api/data.csv?s={}", s.url, enc(SLOW_RUN));
        clients.push(std::thread::spawn(move || get(&csv).0));
        std::thread::sleep(Duration::from_millis(600));
        let (status, took) = s.stop_with(signal);
        eprintln!("SIG{signal} with four requests in flight: exited {status} after {took:?}");
        assert_eq!(status.code(), Some(code));
        assert!(took < Duration::from_millis(1200), "{took:?}");
        for c in clients {
            let status = c.join().unwrap();
            assert!(status == 503 || status == 0 || status == 200, "{status}");
        }
    }
}

#[test]
fn a_flood_of_runs_is_queued_within_bounds_and_small_requests_still_get_through() {
    let s = Server::start();
    let url = format!("{}/api/run", s.url);
    // 100 clients ask for slow runs at once and hang up after 2 s.
    let flood: Vec<_> = (0..100)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                post_with(&agent_timeout(Duration::from_secs(2)), &url, SLOW_RUN).0
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    // The page itself and the schema are served meanwhile: they need no worker.
    let started = Instant::now();
    let (status, _) = get(&format!("{}/api/schema", s.url));
    assert_eq!(status, 200);
    let schema = started.elapsed();
    let statuses: Vec<u16> = flood.into_iter().map(|t| t.join().unwrap()).collect();
    let refused = statuses.iter().filter(|&&c| c == 503).count();
    assert!(
        statuses.iter().all(|&c| c == 503 || c == 0 || c == 200),
        "{statuses:?}"
    );
    // At most 64 wait; the rest are told at once.
    assert!(refused >= 100 - 64 - 2, "{refused} refused: {statuses:?}");
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let (status, body) = post(&url, SMALL_RUN);
    assert_eq!(status, 200, "{body}");
    let after = started.elapsed();
    eprintln!("flood of 100 slow runs: {refused} refused at once; schema in {schema:?} during it, a small run in {after:?} after");
    assert!(schema < Duration::from_secs(1) && after < Duration::from_secs(1));
}

#[test]
fn a_request_that_sets_one_share_gets_the_others_rebalanced() {
    let s = Server::start();
    let (status, body) = post(
        &format!("{}/api/run", s.url),
        r#"{"settings": {"agents.degen.share": 0.5, "simulation.total_steps": 400}}"#,
    );
    assert_eq!(status, 200, "{body}");
    let last = |t: &str| {
        body["series"]["agents"][t]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .as_f64()
            .unwrap()
    };
    let total: f64 = ["degen", "organization", "power", "active", "casual"]
        .iter()
        .map(|t| last(t))
        .sum();
    // Newcomers follow the rebalanced shares (0.5, and 0.3 x 0.5 / 0.6 = 0.25 active).
    assert!((last("degen") / total - 0.5).abs() < 0.02, "{body}");
    assert!((last("active") / total - 0.25).abs() < 0.02, "{body}");
    // Shares set together that leave the others less than nothing name both.
    let (status, body) = post(
        &format!("{}/api/run", s.url),
        r#"{"settings": {"pie.shares.power": 0.7, "pie.shares.active": 0.5}}"#,
    );
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["key"], "pie.shares.active", "{body}");
    assert_eq!(
        body["keys"],
        serde_json::json!(["pie.shares.active", "pie.shares.power"])
    );
}
