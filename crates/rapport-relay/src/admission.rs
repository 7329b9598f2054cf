//! Who may open a connection before any token is looked at: sources that keep presenting wrong
//! tokens are held off ([`FailedLogins`]), and a token may hold only so many connections at once
//! ([`OpenConnections`]).
//!
//! **Invariant:** the memory both take is bounded: `FailedLogins` tracks at most
//! [`MAX_TRACKED_SOURCES`] sources, `OpenConnections` one entry per token with a connection open.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::hub::lock;
use crate::rate::{Allowance, RateLimit};

/// The most sources whose failed attempts are remembered (about 40 bytes each).
pub(crate) const MAX_TRACKED_SOURCES: usize = 16_384;

/// Where attempts come from, as far as rate limiting goes: an IPv4 address, or the /64
/// network of an IPv6 address (what one host usually has to itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Source {
    V4([u8; 4]),
    V6Network([u8; 8]),
}

impl From<IpAddr> for Source {
    fn from(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Source::V4(v4.octets()),
            IpAddr::V6(v6) => Source::V6Network(network_64(v6)),
        }
    }
}

fn network_64(ip: Ipv6Addr) -> [u8; 8] {
    let mut network = [0; 8];
    network.copy_from_slice(&ip.octets()[..8]);
    network
}

/// Whether an attempt was counted against its source when it was let go ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Attempt {
    Counted,
    Uncounted,
}

/// Failed authentications per source, each source with its own [`Allowance`].
#[derive(Debug)]
pub(crate) struct FailedLogins {
    limit: RateLimit,
    sources: Mutex<HashMap<Source, Allowance>>,
}

impl FailedLogins {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            sources: Mutex::new(HashMap::new()),
        }
    }

    /// Lets an attempt from `source` go ahead, or `Err(retry_after)` when the source failed
    /// too often lately to be heard now. A source that failed lately has the attempt counted as
    /// failed right away, until its [outcome](FailedLogins::outcome) says otherwise, so that
    /// attempts made at once cannot together go past its limit; a source with a clean record is
    /// not held back by its own attempts in flight (a burst of members' connections behind one
    /// address), and not remembered.
    pub(crate) fn attempt(&self, source: Source, now: Instant) -> Result<Attempt, Duration> {
        let mut sources = lock(&self.sources);
        let Some(allowance) = sources.get_mut(&source).filter(|a| !a.is_full(now)) else {
            return Ok(Attempt::Uncounted);
        };
        let wait = allowance.wait(&self.limit, now);
        if !wait.is_zero() {
            return Err(wait);
        }
        allowance.spend(&self.limit, 1, now);
        Ok(Attempt::Counted)
    }

    /// How an attempt from `source` ended: a wrong token counts against it, anything else (it
    /// authenticated, it had no token, the relay could not tell) does not.
    pub(crate) fn outcome(&self, source: Source, attempt: Attempt, failed: bool, now: Instant) {
        let mut sources = lock(&self.sources);
        match (attempt, failed) {
            (Attempt::Counted, true) | (Attempt::Uncounted, false) => {}
            (Attempt::Counted, false) => {
                if let Some(allowance) = sources.get_mut(&source) {
                    allowance.refund(&self.limit, 1, now);
                }
            }
            (Attempt::Uncounted, true) => {
                if !sources.contains_key(&source) && sources.len() >= MAX_TRACKED_SOURCES {
                    make_room(&mut sources, now);
                }
                let allowance = sources.entry(source).or_insert_with(|| Allowance::new(now));
                allowance.spend(&self.limit, 1, now);
            }
        }
    }

    /// Whether `source` is held off now.
    pub(crate) fn holds_off(&self, source: Source, now: Instant) -> bool {
        lock(&self.sources)
            .get(&source)
            .is_some_and(|allowance| !allowance.wait(&self.limit, now).is_zero())
    }

    /// How many sources are remembered.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        lock(&self.sources).len()
    }
}

/// Forgets the sources whose allowance is whole again (they are as good as unknown), and if
/// that frees nothing, the one closest to it: the sources failing most are the ones kept.
fn make_room(sources: &mut HashMap<Source, Allowance>, now: Instant) {
    sources.retain(|_, allowance| !allowance.is_full(now));
    if sources.len() < MAX_TRACKED_SOURCES {
        return;
    }
    let least_failing = sources
        .iter()
        .min_by_key(|(_, allowance)| allowance.refilling(now))
        .map(|(source, _)| *source);
    if let Some(source) = least_failing {
        sources.remove(&source);
    }
}

/// The connections open per token.
#[derive(Debug, Default)]
pub(crate) struct OpenConnections {
    per_token: Arc<Mutex<HashMap<String, usize>>>,
}

