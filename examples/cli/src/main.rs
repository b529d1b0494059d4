//! `trove`: index a folder, keep it indexed, search it, and ask it questions,
//! on the bundled models. Uses only the public API of the `trove` library;
//! `--json` prints the library's own types, so every surface shows one shape.
//! Measuring tools live in `trove-dev` (examples/dev).

mod answer;
mod global;
mod models;
mod watch;

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use trove::{Engine, EngineConfig, IndexOptions, IndexSummary, SearchMode, SearchOptions};

/// Private question answering over your own documents, on-device.
#[derive(Parser)]
#[command(name = "trove", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(flatten)]
    global: global::GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

const EXIT_CODES: &str = "Exit codes:\n  0  success\n  1  failure: the message names the file and the fix\n  2  usage error: unknown command or option, missing or invalid argument";

#[derive(Subcommand)]
enum Command {
    /// Index files and folders (only changed files are re-embedded; files gone
    /// from a folder are removed). Honours .gitignore and .troveignore.
    Index {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Return once the files are keyword-searchable (parse speed); their
        /// new chunks stay queued for `trove embed`, the next `trove index`
        /// or `trove watch`.
        #[arg(long)]
        no_wait: bool,
    },
    /// Embed the chunks earlier `trove index --no-wait` runs (or a killed
    /// process) left queued, so vector and hybrid search see them.
    Embed,
    /// Index folders, then keep them indexed as files change, until Ctrl-C.
    Watch {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Quiet time before a changed file is indexed
        #[arg(long, default_value_t = 300, value_name = "MS")]
        debounce_ms: u64,
    },
    /// Search the knowledge base: ranked passages with path, lines or page, score and snippet.
    Search {
        /// The query (or --batch FILE)
        #[arg(required_unless_present = "batch", conflicts_with = "batch")]
        query: Option<String>,
        /// Number of results
        #[arg(short, default_value_t = 5)]
        k: usize,
        #[arg(long, value_enum, default_value_t = Mode::Hybrid)]
        mode: Mode,
        /// One query per line of FILE, models loaded once
        #[arg(long, value_name = "FILE")]
        batch: Option<PathBuf>,
    },
    /// Answer a question from the knowledge base, citing numbered sources.
    Ask {
        question: String,
        #[command(flatten)]
        answer: answer::AnswerArgs,
    },
    /// A conversation: one question a line on stdin, each answered in the
    /// light of the ones before ("And for …?"); `/new` starts over.
    Chat {
        /// Go on from the turns saved in FILE, and save every turn there
        #[arg(long, value_name = "FILE")]
        history: Option<PathBuf>,
        #[command(flatten)]
        answer: answer::AnswerArgs,
    },
    /// Documents, chunks, store size, models and their checksums, last indexing run;
    /// with DOC: that document's state (indexed, changed, missing, failed and why).
    Status {
        /// A file (as indexed) or a host document's id
        document: Option<String>,
    },
    /// Why a document ranks where it does for a query ("why is my note not
    /// found?"): its state, best passage, and rank and score in each retriever.
    Explain {
        query: String,
        /// A file (as indexed) or a host document's id
        document: String,
    },
    /// The models: the embedding and answer models (and LoRA adapters) this
    /// store runs with, then the others in the models folder, each with its
    /// size, quantization, context length, chat format and sha256, checked
    /// against the store's and `make setup`'s records.
    Models {
        /// Record the answer model as it is now, after replacing it on purpose
        #[arg(long)]
        accept: bool,
    },
    /// Remove a document, or everything under a folder (the files stay).
    Forget { path: PathBuf },
    /// A document's links ([[wikilinks]], embeds, links to local files) and
    /// the documents linking to it, with what each resolves to.
    Links {
        /// A file (as indexed) or a host document's id
        document: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Mode {
    Hybrid,
    Vector,
    Keyword,
}

impl From<Mode> for SearchMode {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::Hybrid => SearchMode::Hybrid,
            Mode::Vector => SearchMode::Vector,
            Mode::Keyword => SearchMode::Keyword,
        }
    }
}

/// Why a command failed, which decides the exit code.
enum Failure {
    /// Exit 2: the command line is wrong.
    Usage(String),
    /// Exit 1: the command could not do its work.
    Run(Box<dyn std::error::Error>),
}

impl<E: Into<Box<dyn std::error::Error>>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Run(e.into())
    }
}

