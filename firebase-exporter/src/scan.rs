//! Tallying users from `accounts:batchGet` pages without keeping them: each
//! user is decoded into a few borrowed fields, added to the counters, and
//! dropped before the next one is read. Memory is one page's reply, however
//! many users the project has.

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::clock::{parse_rfc3339, unix_millis};
use crate::error::JsonProblem;

/// The windows of the active and created breakdowns: label and days.
pub const WINDOWS: [(&str, i64); 3] = [("1d", 1), ("7d", 7), ("30d", 30)];

/// The `provider` label of users with no linked sign-in provider
/// (anonymous users, and custom-token or imported users without one).
pub const NO_PROVIDER: &str = "anonymous";

/// Providers are configured per project, so their number is small; past
/// this many distinct ones per pool, the rest are counted as
/// [`OTHER_PROVIDER`], which bounds the series and the memory per pool.
pub const MAX_PROVIDERS: usize = 64;

/// The `provider` label of the providers past [`MAX_PROVIDERS`].
const OTHER_PROVIDER: &str = "other";

const DAY_MS: i64 = 86_400_000;

/// Counts over the users of one project or tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub users: u64,
    pub disabled: u64,
    pub email_verified: u64,
    /// Users by linked provider; a user with two providers counts in both.
    /// At most [`MAX_PROVIDERS`] entries plus `other`.
    pub providers: BTreeMap<String, u64>,
    /// Users whose last sign-in or token refresh is within each of
    /// [`WINDOWS`].
    pub active: [u64; WINDOWS.len()],
    /// Users created within each of [`WINDOWS`].
    pub created: [u64; WINDOWS.len()],
    /// Users with a time (`createdAt`, `lastLoginAt`, `lastRefreshAt`)
    /// that could not be read: counted as if it were absent.
    pub unparsed: u64,
}

/// A time field of a user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Stamp {
    #[default]
    Absent,
    /// Milliseconds since the epoch.
    At(i64),
    /// Present but not a time this exporter can read.
    Unparsed,
}

impl Stamp {
    fn millis(self) -> Option<i64> {
        match self {
            Stamp::At(ms) => Some(ms),
            Stamp::Absent | Stamp::Unparsed => None,
        }
    }
}

/// One user, as far as the tally needs it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct User<'a> {
    #[serde(default)]
    disabled: Option<bool>,
    #[serde(default)]
    email_verified: Option<bool>,
    #[serde(default, deserialize_with = "millis")]
    created_at: Stamp,
    #[serde(default, deserialize_with = "millis")]
    last_login_at: Stamp,
    #[serde(default, deserialize_with = "rfc3339_millis")]
    last_refresh_at: Stamp,
    #[serde(default, borrow)]
    provider_user_info: Option<Vec<Provider<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Provider<'a> {
    #[serde(default, borrow)]
    provider_id: Option<std::borrow::Cow<'a, str>>,
}

impl Tally {
    fn add(&mut self, user: &User<'_>, now_ms: i64) {
        self.users += 1;
        self.disabled += u64::from(user.disabled.unwrap_or(false));
        self.email_verified += u64::from(user.email_verified.unwrap_or(false));
        let stamps = [user.created_at, user.last_login_at, user.last_refresh_at];
        self.unparsed += u64::from(stamps.contains(&Stamp::Unparsed));
        let created = user.created_at.millis();
        let last_active = user
            .last_login_at
            .millis()
            .max(user.last_refresh_at.millis());
        let windows = WINDOWS
            .iter()
            .zip(self.active.iter_mut().zip(&mut self.created));
        for ((_, days), (active, new)) in windows {
            let since = now_ms.saturating_sub(days.saturating_mul(DAY_MS));
            *active += u64::from(last_active.is_some_and(|at| at >= since));
            *new += u64::from(created.is_some_and(|at| at >= since));
        }
        let mut seen: Vec<&str> = Vec::new();
        for provider in user.provider_user_info.iter().flatten() {
            if let Some(id) = provider.provider_id.as_deref()
                && !id.is_empty()
                && !seen.contains(&id)
            {
                seen.push(id);
            }
        }
        if seen.is_empty() {
            seen.push(NO_PROVIDER);
        }
        for id in seen {
            self.count_provider(id);
        }
    }

