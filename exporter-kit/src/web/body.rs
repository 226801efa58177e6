//! Response bodies: small ones whole, scrapes with pre-rendered parts as a
//! stream of chunks.

use std::convert::Infallible;
use std::io::Write as _;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use flate2::write::GzEncoder;
use http_body_util::{Either, Full};
use hyper::body::{Body, Frame};
use tokio::sync::OwnedSemaphorePermit;

use crate::exposition::Format;
use crate::scrape::Rendered;

/// The body of every response the server sends.
pub type ResponseBody = Either<Full<Bytes>, ExpositionBody>;

/// About how much exposition text one chunk carries: large enough that a
/// 100 MB response is a few thousand writes, small enough to stay out of the
/// resident set.
const CHUNK_BYTES: usize = 256 * 1024;

/// A scrape response streamed piece by piece: the encoded families of
/// `collect`, then whatever the exporter keeps rendered, then `# EOF` for
/// OpenMetrics; gzipped on the fly when the client allows it. The scrape's
/// request slot is held until the last byte is produced.
pub struct ExpositionBody {
    head: Option<Vec<u8>>,
    rendered: Option<Box<dyn Rendered>>,
    format: Format,
    gzip: Option<GzEncoder<Vec<u8>>>,
    done: bool,
    _slot: Option<OwnedSemaphorePermit>,
}

impl ExpositionBody {
    pub(crate) fn new(
        head: Vec<u8>,
        rendered: Box<dyn Rendered>,
        format: Format,
        gzip: bool,
        slot: Option<OwnedSemaphorePermit>,
    ) -> ExpositionBody {
        ExpositionBody {
            head: Some(head),
            rendered: Some(rendered),
            format,
            gzip: gzip.then(|| GzEncoder::new(Vec::new(), flate2::Compression::fast())),
            done: false,
            _slot: slot,
        }
    }

    /// The next piece of plain text, or `None` once everything is written.
    fn next_plain(&mut self) -> Option<Vec<u8>> {
        if let Some(head) = self.head.take() {
            return Some(head);
        }
        let rendered = self.rendered.as_mut()?;
        let mut chunk = Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 4);
        while chunk.len() < CHUNK_BYTES {
            if !rendered.write_next(self.format, &mut chunk) {
                self.rendered = None;
                if self.format.is_openmetrics() {
                    chunk.extend_from_slice(b"# EOF\n");
                }
                break;
            }
        }
        Some(chunk)
    }

    /// The next bytes to send, compressed if asked; `None` at the end.
    fn next_frame(&mut self) -> Option<Bytes> {
        loop {
            if self.done {
                return None;
            }
            let Some(plain) = self.next_plain() else {
                self.done = true;
                // Writing into a Vec cannot fail.
                let tail = self.gzip.take()?.finish().unwrap_or_default();
                return (!tail.is_empty()).then(|| Bytes::from(tail));
            };
            let out = match &mut self.gzip {
                None => plain,
                Some(encoder) => {
                    // Writing into a Vec cannot fail.
                    let _ = encoder.write_all(&plain);
                    std::mem::take(encoder.get_mut())
                }
            };
            if !out.is_empty() {
                return Some(Bytes::from(out));
            }
        }
    }
}

impl Body for ExpositionBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().next_frame().map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `pieces` lines of `line`, one per call.
    struct Lines {
        line: &'static str,
        pieces: usize,
    }

    impl Rendered for Lines {
        fn write_next(&mut self, _format: Format, out: &mut Vec<u8>) -> bool {
            if self.pieces == 0 {
                return false;
            }
            self.pieces -= 1;
            out.extend_from_slice(self.line.as_bytes());
            true
        }
    }

    fn collect(mut body: ExpositionBody) -> (Vec<u8>, usize) {
        let mut all = Vec::new();
        let mut frames = 0;
        while let Some(frame) = body.next_frame() {
            all.extend_from_slice(&frame);
            frames += 1;
        }
        (all, frames)
    }

    #[test]
    fn head_then_rendered_pieces_then_eof_in_chunks() {
        let line = "kube_pod_info{namespace=\"default\",pod=\"a\"} 1\n";
        let pieces = 3 * CHUNK_BYTES / line.len();
        let body = ExpositionBody::new(
            b"# HELP x y\n".to_vec(),
            Box::new(Lines { line, pieces }),
            Format::OpenMetrics1,
            false,
            None,
        );
        let (all, frames) = collect(body);
        let text = String::from_utf8(all).unwrap();
        assert!(text.starts_with("# HELP x y\nkube_pod_info"));
        assert!(text.ends_with("} 1\n# EOF\n"));
        assert_eq!(text.matches("kube_pod_info").count(), pieces);
        assert!(frames >= 4, "streamed in pieces, not at once: {frames}");
    }

    #[test]
    fn gzip_on_the_fly_decompresses_to_the_text() {
        use std::io::Read as _;
        let line = "kube_node_info{node=\"n\"} 1\n";
        let body = ExpositionBody::new(
            Vec::new(),
            Box::new(Lines {
                line,
                pieces: 50_000,
            }),
            Format::Text,
            true,
            None,
        );
        let (all, _) = collect(body);
        let mut text = String::new();
        flate2::read::GzDecoder::new(&all[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, line.repeat(50_000));
    }
}