type CliResult = Result<(), Failure>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("trove: usage error: {message}\n(see trove --help)");
            ExitCode::from(2)
        }
        // The reader went away (`trove search … | head`): nothing is wrong.
        Err(Failure::Run(e)) if is_broken_pipe(e.as_ref()) => ExitCode::SUCCESS,
        Err(Failure::Run(e)) => {
            eprintln!("trove: error: {e}");
            ExitCode::from(1)
        }
    }
}

fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

fn config(cli: &Cli) -> EngineConfig {
    cli.global.config()
}

/// Opens the store for a command that reads it: a missing store is an error
/// naming the fix, not a new empty store left behind.
fn open_existing(cli: &Cli) -> Result<Engine, Failure> {
    let store = cli.global.store_dir();
    if !store.join("trove.db").is_file() {
        return Err(format!(
            "no knowledge base in {} (no trove.db there): run `trove index PATH` first, or pass --store DIR",
            store.display()
        )
        .into());
    }
    Ok(Engine::open(config(cli))?)
}

fn run(cli: Cli) -> CliResult {
    let json = cli.global.json;
    match &cli.command {
        Command::Index { paths, no_wait } => index(&cli, paths, *no_wait),
        Command::Embed => embed(&cli),
        Command::Watch { paths, debounce_ms } => {
            let mut config = config(&cli);
            config.background_embedding = true;
            let engine = Engine::open(config)?;
            watch::run(engine, paths, Duration::from_millis(*debounce_ms), json)
        }
        Command::Search {
            query,
            k,
            mode,
            batch,
        } => search(&cli, query.as_deref(), *k, *mode, batch.as_deref()),
        Command::Ask { question, answer } => {
            answer::ask(&open_existing(&cli)?, question, &answer.options(), json)
        }
        Command::Chat { history, answer } => answer::chat(
            &open_existing(&cli)?,
            history.as_deref(),
            &answer.options(),
            json,
        ),
        Command::Status { document: None } => status(&cli),
        Command::Status {
            document: Some(document),
        } => document_status(&cli, document),
        Command::Explain { query, document } => explain(&cli, query, document),
        Command::Links { document } => links(&cli, document),
        Command::Models { accept } => models::run(&cli, &open_existing(&cli)?, *accept),
        Command::Forget { path } => {
            let engine = open_existing(&cli)?;
            let removed = engine.remove_path(path)?;
            let mut out = std::io::stdout().lock();
            if json {
                writeln!(out, "{}", serde_json::json!({ "removed": removed }))?;
            } else {
                writeln!(out, "removed {removed} documents")?;
            }
            if removed == 0 {
                eprintln!(
                    "trove: nothing was indexed at or under {} (`trove status` shows the store)",
                    path.display()
                );
            }
            Ok(())
        }
    }
}

fn index(cli: &Cli, paths: &[PathBuf], no_wait: bool) -> CliResult {
    for path in paths {
        if !path.exists() {
            return Err(format!(
                "cannot index {}: no such file or folder; check the path",
                path.display()
            )
            .into());
        }
    }
    let mut config = config(cli);
    config.wait_for_embedding = !no_wait;
    let engine = Engine::open(config)?;
    let bar = progress_bar();
    let mut progress = |p: &trove::IndexProgress| {
        if let Some(bar) = &bar {
            show_progress(bar, p);
        }
        true
    };
    let summary = engine.index_paths(
        paths,
        IndexOptions {
            progress: Some(&mut progress),
            cancel: None,
        },
    );
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    print_summary(cli, &summary?)
}

fn embed(cli: &Cli) -> CliResult {
    let engine = open_existing(cli)?;
    let bar = progress_bar();
    let mut progress = |p: &trove::IndexProgress| {
        if let Some(bar) = &bar {
            show_progress(bar, p);
        }
        true
    };
    let summary = engine.finish_embedding(IndexOptions {
        progress: Some(&mut progress),
        cancel: None,
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    print_summary(cli, &summary?)
}

/// A bar on a terminal only: logs and pipes get the summary alone.
fn progress_bar() -> Option<ProgressBar> {
    std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}  ETA {eta}")
                .expect("a valid template"),
        );
        bar
    })
}

/// Files while they are read and committed, then chunks while embedded.
fn show_progress(bar: &ProgressBar, p: &trove::IndexProgress) {
    if p.files_done < p.files_total || p.chunks_queued == 0 {
        bar.set_length(p.files_total);
        bar.set_position(p.files_done);
        bar.set_message(format!(
            "files ({} new chunks, {} reused)",
            p.chunks_queued, p.chunks_reused
        ));
    } else {
        bar.set_length(p.chunks_queued);
        bar.set_position(p.chunks_embedded);
        bar.set_message("chunks embedded (keyword search has them all)");
    }
}

