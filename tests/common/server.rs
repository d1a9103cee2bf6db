//! A `datadao serve` process for the dashboard tests: started on a free loopback port,
//! stopped when dropped; and raw HTTP for requests a client library would tidy up
//! (foreign `Host` and `Origin` headers, lying `Content-Length`, slow or idle sockets).

#![allow(dead_code)] // each of the test files that share this module uses part of it

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running dashboard server.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub url: String,
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

impl Server {
    /// Start the binary with `serve --port 0` and read the address it prints.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// As [`Server::start`], with more arguments for `serve` (`--allow-host`, `--host`).
    pub fn start_with(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_datadao"))
            .args(["serve", "--port", "0"])
            .args(args)
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
        // A wildcard bind prints 0.0.0.0; the tests talk to it over loopback.
        let port = url.rsplit(':').next().unwrap().to_string();
        let addr = format!("127.0.0.1:{port}");
        let url = format!("http://{addr}");
        Self { child, url, addr }
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident memory in KiB (`VmRSS` in `/proc/PID/status`).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap()
    }

    /// CPU time the server has used so far (user + system), from `/proc/PID/stat`.
    pub fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap();
        // Fields after the command name (which is in parentheses): utime is the 12th.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
    }

    /// Send `signal` (e.g. "TERM") and wait for the process to end: (exit status, time).
    pub fn stop_with(&mut self, signal: &str) -> (std::process::ExitStatus, Duration) {
        let started = Instant::now();
        let ok = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, started.elapsed());
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the server did not stop"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
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
    agent_timeout(Duration::from_secs(60))
}

/// An HTTP client that gives up (and closes its connection) after `timeout`.
pub fn agent_timeout(timeout: Duration) -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(timeout).build()
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
    post_with(&agent(), url, body)
}

/// POST JSON with `agent`, returning (status, body as JSON).
pub fn post_with(agent: &ureq::Agent, url: &str, body: &str) -> (u16, serde_json::Value) {
    let r = agent
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

/// A response read off a raw socket.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    /// Header names in lower case, with their values.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Raw {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Send `request` as is (it should say `Connection: close`) and read the whole answer.
pub fn raw(addr: &str, request: &[u8]) -> Raw {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(request).unwrap();
    read_response(&mut s)
}

/// Read one response (status line, headers, body to the end of the connection or its
/// Content-Length).
pub fn read_response(s: &mut TcpStream) -> Raw {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let mut head_end = None;
    loop {
        if let Some(end) = head_end {
            let head = String::from_utf8_lossy(&data[..end]).to_string();
            let len = head.lines().find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            });
            if len.is_some_and(|n| data.len() >= end + 4 + n) {
                break;
            }
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
        if head_end.is_none() {
            head_end = data.windows(4).position(|w| w == b"\r\n\r\n");
        }
    }
    let end = head_end.unwrap_or(data.len());
    let head = String::from_utf8_lossy(&data[..end]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let body = String::from_utf8_lossy(data.get(end + 4..).unwrap_or_default()).to_string();
    Raw {
        status,
        headers,
        body,
    }
}

/// A request with these extra header lines (each ending in `\r\n`) and body.
pub fn request(method: &str, path: &str, host: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
