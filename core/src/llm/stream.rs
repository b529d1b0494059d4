//! Turns token bytes into the text a host sees: complete UTF-8 only, no
//! leading whitespace, and never any part of a stop string.

use super::StopReason;

/// Streams decoded text to a callback while watching for stop strings.
///
/// Token pieces can end in the middle of a multi-byte character and a stop
/// string can span several tokens, so text is emitted only once it is known
/// to be complete and not the start of a stop string.
pub(super) struct TextStream<'a> {
    stops: &'a [String],
    /// Bytes of an incomplete UTF-8 sequence, waiting for the next piece.
    raw: Vec<u8>,
    /// Decoded text held back because it may begin a stop string.
    pending: String,
    /// Everything emitted so far.
    text: String,
}

impl<'a> TextStream<'a> {
    pub(super) fn new(stops: &'a [String]) -> Self {
        TextStream {
            stops,
            raw: Vec::new(),
            pending: String::new(),
            text: String::new(),
        }
    }

    /// Everything emitted so far.
    pub(super) fn text(&self) -> &str {
        &self.text
    }

    /// Adds one token's bytes. Returns why generation must stop, if it must.
    pub(super) fn push(
        &mut self,
        bytes: &[u8],
        emit: &mut dyn FnMut(&str) -> bool,
    ) -> Option<StopReason> {
        self.raw.extend_from_slice(bytes);
        decode_complete_utf8(&mut self.raw, &mut self.pending);
        if self.text.is_empty() {
            // Answers start at their first visible character.
            let start = self.pending.len() - self.pending.trim_start().len();
            self.pending.drain(..start);
        }
        let stop_at = self
            .stops
            .iter()
            .filter_map(|stop| self.pending.find(stop.as_str()))
            .min();
        if let Some(at) = stop_at {
            self.pending.truncate(at);
            let go_on = self.emit_up_to(self.pending.len(), emit);
            return Some(if go_on {
                StopReason::StopString
            } else {
                StopReason::Callback
            });
        }
        let ready = self.pending.len() - held_back_len(&self.pending, self.stops);
        if self.emit_up_to(ready, emit) {
            None
        } else {
            Some(StopReason::Callback)
        }
    }

    /// Emits what was held back once generation ended for another reason.
    ///
    /// The callback's answer no longer matters: generation is over either way.
    pub(super) fn finish(&mut self, emit: &mut dyn FnMut(&str) -> bool) {
        if !self.raw.is_empty() {
            // A truncated character at the very end: show it as U+FFFD.
            self.pending.push_str(&String::from_utf8_lossy(&self.raw));
            self.raw.clear();
        }
        self.emit_up_to(self.pending.len(), emit);
    }

    /// Emits `pending[..end]`; returns the callback's wish to continue.
    fn emit_up_to(&mut self, end: usize, emit: &mut dyn FnMut(&str) -> bool) -> bool {
        if end == 0 {
            return true;
        }
        let piece: String = self.pending.drain(..end).collect();
        self.text.push_str(&piece);
        emit(&piece)
    }
}

/// Moves the complete UTF-8 prefix of `raw` into `out`, keeping an incomplete
/// trailing sequence in `raw`. Invalid bytes become U+FFFD.
fn decode_complete_utf8(raw: &mut Vec<u8>, out: &mut String) {
    loop {
        match std::str::from_utf8(raw) {
            Ok(text) => {
                out.push_str(text);
                raw.clear();
                return;
            }
            Err(err) => {
                let valid = err.valid_up_to();
                out.push_str(&String::from_utf8_lossy(&raw[..valid]));
                match err.error_len() {
                    // The tail may still be completed by the next token.
                    None => {
                        raw.drain(..valid);
                        return;
                    }
                    Some(bad) => {
                        out.push(char::REPLACEMENT_CHARACTER);
                        raw.drain(..valid + bad);
                    }
                }
            }
        }
    }
}