fn print_summary(cli: &Cli, summary: &IndexSummary) -> CliResult {
    let mut out = std::io::stdout().lock();
    if cli.global.json {
        writeln!(out, "{}", serde_json::to_string(&summary)?)?;
    } else {
        writeln!(out, "{}", summary_line(summary))?;
        for f in &summary.failures {
            writeln!(out, "  skipped {}: {}", f.path, f.reason)?;
        }
    }
    Ok(())
}

fn summary_line(s: &IndexSummary) -> String {
    let pending = match s.chunks_pending {
        0 => String::new(),
        n => format!(
            "; {n} chunks wait for embedding (keyword-searchable now; `trove embed` embeds them)"
        ),
    };
    format!(
        "{} files: {} indexed, {} unchanged, {} removed, {} failed; {} chunks embedded, {} reused; {:.1} s{pending}",
        s.files_seen,
        s.files_indexed,
        s.files_unchanged,
        s.files_removed,
        s.files_failed,
        s.chunks_embedded,
        s.chunks_reused,
        s.seconds
    )
}

fn search(cli: &Cli, query: Option<&str>, k: usize, mode: Mode, batch: Option<&Path>) -> CliResult {
    if k == 0 {
        return Err(Failure::Usage("-k must be at least 1".into()));
    }
    let queries: Vec<String> = match (query, batch) {
        (Some(q), _) => vec![q.to_string()],
        (None, Some(file)) => {
            let reader = std::fs::File::open(file).map_err(|e| {
                format!(
                    "cannot read the query file {}: {e}; check the path",
                    file.display()
                )
            })?;
            let mut queries = Vec::new();
            for line in std::io::BufReader::new(reader).lines() {
                let line = line.map_err(|e| format!("cannot read {}: {e}", file.display()))?;
                if !line.trim().is_empty() {
                    queries.push(line.trim().to_string());
                }
            }
            queries
        }
        (None, None) => return Err(Failure::Usage("give a QUERY or --batch FILE".into())),
    };
    let engine = open_existing(cli)?;
    let options = SearchOptions {
        k,
        mode: mode.into(),
        ..Default::default()
    };
    let mut out = std::io::stdout().lock();
    for query in &queries {
        let hits = engine.search(query, &options)?;
        if cli.global.json {
            let line = serde_json::json!({"query": query, "results": hits});
            writeln!(out, "{line}")?;
        } else {
            if batch.is_some() {
                writeln!(out, "## {query}")?;
            }
            if hits.is_empty() {
                writeln!(out, "no results")?;
            }
            for (i, hit) in hits.iter().enumerate() {
                writeln!(out, "{}. {} ({:.4})", i + 1, location(hit), hit.score)?;
                writeln!(out, "   {}", snippet(&hit.text, 160))?;
            }
        }
    }
    Ok(())
}

fn status(cli: &Cli) -> CliResult {
    let engine = open_existing(cli)?;
    let s = engine.stats()?;
    let mut out = std::io::stdout().lock();
    if cli.global.json {
        writeln!(out, "{}", serde_json::to_string(&s)?)?;
        return Ok(());
    }
    let llm_sha256 = sha256_file(&s.llm_path)?;
    writeln!(out, "store       {}", s.store_dir.display())?;
    writeln!(out, "documents   {}", s.documents)?;
    writeln!(
        out,
        "chunks      {} ({} distinct embeddings, {} vectors, {} waiting for embedding)",
        s.chunks, s.embeddings, s.vectors, s.chunks_pending
    )?;
    writeln!(out, "failures    {}", s.failures)?;
    writeln!(out, "size        {:.1} MB", s.store_bytes as f64 / 1e6)?;
    writeln!(
        out,
        "embedding   {} ({} dims), sha256 {}",
        s.embedding_model.name, s.embedding_model.dimensions, s.embedding_model.sha256
    )?;
    writeln!(
        out,
        "llm         {}, sha256 {llm_sha256}",
        s.llm_path.display()
    )?;
    match &s.last_index_run {
        Some(run) => {
            let ago = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs().saturating_sub(run.finished_at_unix))
                .unwrap_or(0);
            writeln!(
                out,
                "last run    {ago} s ago: {}",
                summary_line(&run.summary)
            )?;
        }
        None => writeln!(out, "last run    none")?,
    }
    Ok(())
}

