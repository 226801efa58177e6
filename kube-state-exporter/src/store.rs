//! The store: for each watched object, only its rendered metric lines, one
//! slice per family, keyed by UID. Decoded objects are never kept.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// One object's series, all families in one buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Rendered {
    text: Box<[u8]>,
    /// Where each family's lines end in `text`.
    ends: Box<[u32]>,
}

impl Rendered {
    /// `text` holds the families' lines back to back; `ends[i]` is where
    /// family `i` ends.
    pub fn new(text: Vec<u8>, ends: Vec<u32>) -> Rendered {
        Rendered {
            text: text.into_boxed_slice(),
            ends: ends.into_boxed_slice(),
        }
    }

    /// The size of all the object's lines.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Whether the object has no lines at all.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The lines of family `index` (empty if it has none).
    pub fn family(&self, index: usize) -> &[u8] {
        let start = match index {
            0 => 0,
            i => self.ends.get(i - 1).copied().unwrap_or(0) as usize,
        };
        let end = self.ends.get(index).copied().unwrap_or(0) as usize;
        self.text.get(start..end).unwrap_or_default()
    }
}

/// The rendered objects of one resource (in one namespace, or all).
#[derive(Default)]
pub struct Store {
    objects: RwLock<Objects>,
}

#[derive(Default)]
struct Objects {
    by_uid: HashMap<Box<str>, Entry>,
    /// Bumped when a full list starts; objects the list does not bring back
    /// are dropped when it ends.
    generation: u64,
}

struct Entry {
    generation: u64,
    rendered: Arc<Rendered>,
}

impl Store {
    /// Adds or replaces the object `uid`.
    pub fn put(&self, uid: &str, rendered: Rendered) {
        let mut objects = self.write();
        let generation = objects.generation;
        let entry = Entry {
            generation,
            rendered: Arc::new(rendered),
        };
        match objects.by_uid.get_mut(uid) {
            Some(existing) => *existing = entry,
            None => {
                objects.by_uid.insert(uid.into(), entry);
            }
        }
    }

    pub fn remove(&self, uid: &str) {
        self.write().by_uid.remove(uid);
    }

    /// A full list begins: objects it does not [`put`](Self::put) again are
    /// gone by the time [`end_relist`](Self::end_relist) is called.
    pub fn begin_relist(&self) {
        self.write().generation += 1;
    }

    /// Drops the objects the list that just ended did not bring back (they
    /// were deleted while the watch was down).
    pub fn end_relist(&self) {
        let mut objects = self.write();
        let current = objects.generation;
        objects
            .by_uid
            .retain(|_, entry| entry.generation == current);
        objects.by_uid.shrink_to_fit();
    }

    /// Every object's lines as they are now; the store can change while a
    /// scrape writes the snapshot out.
    pub fn snapshot(&self) -> Vec<Arc<Rendered>> {
        let objects = self.objects.read().unwrap_or_else(|p| p.into_inner());
        objects
            .by_uid
            .values()
            .map(|entry| entry.rendered.clone())
            .collect()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.objects
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .by_uid
            .len()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Objects> {
        self.objects.write().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(line: &str) -> Rendered {
        Rendered::new(line.as_bytes().to_vec(), vec![0, line.len() as u32])
    }

    #[test]
    fn families_are_slices_of_one_buffer() {
        let r = Rendered::new(b"a 1\nb 1\nb 2\n".to_vec(), vec![4, 4, 12]);
        assert_eq!(r.family(0), b"a 1\n");
        assert_eq!(r.family(1), b"");
        assert_eq!(r.family(2), b"b 1\nb 2\n");
        assert_eq!(r.family(3), b"", "out of range is empty, not a panic");
    }

    #[test]
    fn a_relist_drops_what_it_did_not_bring_back() {
        let store = Store::default();
        store.put("a", rendered("x 1\n"));
        store.put("b", rendered("x 2\n"));
        store.begin_relist();
        store.put("b", rendered("x 3\n"));
        store.put("c", rendered("x 4\n"));
        assert_eq!(store.len(), 3, "nothing dropped before the list ends");
        store.end_relist();
        let mut lines: Vec<_> = store
            .snapshot()
            .iter()
            .map(|r| String::from_utf8(r.family(1).to_vec()).unwrap())
            .collect();
        lines.sort();
        assert_eq!(lines, ["x 3\n", "x 4\n"]);
    }
}