/// Length of the longest suffix of `text` that is a proper prefix of a stop
/// string: that much must wait for the next token to tell.
fn held_back_len(text: &str, stops: &[String]) -> usize {
    let mut longest = 0;
    for stop in stops {
        let limit = stop.len().saturating_sub(1).min(text.len());
        for len in (longest + 1..=limit).rev() {
            let start = text.len() - len;
            if text.is_char_boundary(start)
                && stop.as_bytes().starts_with(&text.as_bytes()[start..])
            {
                longest = len;
                break;
            }
        }
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `pieces` and returns (emitted pieces, stop reason).
    fn run(pieces: &[&[u8]], stops: &[&str]) -> (Vec<String>, Option<StopReason>, String) {
        let stops: Vec<String> = stops.iter().map(|s| s.to_string()).collect();
        let mut stream = TextStream::new(&stops);
        let mut seen = Vec::new();
        let mut emit = |s: &str| {
            seen.push(s.to_string());
            true
        };
        let mut reason = None;
        for piece in pieces {
            reason = stream.push(piece, &mut emit);
            if reason.is_some() {
                break;
            }
        }
        if reason.is_none() {
            stream.finish(&mut emit);
        }
        let text = stream.text().to_string();
        (seen, reason, text)
    }

    #[test]
    fn split_multibyte_characters_are_joined() {
        let euro = "€".as_bytes(); // 3 bytes
        let (seen, reason, text) = run(&[b"5 ", &euro[..1], &euro[1..2], &euro[2..], b"!"], &[]);
        assert_eq!(reason, None);
        assert_eq!(text, "5 €!");
        assert!(seen.iter().all(|s| !s.is_empty()));
        assert_eq!(seen.concat(), text);
    }

    #[test]
    fn invalid_and_truncated_bytes_become_replacement_characters() {
        let (_, _, text) = run(&[b"a\xffb"], &[]);
        assert_eq!(text, "a\u{fffd}b");
        let (_, _, text) = run(&[b"a", &"€".as_bytes()[..2]], &[]);
        assert_eq!(text, "a\u{fffd}");
    }

    #[test]
    fn leading_whitespace_is_dropped() {
        let (seen, _, text) = run(&[b" ", b"\n", b" Hello", b" world"], &[]);
        assert_eq!(text, "Hello world");
        assert_eq!(seen, ["Hello", " world"]);
    }

    #[test]
    fn stop_string_across_tokens_is_never_emitted() {
        let (seen, reason, text) = run(&[b"Answer", b" END", b"OF", b"TEXT more"], &["ENDOFTEXT"]);
        assert_eq!(reason, Some(StopReason::StopString));
        assert_eq!(text, "Answer ");
        assert_eq!(seen.concat(), "Answer ");
    }

    #[test]
    fn false_start_of_a_stop_string_is_released() {
        let (seen, reason, text) = run(&[b"a ST", b"OP? no", b" STO"], &["STOP!"]);
        assert_eq!(reason, None);
        assert_eq!(text, "a STOP? no STO");
        assert_eq!(seen, ["a ", "STOP? no", " ", "STO"]);
    }

    #[test]
    fn earliest_stop_string_wins() {
        let (_, reason, text) = run(&[b"one two three"], &["three", "two"]);
        assert_eq!(reason, Some(StopReason::StopString));
        assert_eq!(text, "one ");
    }

    #[test]
    fn callback_refusal_stops() {
        let stops = Vec::new();
        let mut stream = TextStream::new(&stops);
        let mut calls = 0;
        let mut emit = |_: &str| {
            calls += 1;
            calls < 2
        };
        assert_eq!(stream.push(b"a", &mut emit), None);
        assert_eq!(stream.push(b"b", &mut emit), Some(StopReason::Callback));
        assert_eq!(stream.text(), "ab");
    }

    #[test]
    fn held_back_respects_char_boundaries() {
        let stops = vec!["é!".to_string()];
        assert_eq!(held_back_len("café", &stops), "é".len());
        assert_eq!(held_back_len("cafe", &stops), 0);
    }
}