/// One connection of a token, counted until dropped.
#[derive(Debug)]
pub(crate) struct TokenSlot {
    per_token: Arc<Mutex<HashMap<String, usize>>>,
    token_id: String,
}

impl Drop for TokenSlot {
    fn drop(&mut self) {
        let mut per_token = lock(&self.per_token);
        if let Some(open) = per_token.get_mut(&self.token_id) {
            *open -= 1;
            if *open == 0 {
                per_token.remove(&self.token_id);
            }
        }
    }
}

impl OpenConnections {
    /// A slot for one more connection of token `token_id`; `None` when it already holds `max`.
    pub(crate) fn admit(&self, token_id: &str, max: usize) -> Option<TokenSlot> {
        let mut per_token = lock(&self.per_token);
        let open = per_token.entry(token_id.to_owned()).or_insert(0);
        if *open >= max {
            if *open == 0 {
                per_token.remove(token_id);
            }
            return None;
        }
        *open += 1;
        Some(TokenSlot {
            per_token: self.per_token.clone(),
            token_id: token_id.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const LIMIT: RateLimit = RateLimit {
        burst: 2,
        refill_every: Duration::from_secs(60),
    };

    /// One attempt from `source` that fails.
    fn fail(logins: &FailedLogins, source: Source, now: Instant) {
        let attempt = logins.attempt(source, now).unwrap();
        logins.outcome(source, attempt, true, now);
    }

    #[test]
    fn a_source_is_held_off_after_its_burst_of_failures_and_others_are_not() {
        let now = Instant::now();
        let logins = FailedLogins::new(LIMIT);
        let bad = Source::from(IpAddr::from([10, 0, 0, 1]));
        let good = Source::from(IpAddr::from([10, 0, 0, 2]));
        fail(&logins, bad, now);
        assert!(!logins.holds_off(bad, now));
        fail(&logins, bad, now);
        assert!(
            logins.holds_off(bad, now),
            "the second failure uses up the burst"
        );
        assert_eq!(logins.attempt(bad, now), Err(Duration::from_secs(60)));
        assert_eq!(logins.attempt(good, now), Ok(Attempt::Uncounted));
        let later = now + Duration::from_secs(60);
        assert_eq!(logins.attempt(bad, later), Ok(Attempt::Counted));
    }

    #[test]
    fn attempts_in_flight_count_once_a_source_has_failed_and_not_before() {
        let now = Instant::now();
        let logins = FailedLogins::new(LIMIT);
        let source = Source::from(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..5 {
            assert_eq!(logins.attempt(source, now), Ok(Attempt::Uncounted));
        }
        assert_eq!(logins.tracked(), 0, "a clean record is not remembered");
        fail(&logins, source, now);
        let in_flight = logins.attempt(source, now).unwrap();
        assert_eq!(in_flight, Attempt::Counted);
        assert!(
            logins.attempt(source, now).is_err(),
            "one failure and one in flight"
        );
        logins.outcome(source, in_flight, false, now);
        assert_eq!(logins.attempt(source, now), Ok(Attempt::Counted));
    }

    #[test]
    fn an_ipv6_host_is_one_source_with_its_network_and_a_mapped_ipv4_is_its_ipv4() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(Source::from(a), Source::from(b));
        assert_ne!(Source::from(a), Source::from(c));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(
            Source::from(mapped),
            Source::from(IpAddr::from([10, 0, 0, 1]))
        );
    }

    #[test]
    fn the_table_of_sources_stays_bounded_and_keeps_the_worst_ones() {
        let now = Instant::now();
        let logins = FailedLogins::new(LIMIT);
        let worst = Source::from(IpAddr::from([192, 0, 2, 1]));
        fail(&logins, worst, now);
        fail(&logins, worst, now);
        for i in 0..(MAX_TRACKED_SOURCES as u32 + 100) {
            fail(
                &logins,
                Source::from(IpAddr::from((i + 1).to_be_bytes())),
                now,
            );
        }
        assert_eq!(logins.tracked(), MAX_TRACKED_SOURCES);
        assert!(logins.holds_off(worst, now));
    }

    #[test]
    fn a_token_holds_at_most_its_share_of_connections_and_gets_them_back_on_close() {
        let open = OpenConnections::default();
        let first = open.admit("t1", 2).unwrap();
        let _second = open.admit("t1", 2).unwrap();
        assert!(open.admit("t1", 2).is_none());
        assert!(open.admit("t2", 2).is_some());
        drop(first);
        assert!(open.admit("t1", 2).is_some());
        assert!(open.admit("t3", 0).is_none());
        assert!(!lock(&open.per_token).contains_key("t3"));
    }
}