    fn count_provider(&mut self, id: &str) {
        if let Some(count) = self.providers.get_mut(id) {
            *count += 1;
        } else if self.providers.len() < MAX_PROVIDERS {
            self.providers.insert(id.to_owned(), 1);
        } else {
            *self.providers.entry(OTHER_PROVIDER.to_owned()).or_default() += 1;
        }
    }
}

/// Adds the users of one `accounts:batchGet` reply to `tally` and returns
/// the next page's token (`None` on the last page). `now` is the time the
/// windows end at. A page that is not the expected JSON is an error; a
/// user's unreadable time is not (see [`Tally::unparsed`]).
pub fn fold_page(
    body: &[u8],
    now: SystemTime,
    tally: &mut Tally,
) -> Result<Option<String>, JsonProblem> {
    let now_ms = unix_millis(now);
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let token = PageSeed { tally, now_ms }
        .deserialize(&mut deserializer)
        .and_then(|token| deserializer.end().map(|()| token))
        .map_err(|err| JsonProblem::of(&err))?;
    Ok(token.filter(|token| !token.is_empty()))
}

struct PageSeed<'t> {
    tally: &'t mut Tally,
    now_ms: i64,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum PageField {
    Users,
    NextPageToken,
    #[serde(other)]
    Other,
}

impl<'de> DeserializeSeed<'de> for PageSeed<'_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PageSeed<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an accounts:batchGet reply (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut token = None;
        while let Some(field) = map.next_key::<PageField>()? {
            match field {
                PageField::Users => map.next_value_seed(UsersSeed {
                    tally: &mut *self.tally,
                    now_ms: self.now_ms,
                })?,
                PageField::NextPageToken => token = map.next_value::<Option<String>>()?,
                PageField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(token)
    }
}

struct UsersSeed<'t> {
    tally: &'t mut Tally,
    now_ms: i64,
}

impl<'de> DeserializeSeed<'de> for UsersSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UsersSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of users")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(user) = seq.next_element::<User<'de>>()? {
            self.tally.add(&user, self.now_ms);
        }
        Ok(())
    }
}

/// Milliseconds since the epoch, sent as a string of digits (int64 in
/// Google's JSON) or a number; any other string is [`Stamp::Unparsed`].
fn millis<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Stamp, D::Error> {
    struct Millis;
    impl Visitor<'_> for Millis {
        type Value = Stamp;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("milliseconds since the epoch")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Stamp, E> {
            Ok(Stamp::Absent)
        }
        fn visit_i64<E: de::Error>(self, value: i64) -> Result<Stamp, E> {
            Ok(Stamp::At(value))
        }
        fn visit_u64<E: de::Error>(self, value: u64) -> Result<Stamp, E> {
            Ok(i64::try_from(value).map_or(Stamp::Unparsed, Stamp::At))
        }
        fn visit_f64<E: de::Error>(self, value: f64) -> Result<Stamp, E> {
            // The cast saturates; a finite value is a time, if an odd one.
            Ok(if value.is_finite() {
                Stamp::At(value as i64)
            } else {
                Stamp::Unparsed
            })
        }
        fn visit_str<E: de::Error>(self, value: &str) -> Result<Stamp, E> {
            if value.is_empty() {
                return Ok(Stamp::Absent);
            }
            Ok(value.parse().map_or(Stamp::Unparsed, Stamp::At))
        }
    }
    deserializer.deserialize_any(Millis)
}

