//! Names and help texts built at run time, kept once for the process.
//!
//! Some collectors build family names from what they read (a /proc/vmstat
//! field becomes `node_vmstat_<field>`). The same few hundred names come
//! back every scrape, so each is stored once and handed out as a borrowed
//! `&'static str`, which the metric model clones for free, instead of two
//! allocations per family per scrape.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{LazyLock, Mutex};

/// FNV-1a, for short keys that are not chosen by an attacker in a way that
/// matters (every table it serves is bounded): SipHash's cost buys nothing.
#[derive(Default)]
pub struct Fnv(u64);

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &byte in bytes {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A `HashMap`/`HashSet` hasher builder for [`Fnv`].
pub type FnvBuildHasher = BuildHasherDefault<Fnv>;

/// How many distinct strings are kept. The names of one machine's kernel
/// fields are a few hundred; the bound keeps a source of ever-new names
/// (devices that come and go) from growing the process without end.
const CAPACITY: usize = 8192;

static STRINGS: LazyLock<Mutex<HashSet<&'static str, FnvBuildHasher>>> =
    LazyLock::new(|| Mutex::new(HashSet::default()));

/// `text` as a string that lives for the rest of the process: found, or
/// stored now. Past [`CAPACITY`] distinct strings, an owned copy.
pub fn intern(text: &str) -> Cow<'static, str> {
    let mut strings = STRINGS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(&kept) = strings.get(text) {
        return Cow::Borrowed(kept);
    }
    if strings.len() >= CAPACITY {
        return Cow::Owned(text.to_owned());
    }
    // Leaked on purpose: kept for the process's lifetime, and bounded above.
    let kept: &'static str = Box::leak(text.into());
    strings.insert(kept);
    Cow::Borrowed(kept)
}

/// [`intern`] of text formatted from parts (`format_args!`), formatted into
/// a buffer kept by the thread: a known name costs no allocation.
pub fn intern_fmt(parts: std::fmt::Arguments<'_>) -> Cow<'static, str> {
    use std::fmt::Write as _;
    thread_local! {
        static TEXT: RefCell<String> = const { RefCell::new(String::new()) };
    }
    TEXT.with_borrow_mut(|text| {
        text.clear();
        // Writing into a String cannot fail.
        let _ = text.write_fmt(parts);
        intern(text)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_is_the_same_string() {
        let first = intern("node_vmstat_test_field");
        let again = intern(&String::from("node_vmstat_test_field"));
        assert!(matches!(
            (&first, &again),
            (Cow::Borrowed(_), Cow::Borrowed(_))
        ));
        assert!(std::ptr::eq(first.as_ptr(), again.as_ptr()));
        assert_eq!(again, "node_vmstat_test_field");
        let formatted = intern_fmt(format_args!("node_vmstat_{}_field", "test"));
        assert!(std::ptr::eq(first.as_ptr(), formatted.as_ptr()));
    }
}
