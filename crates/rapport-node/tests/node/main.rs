//! Local nodes and a real relay on loopback, driven over HTTP as a page drives them.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod fields;
mod indexing;
mod pages;
mod support;
