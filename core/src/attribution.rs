//! Finding the sources of an answer whose model wrote no `[n]` citation.
//!
//! Small on-device models often answer correctly from a passage without
//! citing it. The engine then matches the answer's distinctive words and
//! numbers against the passages it gave the model, and reports the best
//! match as an inferred citation (marked as such, never mixed up with the
//! model's own).

use std::collections::HashSet;

/// Words too common to tell passages apart.
const COMMON: [&str; 24] = [
    "the", "and", "that", "this", "with", "from", "have", "your", "what", "which", "there",
    "their", "about", "would", "could", "should", "answer", "notes", "note", "source", "sources",
    "question", "they", "will",
];

/// Distinctive tokens of `text`: numbers, and words of four letters or more
/// that are not common.
fn tokens(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '.')
        .map(|t| t.trim_matches('.').to_lowercase())
        .filter(|t| {
            let number = t.chars().any(|c| c.is_ascii_digit());
            (number || t.chars().count() >= 4) && !COMMON.contains(&t.as_str())
        })
        .collect()
}

/// Indices of the passages that best support `answer`: those containing the
/// largest share of its distinctive tokens, if that share is at least half.
pub(crate) fn supporting_passages(answer: &str, passages: &[&str]) -> Vec<usize> {
    let wanted = tokens(answer);
    if wanted.is_empty() {
        return Vec::new();
    }
    let shares: Vec<f32> = passages
        .iter()
        .map(|p| {
            let have = tokens(p);
            wanted.iter().filter(|t| have.contains(*t)).count() as f32 / wanted.len() as f32
        })
        .collect();
    let best = shares.iter().copied().fold(0.0, f32::max);
    if best < 0.5 {
        return Vec::new();
    }
    (0..passages.len()).filter(|&i| shares[i] == best).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_passage_holding_the_answers_facts_is_found() {
        let passages = [
            "Milk: stop steaming at about 60 °C.",
            "Brew temperature: 93 °C on the PID; 90 °C for dark roasts.",
        ];
        assert_eq!(
            supporting_passages("The answer is: 93 °C.", &passages),
            vec![1]
        );
        assert_eq!(
            supporting_passages("Steam the milk to 60 °C.", &passages),
            vec![0]
        );
    }

    #[test]
    fn no_match_no_citation() {
        let passages = ["Tomatoes go out after the last frost."];
        assert!(supporting_passages("The answer is 42 km.", &passages).is_empty());
        assert!(supporting_passages("I don't know.", &passages).is_empty());
    }
}
