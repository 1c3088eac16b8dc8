//! The hardening of issue 16, one module per hole an attacker tried; each
//! test failed before its fix.

mod mcp;
mod sessions;
mod ssrf;
