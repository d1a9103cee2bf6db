//! The security headers every response of the dashboard carries, in one place: the
//! guard sets them on what the handlers answer, the accept loop on what it answers
//! itself (timeouts, refusals before routing).

use axum::http::{HeaderMap, HeaderValue};

/// The page's Content-Security-Policy: its own script and style files only, no inline
/// code, nothing from another origin, never framed.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The security headers, on every response.
pub fn harden(headers: &mut HeaderMap) {
    let set = |h: &mut HeaderMap, name: &'static str, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(headers, "content-security-policy", CSP);
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "referrer-policy", "no-referrer");
    set(headers, "x-frame-options", "DENY");
    set(headers, "cross-origin-resource-policy", "same-origin");
    set(headers, "cross-origin-opener-policy", "same-origin");
}