/// An RFC 3339 time (`lastRefreshAt`); a string that is not one is
/// [`Stamp::Unparsed`].
fn rfc3339_millis<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Stamp, D::Error> {
    struct Rfc3339;
    impl Visitor<'_> for Rfc3339 {
        type Value = Stamp;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an RFC 3339 time")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Stamp, E> {
            Ok(Stamp::Absent)
        }
        fn visit_str<E: de::Error>(self, value: &str) -> Result<Stamp, E> {
            if value.is_empty() {
                return Ok(Stamp::Absent);
            }
            Ok(parse_rfc3339(value).map_or(Stamp::Unparsed, Stamp::At))
        }
    }
    deserializer.deserialize_any(Rfc3339)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// 2026-11-25T00:00:00Z
    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_564_800)
    }

    fn ms_ago(days: f64) -> String {
        (unix_millis(now()) - (days * DAY_MS as f64) as i64).to_string()
    }

    #[test]
    fn a_page_is_tallied() {
        let body = format!(
            r#"{{"kind":"identitytoolkit#DownloadAccountResponse","users":[
              {{"localId":"a","disabled":true,"emailVerified":true,"createdAt":"{}","lastLoginAt":"{}",
                "passwordHash":"fakeHash:salt=x:password=secret","email":"a@example.com",
                "providerUserInfo":[{{"providerId":"password","email":"a@example.com"}},
                                    {{"providerId":"google.com"}},{{"providerId":"google.com"}}]}},
              {{"localId":"b","createdAt":"{}","lastRefreshAt":"2026-11-24T12:00:00.123Z",
                "providerUserInfo":[{{"providerId":"phone"}}],"mfaInfo":[{{"x":1}}]}},
              {{"localId":"c","createdAt":{},"lastLoginAt":"{}"}},
              {{"localId":"d"}}
            ],"nextPageToken":"d"}}"#,
            ms_ago(0.5),
            ms_ago(3.0),
            ms_ago(20.0),
            ms_ago(100.0),
            ms_ago(10.0),
        );
        let mut tally = Tally::default();
        let token = fold_page(body.as_bytes(), now(), &mut tally).unwrap();
        assert_eq!(token.as_deref(), Some("d"));
        assert_eq!(tally.users, 4);
        assert_eq!(tally.disabled, 1);
        assert_eq!(tally.email_verified, 1);
        let providers: Vec<(&str, u64)> = tally
            .providers
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(
            providers,
            [
                ("anonymous", 2),
                ("google.com", 1),
                ("password", 1),
                ("phone", 1)
            ]
        );
        // a: 3 days ago; b: refreshed 12 h ago; c: 10 days ago; d: never.
        assert_eq!(tally.active, [1, 2, 3]);
        // a: half a day ago; b: 20 days; c: 100 days; d: unknown.
        assert_eq!(tally.created, [1, 1, 2]);
    }

    #[test]
    fn the_last_page_has_no_token() {
        let mut tally = Tally::default();
        assert_eq!(
            fold_page(br#"{"users":[]}"#, now(), &mut tally).unwrap(),
            None
        );
        assert_eq!(fold_page(br#"{}"#, now(), &mut tally).unwrap(), None);
        assert_eq!(
            fold_page(br#"{"users":[{}],"nextPageToken":""}"#, now(), &mut tally).unwrap(),
            None
        );
        assert_eq!(tally.users, 1);
    }

    #[test]
    fn bad_pages_are_errors_not_panics() {
        for body in [
            &b""[..],
            b"[]",
            b"{\"users\":{}}",
            b"{\"users\":[{\"createdAt\":true}]}",
            b"{\"users\":[{\"lastRefreshAt\":5}]}",
            b"{\"users\":[{\"disabled\":\"yes\"}]}",
            b"{\"users\":[]} trailing",
            b"{\"users\":[\xff]}",
        ] {
            let mut tally = Tally::default();
            assert!(
                fold_page(body, now(), &mut tally).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn unreadable_times_are_counted_not_fatal() {
        let body = format!(
            r#"{{"users":[
              {{"createdAt":"abc","lastLoginAt":"{}"}},
              {{"lastRefreshAt":"1969-07-20T20:17:40Z"}},
              {{"lastRefreshAt":"2026-11-24t12:00:00+05:30"}},
              {{"lastRefreshAt":"2026-13-45T00:00:00Z"}},
              {{"createdAt":"18446744073709551615"}},
              {{"lastLoginAt":"{}","lastRefreshAt":"yesterday"}}
            ]}}"#,
            ms_ago(0.5),
            ms_ago(2.0),
        );
        let mut tally = Tally::default();
        assert_eq!(fold_page(body.as_bytes(), now(), &mut tally), Ok(None));
        assert_eq!(tally.users, 6);
        // "abc", month 13, the overflowing number, "yesterday".
        assert_eq!(tally.unparsed, 4);
        // The first user by lastLoginAt, the third (06:30 UTC yesterday),
        // the last by lastLoginAt; the 1969 refresh is long ago.
        assert_eq!(tally.active, [2, 3, 3]);
        assert_eq!(tally.created, [0, 0, 0]);
    }

    #[test]
    fn providers_are_capped() {
        let mut tally = Tally::default();
        for i in 0..(MAX_PROVIDERS + 10) {
            tally.count_provider(&format!("saml.p{i}"));
        }
        assert_eq!(tally.providers.len(), MAX_PROVIDERS + 1);
        assert_eq!(tally.providers[OTHER_PROVIDER], 10);
    }
}
