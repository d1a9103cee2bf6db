//! A `datadao serve` process for the dashboard tests: started on a free loopback port,
//! stopped when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running dashboard server.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub url: String,
}

impl Server {
    /// Start the binary with `serve --port 0` and read the address it prints.
    pub fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_datadao"))
            .args(["serve", "--port", "0"])
            .env_clear()
            .stdout(Stdio::piped())
            // Not inherited: cargo waits for every holder of the test's output pipe.
            .stderr(Stdio::null())
            .spawn()
            .expect("start datadao serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("the server prints its address")
            .trim_end_matches('/')
            .to_string();
        Self { child, url }
    }

    /// Whether the process is still running.
    #[allow(dead_code)] // used by one of the two test files that share this module
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client that gives up after a minute, so a hung server fails a test instead
/// of stalling the suite.
fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(std::time::Duration::from_secs(60))
        .build()
}

/// The status and response of a request; a transport error (a server that closed the
/// connection before an oversized body was sent) is status 0 with no response.
fn outcome(r: Result<ureq::Response, ureq::Error>) -> (u16, Option<ureq::Response>, String) {
    match r {
        Ok(resp) => (resp.status(), Some(resp), String::new()),
        Err(ureq::Error::Status(code, resp)) => (code, Some(resp), String::new()),
        Err(e) => (0, None, e.to_string()),
    }
}

/// POST JSON, returning (status, body as JSON).
pub fn post(url: &str, body: &str) -> (u16, serde_json::Value) {
    let r = agent()
        .post(url)
        .set("content-type", "application/json")
        .send_string(body);
    let (status, resp, error) = outcome(r);
    let text = resp.map_or(error, |r| r.into_string().unwrap_or_default());
    let value = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, value)
}

/// GET, returning (status, body bytes).
pub fn get(url: &str) -> (u16, Vec<u8>) {
    let (status, resp, error) = outcome(agent().get(url).call());
    let mut bytes = Vec::new();
    match resp {
        Some(r) => {
            std::io::Read::read_to_end(&mut r.into_reader(), &mut bytes).unwrap();
        }
        None => bytes = error.into_bytes(),
    }
    (status, bytes)
}
