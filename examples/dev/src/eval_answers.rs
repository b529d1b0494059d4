//! `trove-dev eval-answers DIR`: whether answers can be trusted, on a
//! known-item set in the `../shared/eval` format.
//!
//! Each query becomes a question by a fixed template per kind of set (the
//! query's first letter lower-cased): man pages "Which git command should I
//! use to <query>?" (or "Which command or function should I use to …" when the pages are
//! not mostly git's), Python reference pages "Which Python module provides
//! <query>?". An answer is correct when it names the gold document by the
//! set's own name (the page's command, the module) and cites it; declined
//! answers are neither. Off-set questions (a file, one a line) must be
//! declined. Search R@1 on the same question texts is the bar to meet.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Value, json};
use trove::{
    Answer, AnswerStrategy, AskOptions, Engine, EngineConfig, GroundingSignals, IndexOptions,
    SearchOptions,
};

#[derive(clap::Args)]
pub struct EvalAnswersArgs {
    /// The eval set directory (corpus/, queries.tsv, queries_meta.tsv).
    dir: PathBuf,
    /// The queries file in DIR (its names in the matching `_meta` file, or
    /// through its `qid_in_queries_tsv` column in queries_meta.tsv)
    #[arg(long, default_value = "queries.tsv", value_name = "FILE")]
    queries: String,
    /// Questions no document answers, one a line (# comments).
    #[arg(long, value_name = "FILE")]
    off_set: Option<PathBuf>,
    /// extractive, generative or quote
    #[arg(long, default_value = "extractive")]
    strategy: String,
    /// Passages per answer
    #[arg(short, default_value_t = 3)]
    k: usize,
    /// Grounding threshold [default: the engine's]
    #[arg(long, value_name = "SCORE")]
    min_grounding: Option<f32>,
    /// Only the first N in-set questions (quick runs)
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Write one JSON object per question (signals, answer, outcome) here
    #[arg(long, value_name = "FILE")]
    details: Option<PathBuf>,
    /// Tokens per generated answer
    #[arg(long, default_value_t = 128, value_name = "N")]
    max_tokens: u32,
}

/// A question with what a correct answer must name and cite.
struct Question {
    qid: String,
    text: String,
    /// `None` for off-set questions.
    gold: Option<Gold>,
    /// Off-set half: odd question numbers are "A" (fitting), even "B" (validation).
    half: Option<&'static str>,
}

