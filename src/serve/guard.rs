//! What every request passes before a handler sees it, and what every response carries.
//!
//! - [`Hosts`]: the `Host` header must name this server (its address, `localhost`,
//!   `127.0.0.1` or `[::1]` with its port, or a name given with `--allow-host`), else 421:
//!   a page on another name that resolves here (DNS rebinding) gets nothing. An `Origin`
//!   that is not one of those hosts, or `null`, gets 403 on any method; a request without
//!   `Origin` (curl, scripts) is allowed. `Sec-Fetch-Site: cross-site` or `same-site` on
//!   `/api/` gets 403 too, so another site's `<img>` or link cannot start a simulation.
//! - POST bodies: `application/json` only (415), a `Content-Length` over the limit gets
//!   413 before any of the body is read, and the body must arrive within
//!   [`BODY_TIMEOUT`] (408).
//! - The security headers every response carries are in `headers.rs` ([`super::headers::harden`]), set by the accept loop.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::api::{ApiError, BODY_LIMIT};

/// Longest wait for a request body once its headers are in.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// The names this server answers to.
#[derive(Debug, Clone)]
pub struct Hosts {
    /// Accepted `Host` values, lower case, with the port where one is needed.
    hosts: Vec<String>,
    /// The `--allow-host` names (they may also come through an https proxy).
    allowed: Vec<String>,
}

impl Hosts {
    /// For a server bound to `local`, started with `--host host_arg` and `--allow-host
    /// allow...`. A wildcard bind (0.0.0.0, ::) answers only to the loopback names and
    /// the `--allow-host` names.
    pub fn new(local: SocketAddr, host_arg: &str, allow: &[String]) -> Self {
        let port = local.port();
        let with_port = |name: &str| -> Vec<String> {
            let name = name.to_ascii_lowercase();
            let mut v = vec![format!("{name}:{port}")];
            if port == 80 {
                v.push(name);
            }
            v
        };
        let mut hosts = Vec::new();
        for name in ["localhost", "127.0.0.1", "[::1]"] {
            hosts.extend(with_port(name));
        }
        let ip = local.ip();
        if !ip.is_unspecified() {
            hosts.extend(with_port(&match ip {
                IpAddr::V4(v4) => v4.to_string(),
                IpAddr::V6(v6) => format!("[{v6}]"),
            }));
            // `--host myname`: the name the user gave is the server's too.
            let arg = host_arg.trim();
            if !arg.is_empty() && arg.parse::<IpAddr>().is_err() {
                hosts.extend(with_port(arg));
            }
        }
        let mut allowed = Vec::new();
        for name in allow {
            let name = name.trim().to_ascii_lowercase();
            if name.is_empty() {
                continue;
            }
            // `NAME` answers with or without the port (a proxy in front may drop it);
            // `NAME:PORT` exactly.
            if !name.ends_with(']') && name.contains(':') && !name.starts_with('[') {
                allowed.push(name);
            } else {
                allowed.push(format!("{name}:{port}"));
                allowed.push(name);
            }
        }
        hosts.extend(allowed.iter().cloned());
        let mut seen = std::collections::HashSet::new();
        hosts.retain(|h| seen.insert(h.clone()));
        Self { hosts, allowed }
    }

    /// Whether a `Host` header names this server.
    pub fn host_ok(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.hosts.contains(&host)
    }

    /// Whether an `Origin` header is this server's own page.
    pub fn origin_ok(&self, origin: &str) -> bool {
        let origin = origin.to_ascii_lowercase();
        if let Some(host) = origin.strip_prefix("http://") {
            return self.host_ok(host);
        }
        if let Some(host) = origin.strip_prefix("https://") {
            return self.allowed.iter().any(|h| h == host);
        }
        false
    }

    /// The accepted `Host` values, for messages.
    pub fn list(&self) -> String {
        self.hosts.join(", ")
    }
}

fn refuse(status: StatusCode, message: String) -> Response {
    ApiError::new(status, message).into_response()
}

fn text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"))
}

/// Shorten what a client sent before quoting it back.
fn quote(s: &str) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(80).collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}