/// The store's id of a document named on the command line: files are
/// stored by their canonical path; anything else is a host id (or a file
/// that is gone, named as it was indexed).
fn document_id(document: &str) -> String {
    match std::fs::canonicalize(document) {
        Ok(path) => path.to_string_lossy().into_owned(),
        Err(_) => std::path::absolute(document)
            .ok()
            .filter(|_| document.contains('/'))
            .map_or_else(
                || document.to_string(),
                |p| p.to_string_lossy().into_owned(),
            ),
    }
}

fn document_status(cli: &Cli, document: &str) -> CliResult {
    let engine = open_existing(cli)?;
    let status = engine.document_status(&document_id(document))?;
    let mut out = std::io::stdout().lock();
    if cli.global.json {
        writeln!(out, "{}", serde_json::to_string(&status)?)?;
        return Ok(());
    }
    let state = serde_json::to_value(status.state)?;
    writeln!(
        out,
        "{}: {}",
        status.document_id,
        state.as_str().unwrap_or("?")
    )?;
    if let Some(title) = &status.title {
        writeln!(out, "  title   {title}")?;
        writeln!(out, "  chunks  {}", status.chunks)?;
        if status.chunks_pending > 0 {
            writeln!(
                out,
                "  waiting {} (keyword-searchable; `trove embed`)",
                status.chunks_pending
            )?;
        }
    }
    if let (Some(code), Some(reason)) = (&status.failure_code, &status.failure_reason) {
        writeln!(out, "  failed  {code}: {reason}")?;
    }
    Ok(())
}

fn explain(cli: &Cli, query: &str, document: &str) -> CliResult {
    let engine = open_existing(cli)?;
    let why = engine.explain(query, &document_id(document))?;
    let mut out = std::io::stdout().lock();
    if cli.global.json {
        writeln!(out, "{}", serde_json::to_string(&why)?)?;
        return Ok(());
    }
    writeln!(out, "{} for {query:?}", why.status.document_id)?;
    for reason in &why.reasons {
        writeln!(out, "  - {reason}")?;
    }
    if let Some(best) = &why.best_passage {
        writeln!(out, "  best passage: {}", location(best))?;
        writeln!(out, "    {}", snippet(&best.text, 160))?;
    }
    Ok(())
}

fn links(cli: &Cli, document: &str) -> CliResult {
    let engine = open_existing(cli)?;
    let id = document_id(document);
    let outgoing = engine.outgoing_links(&id)?;
    let backlinks = engine.backlinks(&id)?;
    let mut out = std::io::stdout().lock();
    if cli.global.json {
        let line =
            serde_json::json!({"document_id": id, "outgoing": outgoing, "backlinks": backlinks});
        writeln!(out, "{line}")?;
        return Ok(());
    }
    let name = |d: &trove::LinkedDocument| d.path.clone().unwrap_or_else(|| d.document_id.clone());
    writeln!(out, "links from {id} ({})", outgoing.len())?;
    for link in &outgoing {
        let mut written = link.target.clone();
        if let Some(h) = &link.heading {
            written.push_str(&format!("#{h}"));
        }
        if let Some(b) = &link.block {
            written.push_str(&format!("#^{b}"));
        }
        let kind = if link.embed { "embeds" } else { "links" };
        let at = link.line.map(|l| format!("line {l}: ")).unwrap_or_default();
        let to = link
            .resolved
            .as_ref()
            .map_or("(no such document)".into(), name);
        writeln!(out, "  {at}{kind} [[{written}]] -> {to}")?;
    }
    writeln!(out, "linking here ({})", backlinks.len())?;
    for link in &backlinks {
        let line = link.line.map(|l| format!(":{l}")).unwrap_or_default();
        writeln!(out, "  {}{line}", name(&link.source))?;
    }
    Ok(())
}

fn sha256_file(path: &Path) -> Result<String, Failure> {
    use sha2::Digest;
    let mut file = std::fs::File::open(path).map_err(|e| {
        format!(
            "cannot read the answer model {}: {e}; run `make setup` or pass --models DIR",
            path.display()
        )
    })?;
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(format!("{:x}", hasher.finalize()))
}

fn location(hit: &trove::Hit) -> String {
    let mut s = hit.path.clone().unwrap_or_else(|| hit.document_id.clone());
    if let Some(page) = hit.page {
        s.push_str(&format!(" page {page}"));
    } else if let Some(locator) = &hit.locator {
        s.push_str(&format!(" {locator}"));
    } else if let Some(lines) = hit.lines {
        s.push_str(&format!(":{}-{}", lines.first, lines.last));
    }
    s
}

fn snippet(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        format!("{}…", flat.chars().take(max).collect::<String>())
    }
}
