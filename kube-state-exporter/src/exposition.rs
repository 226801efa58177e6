//! A scrape of the store: family by family, the header once, then every
//! object's lines for that family, streamed in pieces.

use std::sync::Arc;

use exporter_kit::Rendered as Stream;
use exporter_kit::exposition::Format;

use crate::resources::Header;
use crate::store::{Rendered, Store};

/// Objects written per piece: bounded work between the server's chunks.
const OBJECTS_PER_PIECE: usize = 1024;

/// A watched resource: its families and its stores (one per namespace with
/// `--namespaces`, else one).
pub struct Watched {
    pub name: &'static str,
    /// One per family, in order; `None` for a family that is switched off.
    pub headers: Vec<Option<Header>>,
    pub stores: Vec<Arc<Store>>,
}

/// The scrape of a set of resources as they were when it started.
pub struct Snapshot {
    resources: Vec<(Arc<Watched>, Vec<Arc<Rendered>>)>,
    resource: usize,
    family: usize,
    object: usize,
}

impl Snapshot {
    /// The resources `wanted` keeps (KSM's `?resources=` and
    /// `?exclude_resources=`).
    pub fn new(watched: &[Arc<Watched>], wanted: impl Fn(&str) -> bool) -> Snapshot {
        let resources = watched
            .iter()
            .filter(|w| wanted(w.name))
            .map(|w| {
                let objects = w.stores.iter().flat_map(|s| s.snapshot()).collect();
                (w.clone(), objects)
            })
            .collect();
        Snapshot {
            resources,
            resource: 0,
            family: 0,
            object: 0,
        }
    }
}

impl Stream for Snapshot {
    fn write_next(&mut self, _format: Format, out: &mut Vec<u8>) -> bool {
        loop {
            let Some((watched, objects)) = self.resources.get(self.resource) else {
                return false;
            };
            // As KSM: a resource with no objects has no headers either.
            let Some(header) = watched
                .headers
                .get(self.family)
                .filter(|_| !objects.is_empty())
            else {
                self.resource += 1;
                self.family = 0;
                self.object = 0;
                continue;
            };
            let Some(header) = header else {
                self.family += 1;
                continue;
            };
            if self.object == 0 {
                out.extend_from_slice(&header.lines);
            }
            let end = (self.object + OBJECTS_PER_PIECE).min(objects.len());
            for object in &objects[self.object..end] {
                out.extend_from_slice(object.family(self.family));
            }
            if end == objects.len() {
                self.family += 1;
                self.object = 0;
            } else {
                self.object = end;
            }
            return true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &'static str) -> Option<Header> {
        Some(Header {
            name,
            opt_in: false,
            lines: format!("# HELP {name} h\n# TYPE {name} gauge\n").into_bytes(),
        })
    }

    fn watched(name: &'static str, headers: Vec<Option<Header>>, objects: &[&str]) -> Arc<Watched> {
        let store = Store::default();
        for (uid, lines) in objects.iter().enumerate() {
            // Each object: family 0 gets `lines`, family 1 nothing, family 2 `lines` again.
            let text = format!("{lines}{lines}").into_bytes();
            let ends = vec![lines.len() as u32, lines.len() as u32, text.len() as u32];
            store.put(&uid.to_string(), Rendered::new(text, ends));
        }
        Arc::new(Watched {
            name,
            headers,
            stores: vec![Arc::new(store)],
        })
    }

    fn scrape(watched: &[Arc<Watched>], wanted: impl Fn(&str) -> bool) -> String {
        let mut snapshot = Snapshot::new(watched, wanted);
        let mut out = Vec::new();
        while snapshot.write_next(Format::Text, &mut out) {}
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn headers_once_per_family_and_none_for_empty_resources_or_disabled_families() {
        let pods = watched(
            "pods",
            vec![header("kube_a"), header("kube_b"), None],
            &["kube_a{pod=\"x\"} 1\n"],
        );
        let nodes = watched("nodes", vec![header("kube_node_x")], &[]);
        let text = scrape(&[pods.clone(), nodes.clone()], |_| true);
        assert_eq!(
            text,
            "# HELP kube_a h\n# TYPE kube_a gauge\nkube_a{pod=\"x\"} 1\n\
             # HELP kube_b h\n# TYPE kube_b gauge\n"
        );
        assert_eq!(scrape(&[pods, nodes], |name| name != "pods"), "");
    }

    #[test]
    fn many_objects_come_in_bounded_pieces() {
        let lines: Vec<String> = (0..2500)
            .map(|i| format!("kube_a{{pod=\"{i}\"}} 1\n"))
            .collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let pods = watched("pods", vec![header("kube_a")], &refs);
        let mut snapshot = Snapshot::new(&[pods], |_| true);
        let mut pieces = 0;
        let mut out = Vec::new();
        while snapshot.write_next(Format::Text, &mut out) {
            pieces += 1;
        }
        assert_eq!(pieces, 3, "2500 objects in pieces of {OBJECTS_PER_PIECE}");
        assert_eq!(
            String::from_utf8(out).unwrap().matches("kube_a{").count(),
            2500
        );
    }
}
