//! JSON renderings of results, answers and statistics: one shape for every
//! host that prefers JSON to accessors (the Node wrapper reads these).

use serde_json::{Value, json};
use trove::{Answer, Hit, Stats, StopReason};

/// A hit as `{document_id, path, title, text, score, page, lines, heading_path, tags}`;
/// `path`, `page` and `lines` are null when they do not apply.
pub(crate) fn hit(h: &Hit) -> Value {
    json!({
        "document_id": h.document_id,
        "path": h.path,
        "title": h.title,
        "text": h.text,
        "score": h.score,
        "page": h.page,
        "lines": h.lines.map(|(a, b)| [a, b]),
        "heading_path": h.heading_path,
        "tags": h.tags,
    })
}

pub(crate) fn hits(hits: &[Hit]) -> Value {
    Value::Array(hits.iter().map(hit).collect())
}

pub(crate) fn stop_reason(reason: StopReason) -> &'static str {
    match reason {
        StopReason::EndOfText => "end_of_text",
        StopReason::MaxTokens => "max_tokens",
        StopReason::StopString => "stop_string",
        StopReason::Callback => "callback",
    }
}

/// An answer as `{answer, citations: [{n, inferred, document_id, path, title,
/// page, lines}], passages: [hit], stop_reason, timings: {...}}`.
pub(crate) fn answer(a: &Answer) -> Value {
    let t = &a.timings;
    json!({
        "answer": a.text,
        "citations": a.citations.iter().map(|c| json!({
            "n": c.n,
            "inferred": c.inferred,
            "document_id": c.hit.document_id,
            "path": c.hit.path,
            "title": c.hit.title,
            "page": c.hit.page,
            "lines": c.hit.lines.map(|(a, b)| [a, b]),
        })).collect::<Vec<_>>(),
        "passages": hits(&a.passages),
        "stop_reason": stop_reason(a.stop_reason),
        "timings": {
            "retrieval_ms": t.retrieval_ms,
            "prompt_tokens": t.prompt_tokens,
            "prefill_ms": t.prefill_ms,
            "ttft_ms": t.ttft_ms,
            "decode_tokens": t.decode_tokens,
            "decode_tok_s": t.decode_tok_s,
            "total_ms": t.total_ms,
        },
    })
}

pub(crate) fn stats(s: &Stats) -> Value {
    let last_run: Value = serde_json::from_str(&s.last_index_run).unwrap_or(Value::Null);
    json!({
        "documents": s.documents,
        "chunks": s.chunks,
        "embeddings": s.embeddings,
        "vectors": s.vectors,
        "failures": s.failures,
        "store_bytes": s.store_bytes,
        "store_dir": s.store_dir.to_string_lossy(),
        "embedding_model": {
            "name": s.embedding_model.name,
            "dimensions": s.embedding_model.dimensions,
            "sha256": s.embedding_model.sha256,
        },
        "llm_path": s.llm_path.to_string_lossy(),
        "last_index_run": last_run,
    })
}