/// The checks, in order: Host, Origin and fetch site, then for POST the content type,
/// the announced length and the body itself within [`BODY_TIMEOUT`].
pub async fn check(State(hosts): State<Arc<Hosts>>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    match text(headers, header::HOST) {
        Some(host) if hosts.host_ok(host) => {}
        Some(host) => {
            return refuse(
                StatusCode::MISDIRECTED_REQUEST,
                format!(
                "Host '{}' is not this server; accepted: {} (add a name with --allow-host NAME)",
                quote(host),
                hosts.list()
            ),
            )
        }
        None => {
            return refuse(
                StatusCode::MISDIRECTED_REQUEST,
                format!("no Host header; accepted: {}", hosts.list()),
            )
        }
    }
    if let Some(origin) = text(headers, header::ORIGIN) {
        if !hosts.origin_ok(origin) {
            return refuse(
                StatusCode::FORBIDDEN,
                format!(
                    "Origin '{}' is not this server's page; requests come from the dashboard itself or without an Origin (curl, scripts)",
                    quote(origin)
                ),
            );
        }
    }
    if req.uri().path().starts_with("/api/") {
        if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
            if site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site") {
                return refuse(
                    StatusCode::FORBIDDEN,
                    format!("a request from another site (Sec-Fetch-Site: {site}) is not served; open the dashboard itself"),
                );
            }
        }
    }
    if req.method() != Method::POST {
        let serving = super::net::serving(&req);
        return hold(next.run(req).await, serving);
    }
    let json = text(headers, header::CONTENT_TYPE).is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    if !json {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Content-Type '{}': accepted: application/json",
                quote(text(headers, header::CONTENT_TYPE).unwrap_or(""))
            ),
        );
    }
    if let Some(len) = text(headers, header::CONTENT_LENGTH) {
        match len.trim().parse::<u64>() {
            Ok(n) if n <= BODY_LIMIT as u64 => {}
            Ok(n) => {
                return refuse(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the request body is {n} bytes; accepted: at most {BODY_LIMIT}"),
                )
            }
            Err(_) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    format!("Content-Length '{}' is not a number", quote(len)),
                )
            }
        }
    }
    let (parts, body) = req.into_parts();
    let bytes = match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, BODY_LIMIT))
        .await
    {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body is over {BODY_LIMIT} bytes, or was cut off; accepted: at most {BODY_LIMIT}"),
            )
        }
        Err(_) => {
            return refuse(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {} s",
                    BODY_TIMEOUT.as_secs()
                ),
            )
        }
    };
    let req = Request::from_parts(parts, Body::from(bytes));
    let serving = super::net::serving(&req);
    hold(next.run(req).await, serving)
}

/// The response, with `guard` kept until its body is sent.
fn hold<T: Unpin + Send + 'static>(response: Response, guard: Option<T>) -> Response {
    match guard {
        Some(g) => response.map(|body| Body::new(super::net::Holding::new(body, g))),
        None => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_a_loopback_and_a_wildcard_bind() {
        let h = Hosts::new("127.0.0.1:8050".parse().unwrap(), "127.0.0.1", &[]);
        for ok in ["127.0.0.1:8050", "LOCALHOST:8050", "[::1]:8050"] {
            assert!(h.host_ok(ok), "{ok}");
        }
        for bad in [
            "evil.com:8050",
            "localhost",
            "127.0.0.1:80",
            "localhost:8051",
            "",
        ] {
            assert!(!h.host_ok(bad), "{bad}");
        }
        assert!(h.origin_ok("http://localhost:8050"));
        assert!(!h.origin_ok("null"));
        assert!(!h.origin_ok("https://localhost:8050"));
        assert!(!h.origin_ok("http://evil.com:8050"));
        let w = Hosts::new(
            "0.0.0.0:9000".parse().unwrap(),
            "0.0.0.0",
            &["dash.lan".into()],
        );
        assert!(!w.host_ok("0.0.0.0:9000"));
        assert!(!w.host_ok("192.168.1.4:9000"));
        assert!(w.host_ok("dash.lan:9000") && w.host_ok("dash.lan"));
        assert!(w.origin_ok("https://dash.lan"));
        let n = Hosts::new("192.168.1.4:9000".parse().unwrap(), "192.168.1.4", &[]);
        assert!(n.host_ok("192.168.1.4:9000"));
    }
}