struct Gold {
    path: PathBuf,
    names: Vec<String>,
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Indexes the set into `--store` (a temporary store without one; indexing
/// is incremental, so a kept store costs nothing the second time), then
/// answers every question and prints the metrics.
pub fn run(
    mut config: EngineConfig,
    store: Option<PathBuf>,
    args: &EvalAnswersArgs,
    json_out: bool,
) -> Res<()> {
    let dir = std::fs::canonicalize(&args.dir)
        .map_err(|e| format!("cannot open eval set {}: {e}", args.dir.display()))?;
    let strategy = AnswerStrategy::parse(&args.strategy).ok_or_else(|| {
        format!(
            "unknown strategy {:?}: use extractive, generative or quote",
            args.strategy
        )
    })?;
    let mut questions = in_set_questions(&dir, &args.queries)?;
    if let Some(limit) = args.limit {
        questions.truncate(limit);
    }
    if let Some(file) = &args.off_set {
        questions.extend(off_set_questions(file)?);
    }
    let temp = tempfile::tempdir()?;
    config.store_dir = store.unwrap_or_else(|| temp.path().join("store"));
    let engine = Engine::open(config)?;
    let indexed = Instant::now();
    engine.index_path(dir.join("corpus"), IndexOptions::default())?;
    let index_s = indexed.elapsed().as_secs_f64();

    let mut options = AskOptions {
        k: args.k,
        strategy,
        ..Default::default()
    };
    options.generation.max_tokens = args.max_tokens;
    if let Some(min) = args.min_grounding {
        options.min_grounding = min;
    }
    let mut details = match &args.details {
        Some(path) => Some(std::io::BufWriter::new(std::fs::File::create(path)?)),
        None => None,
    };
    let search = SearchOptions {
        k: 1,
        one_per_document: true,
        ..Default::default()
    };
    let mut tally = Tally::default();
    let started = Instant::now();
    for (i, q) in questions.iter().enumerate() {
        let answer = engine.ask(&q.text, &options, &mut |_| true)?;
        let mut record = json!({
            "qid": q.qid,
            "question": q.text,
            "declined": answer.declined,
            "fallback": answer.fallback,
            "score": answer.grounding.score,
            "signals": signals_json(&answer.grounding.signals),
            "answer": answer.text,
            "draft": answer.draft,
            "sentences": sentences_json(&answer),
            "total_ms": answer.timings.total_ms,
        });
        match &q.gold {
            Some(gold) => {
                let top = engine.search(&q.text, &search)?;
                let r1 = top
                    .first()
                    .and_then(|h| h.path.as_deref())
                    .is_some_and(|p| Path::new(p) == gold.path);
                let names = !answer.declined && names_any(&answer.text, &gold.names);
                let is_gold = |c: &trove::Citation| {
                    c.hit.path.as_deref().map(Path::new) == Some(gold.path.as_path())
                };
                let cites = !answer.declined && answer.citations.iter().any(is_gold);
                let first_cites = !answer.declined && answer.citations.first().is_some_and(is_gold);
                tally.add_in(r1, names, cites, first_cites, answer.declined);
                record["kind"] = "in".into();
                record["gold"] = gold.path.to_string_lossy().into_owned().into();
                record["gold_names"] = gold.names.clone().into();
                record["r1"] = r1.into();
                record["names"] = names.into();
                record["cites"] = cites.into();
                record["first_cites"] = first_cites.into();
            }
            None => {
                let half = q.half.unwrap_or("A");
                tally.add_off(half, answer.declined);
                record["kind"] = "off".into();
                record["half"] = half.into();
            }
        }
        if let Some(out) = details.as_mut() {
            writeln!(out, "{record}")?;
        }
        if !json_out && (i + 1) % 50 == 0 {
            eprintln!("  {}/{} questions", i + 1, questions.len());
        }
    }
    if let Some(mut out) = details {
        out.flush()?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let report = tally.report(
        &dir,
        strategy,
        args.k,
        options.min_grounding,
        index_s,
        seconds,
    );
    if json_out {
        println!("{report}");
    } else {
        print_report(&report);
    }
    Ok(())
}

#[derive(Default)]
struct Tally {
    in_set: usize,
    r1: usize,
    names: usize,
    cites: usize,
    /// The answer's first citation is the gold document.
    first_cites: usize,
    declined: usize,
    /// Off-set questions and declines per half.
    off: HashMap<&'static str, (usize, usize)>,
}

impl Tally {
    fn add_in(&mut self, r1: bool, names: bool, cites: bool, first_cites: bool, declined: bool) {
        self.in_set += 1;
        self.r1 += r1 as usize;
        self.names += names as usize;
        self.cites += cites as usize;
        self.first_cites += first_cites as usize;
        self.declined += declined as usize;
    }

    fn add_off(&mut self, half: &'static str, declined: bool) {
        let entry = self.off.entry(half).or_default();
        entry.0 += 1;
        entry.1 += declined as usize;
    }

    fn report(
        &self,
        dir: &Path,
        strategy: AnswerStrategy,
        k: usize,
        min_grounding: f32,
        index_s: f64,
        seconds: f64,
    ) -> Value {
        let share = |a: usize, b: usize| {
            if b == 0 {
                0.0
            } else {
                round(a as f64 / b as f64)
            }
        };
        let (off_n, off_declined) = self
            .off
            .values()
            .fold((0, 0), |acc, (n, d)| (acc.0 + n, acc.1 + d));
        let halves: serde_json::Map<String, Value> = self
            .off
            .iter()
            .map(|(h, (n, d))| {
                (
                    h.to_string(),
                    json!({"questions": n, "declined": share(*d, *n)}),
                )
            })
            .collect();
        let r1 = share(self.r1, self.in_set);
        let names = share(self.names, self.in_set);
        let cites = share(self.cites, self.in_set);
        let declined = share(self.declined, self.in_set);
        let off = share(off_declined, off_n);
        json!({
            "set": dir.file_name().map(|n| n.to_string_lossy().into_owned()),
            "strategy": strategy.as_str(),
            "k": k,
            "min_grounding": round(f64::from(min_grounding)),
            "in_set": {
                "questions": self.in_set,
                "search_r1": r1,
                "names": names,
                "cites": cites,
                "first_cites": share(self.first_cites, self.in_set),
                "declined": declined,
            },
            "off_set": {"questions": off_n, "declined": off, "halves": halves},
            "goals": {
                "names_at_least_r1": names >= r1,
                "cites_at_least_0.95_r1": cites >= 0.95 * r1,
                "in_set_declined_at_most_0.10": declined <= 0.10,
                "off_set_declined_at_least_0.90": off_n == 0 || off >= 0.90,
            },
            "index_seconds": round(index_s),
            "answer_seconds": round(seconds),
            "ms_per_question": round(seconds * 1000.0 / (self.in_set + off_n).max(1) as f64),
        })
    }
}

fn print_report(r: &Value) {
    let i = &r["in_set"];
    let o = &r["off_set"];
    println!(
        "{} · {} · k={} · min_grounding {}",
        r["set"].as_str().unwrap_or("?"),
        r["strategy"].as_str().unwrap_or("?"),
        r["k"],
        r["min_grounding"]
    );
    println!(
        "in-set  {} questions: names {}  cites {} (first {})  declined {}  (search R@1 {})",
        i["questions"], i["names"], i["cites"], i["first_cites"], i["declined"], i["search_r1"]
    );
    println!(
        "off-set {} questions: declined {}  {}",
        o["questions"], o["declined"], o["halves"]
    );
    println!("goals   {}", r["goals"]);
    println!(
        "{} ms per question ({} s answering, {} s indexing)",
        r["ms_per_question"], r["answer_seconds"], r["index_seconds"]
    );
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn signals_json(s: &GroundingSignals) -> Value {
    GroundingSignals::NAMES
        .iter()
        .zip(s.features())
        .map(|(name, x)| (name.to_string(), json!(x)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Each sentence of the answer with its citations and the quoted support,
/// for auditing.
fn sentences_json(a: &Answer) -> Value {
    let chars: Vec<char> = a.text.chars().collect();
    a.sentences
        .iter()
        .map(|s| {
            let (start, end) = (s.start as usize, s.end as usize);
            let text: String = chars[start..end.min(chars.len())].iter().collect();
            let support = s.support.as_ref().map(|sp| {
                let passage = &a.passages[sp.n as usize - 1];
                let quote: String = passage
                    .text
                    .chars()
                    .skip(sp.start as usize)
                    .take((sp.end - sp.start) as usize)
                    .collect();
                json!({
                    "n": sp.n,
                    "path": passage.path.clone().unwrap_or(passage.document_id.clone()),
                    "lines": sp.lines,
                    "page": sp.page,
                    "score": sp.score,
                    "quote": quote,
                })
            });
            json!({"text": text, "citations": s.citations, "dropped": s.dropped, "support": support})
        })
        .collect::<Vec<_>>()
        .into()
}

/// Whether `text` names one of `names`: the name as a word (not part of a
/// longer name such as `git-commit-tree` for `git-commit`, or `os.path` for
/// `os`), case-insensitive, with `-` or a space between its parts
/// (`git-add` and `git add`).
fn names_any(text: &str, names: &[String]) -> bool {
    let text = text.to_lowercase();
    let part_of_name = |c: char| c.is_alphanumeric() || c == '_';
    // A joiner ('-', '.') continues the name when a name character follows
    // it; a man-page section (`git-add.1`) does not.
    let continues = |rest: &str| {
        let mut chars = rest.chars();
        match chars.next() {
            None => false,
            Some('-') => chars.next().is_some_and(part_of_name),
            Some('.') => chars
                .next()
                .is_some_and(|c| part_of_name(c) && !c.is_ascii_digit()),
            Some(c) => part_of_name(c),
        }
    };
    names.iter().any(|name| {
        let name = name.to_lowercase();
        [name.clone(), name.replace('-', " ")]
            .iter()
            .any(|variant| {
                text.match_indices(variant.as_str()).any(|(at, _)| {
                    let before = text[..at].chars().next_back();
                    let before_ok = before.is_none_or(|c| !part_of_name(c) && c != '.' && c != '-');
                    before_ok && !continues(&text[at + variant.len()..])
                })
            })
    })
}

/// The set's queries as questions, with the names of their gold documents.
fn in_set_questions(dir: &Path, queries_file: &str) -> Res<Vec<Question>> {
    let queries = read_tsv(&dir.join(queries_file))?;
    let meta = read_tsv(&dir.join("queries_meta.tsv"))?;
    let (header, rows) = meta.split_first().ok_or("queries_meta.tsv is empty")?;
    let column = |name: &str| header.iter().position(|h| h == name);
    let mut names_of: HashMap<String, Vec<String>> = match (column("names"), column("module")) {
        (Some(c), _) | (None, Some(c)) => rows
            .iter()
            .filter_map(|r| {
                let names = r.get(c)?.split([',', ' ']).filter(|n| !n.is_empty());
                Some((r[0].clone(), names.map(str::to_string).collect()))
            })
            .collect(),
        _ => return Err("queries_meta.tsv has neither a names nor a module column".into()),
    };
    // Translated queries name their original: `queries_en_meta.tsv`.
    let own_meta = dir.join(queries_file.replace(".tsv", "_meta.tsv"));
    if queries_file != "queries.tsv" && own_meta.exists() {
        let own = read_tsv(&own_meta)?;
        let original = own
            .first()
            .and_then(|h| h.iter().position(|c| c == "qid_in_queries_tsv"))
            .ok_or("the queries' _meta file has no qid_in_queries_tsv column")?;
        let mapped: HashMap<String, Vec<String>> = own
            .iter()
            .skip(1)
            .filter_map(|r| Some((r[0].clone(), names_of.get(r.get(original)?)?.clone())))
            .collect();
        names_of = mapped;
    }
    let python = column("module").is_some();
    // The git manual also holds `git(1)` and `scalar(1)`: most, not all, are git's.
    let names: Vec<&String> = names_of.values().flatten().collect();
    let git = names.iter().filter(|n| n.starts_with("git")).count();
    let all_git = git * 10 >= names.len() * 9;
    let mut out = Vec::new();
    for row in queries.iter().skip(1) {
        let [qid, query, gold] = &row[..] else {
            return Err(format!("queries.tsv: expected qid, query, gold in {row:?}").into());
        };
        let names = names_of.get(qid).cloned().unwrap_or_default();
        let body = lower_first(query.trim().trim_end_matches('.'));
        let text = if python {
            format!("Which Python module provides {body}?")
        } else if all_git {
            format!("Which git command should I use to {body}?")
        } else {
            format!("Which command or function should I use to {body}?")
        };
        out.push(Question {
            qid: qid.clone(),
            text,
            gold: Some(Gold {
                path: dir.join(gold),
                names,
            }),
            half: None,
        });
    }
    Ok(out)
}

/// "Add file contents" → "add file contents"; "TLS/SSL wrapper" stays.
fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && !second.is_uppercase() => {
            first.to_lowercase().chain(s.chars().skip(1)).collect()
        }
        _ => s.to_string(),
    }
}

fn off_set_questions(file: &Path) -> Res<Vec<Question>> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .enumerate()
        .map(|(i, line)| Question {
            qid: format!("off{:03}", i + 1),
            text: line.to_string(),
            gold: None,
            half: Some(if i % 2 == 0 { "A" } else { "B" }),
        })
        .collect())
}

fn read_tsv(path: &Path) -> Res<Vec<Vec<String>>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_matched_as_whole_names() {
        let git = vec!["git-add".to_string()];
        assert!(names_any("Use git add [1].", &git));
        assert!(names_any("git-add.1 › DESCRIPTION: “…”", &git));
        assert!(names_any("GIT-ADD(1)", &git));
        assert!(!names_any("git add-on", &["git-add-on-x".into()]));
        assert!(!names_any("git-add-interactive", &git));
        assert!(!names_any("legit add", &git));
        let module = vec!["os".to_string()];
        assert!(names_any("The os module.", &module));
        assert!(!names_any("Use os.path for that.", &module));
        assert!(names_any("Use os.", &module));
        assert!(!names_any("Use _thread.", &["thread".into()]));
    }

    #[test]
    fn questions_lower_case_only_ordinary_first_words() {
        assert_eq!(lower_first("Add file contents"), "add file contents");
        assert_eq!(lower_first("TLS/SSL wrapper"), "TLS/SSL wrapper");
    }
}
