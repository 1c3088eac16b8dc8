//! Fake platform servers, written from each platform's API documentation:
//! same paths, methods, auth, request bodies, status codes and error bodies.
//! Each records every request so a test can assert on what Herald sent, and
//! takes scripted answers (errors, rate limits) for the next requests.

pub mod bluesky;
pub mod buttondown;
pub mod devto;
pub mod discord;
pub mod dribbble;
pub mod facebook;
pub mod farcaster;
pub mod ghost;
pub mod gmb;
pub mod googlechat;
pub mod hashnode;
pub mod instagram;
pub mod lemmy;
pub mod linkedin;
pub mod listmonk;
pub mod mastodon;
pub mod mattermost;
pub mod medium;
pub mod misskey;
pub mod nostr_relay;
pub mod pinterest;
pub mod reddit;
pub mod server;
pub mod slack;
pub mod teams;
pub mod telegram;
pub mod threads;
pub mod tiktok;
pub mod tumblr;
pub mod vk;
pub mod wordpress;
pub mod x;
pub mod youtube;
pub mod zulip;

pub use server::{FormPart, Recorded, Scripted, consent};
