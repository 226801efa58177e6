//! Helpers for the end-to-end tests: run the real binaries, talk to them over
//! real sockets (plain HTTP, TLS, client certificates), make throwaway
//! certificate authorities, and wait for conditions with deadlines.

pub mod bench;
pub mod binary;
pub mod firebase;
pub mod http;
pub mod kube_api;
pub mod pki;
pub mod process;
pub mod redis;
pub mod tools;
pub mod wait;
