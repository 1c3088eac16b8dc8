//! The hardening of issue 16, one module per hole an attacker tried; each
//! test failed before its fix.

mod browsers;
mod decoration;
mod matrix;
mod mcp;
mod rate_limits;
mod redaction;
mod roles;
mod sessions;
mod ssrf;
