//! W3C Trace Context (`traceparent`): honoured when a caller sends one, made up when
//! not, and handed on to whatever this request calls.

use rand::RngCore;

/// The trace this request belongs to, and this request's own span id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// 32 lowercase hex digits, never all zero.
    pub trace_id: String,
    /// 16 lowercase hex digits: this hop's span.
    pub span_id: String,
    /// The caller's span id, when the trace came from a caller.
    pub parent_span_id: Option<String>,
    pub sampled: bool,
}

impl TraceContext {
    /// A new trace (no caller sent one, or it was malformed).
    pub fn new_root() -> Self {
        Self {
            trace_id: random_hex::<16>(),
            span_id: random_hex::<8>(),
            parent_span_id: None,
            sampled: true,
        }
    }

    /// Continues the caller's trace from a `traceparent` header value; `None` when the
    /// value is not a valid version-00 traceparent.
    pub fn from_traceparent(value: &str) -> Option<Self> {
        let mut parts = value.trim().split('-');
        let (version, trace_id, parent, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version.len() != 2 || version == "ff" || !is_hex(version) {
            return None;
        }
        if version == "00" && parts.next().is_some() {
            return None;
        }
        if trace_id.len() != 32 || !is_hex(trace_id) || trace_id.bytes().all(|b| b == b'0') {
            return None;
        }
        if parent.len() != 16 || !is_hex(parent) || parent.bytes().all(|b| b == b'0') {
            return None;
        }
        if flags.len() != 2 || !is_hex(flags) {
            return None;
        }
        let flags = u8::from_str_radix(flags, 16).ok()?;
        Some(Self {
            trace_id: trace_id.to_string(),
            span_id: random_hex::<8>(),
            parent_span_id: Some(parent.to_string()),
            sampled: flags & 1 == 1,
        })
    }

    /// The caller's span id (for a context built from a caller's `traceparent`, that
    /// header's parent id; otherwise this context's own span id).
    pub fn span_id_of_caller(&self) -> String {
        self.parent_span_id
            .clone()
            .unwrap_or_else(|| self.span_id.clone())
    }

    /// The `traceparent` to send with calls made on behalf of this request.
    pub fn traceparent(&self) -> String {
        format!(
            "00-{}-{}-{}",
            self.trace_id,
            self.span_id,
            if self.sampled { "01" } else { "00" }
        )
    }
}

fn is_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn random_hex<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    loop {
        rand::thread_rng().fill_bytes(&mut bytes);
        if bytes.iter().any(|b| *b != 0) {
            return hex::encode(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continues_a_valid_traceparent() {
        let ctx = TraceContext::from_traceparent(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .unwrap();
        assert_eq!(ctx.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(ctx.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
        assert!(ctx.sampled);
        assert_ne!(ctx.span_id, "00f067aa0ba902b7");
        assert!(ctx
            .traceparent()
            .starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
    }

    #[test]
    fn refuses_malformed_traceparents() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert!(TraceContext::from_traceparent(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn new_roots_are_well_formed() {
        let ctx = TraceContext::new_root();
        assert!(TraceContext::from_traceparent(&ctx.traceparent()).is_some());
    }
}
