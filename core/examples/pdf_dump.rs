//! Developer tool: what trove extracts from each PDF of a folder.
//!
//! ```text
//! cargo run --release --example pdf_dump -- IN_DIR OUT_DIR [--timeout SECONDS]
//! ```
//!
//! Writes `OUT_DIR/<name>.txt` per PDF (pages separated by a form feed, as
//! `pdftotext` does; nothing where the file is skipped) and `OUT_DIR/run.tsv`
//! with one row per file: pages, extraction time, peak resident memory and
//! the outcome (`ok` or the skip reason's code). Each file is parsed in a
//! child process of its own (`--one FILE OUT_TXT`), so peak memory is that
//! file's alone and a crash is reported instead of ending the run.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use trove::ingest::{self, IngestLimits, ParsedDocument};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let timeout = args
        .iter()
        .position(|a| a == "--timeout")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse::<f64>().ok())
        .map(Duration::from_secs_f64)
        .unwrap_or(IngestLimits::default().pdf_timeout);
    let result = match args.first().map(String::as_str) {
        Some("--one") if args.len() >= 3 => one(Path::new(&args[1]), Path::new(&args[2]), timeout),
        Some(dir) if args.len() >= 2 && !dir.starts_with("--") => {
            folder(Path::new(dir), Path::new(&args[1]), timeout)
        }
        _ => Err("usage: pdf_dump IN_DIR OUT_DIR [--timeout SECONDS] | --one FILE OUT_TXT".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pdf_dump: {e}");
            ExitCode::FAILURE
        }
    }
}

type Failure = Box<dyn std::error::Error>;

/// Parses every `*.pdf` of `dir` in a child process each.
fn folder(dir: &Path, out: &Path, timeout: Duration) -> Result<(), Failure> {
    fs::create_dir_all(out)?;
    let mut files: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("pdf")))
        .collect();
    files.sort();
    let me = std::env::current_exe()?;
    let mut tsv = fs::File::create(out.join("run.tsv"))?;
    writeln!(tsv, "file\tpages\tms\tpeak_rss_kb\toutcome\tdetail")?;
    for file in &files {
        let name = file.file_stem().unwrap_or_default().to_string_lossy();
        let txt = out.join(format!("{name}.txt"));
        let _ = fs::remove_file(&txt);
        let child = Command::new(&me)
            .arg("--one")
            .arg(file)
            .arg(&txt)
            .arg("--timeout")
            .arg(timeout.as_secs_f64().to_string())
            .output()?;
        let stdout = String::from_utf8_lossy(&child.stdout);
        let row = match stdout.lines().last() {
            Some(line) if child.status.success() => line.to_string(),
            _ => format!(
                "-\t-\t-\tcrash\t{} {}",
                child.status,
                String::from_utf8_lossy(&child.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
                    .replace('\t', " ")
            ),
        };
        writeln!(tsv, "{name}\t{row}")?;
        println!("{name}\t{row}");
    }
    Ok(())
}

/// Parses one file and prints `pages, ms, peak_rss_kb, outcome, detail`.
fn one(file: &Path, txt: &Path, timeout: Duration) -> Result<(), Failure> {
    let bytes = fs::read(file)?;
    let limits = IngestLimits {
        pdf_timeout: timeout,
        ..IngestLimits::default()
    };
    let started = Instant::now();
    let parsed = ingest::parse(file, &bytes, &limits);
    let ms = started.elapsed().as_millis();
    let (pages, outcome, detail) = match &parsed {
        Ok(doc) => {
            fs::write(txt, page_texts(doc))?;
            let pages = doc.metadata.get("pdf_pages").map(|v| v.to_string());
            let no_text = doc
                .metadata
                .get("pdf_pages_without_text")
                .and_then(|v| v.as_str())
                .map(|p| format!("pages without text: {p}"));
            (pages, "ok".to_string(), no_text.unwrap_or_default())
        }
        Err(reason) => (None, reason.code().to_string(), reason.to_string()),
    };
    println!(
        "{}\t{ms}\t{}\t{outcome}\t{}",
        pages.as_deref().unwrap_or("-"),
        peak_rss_kb().map_or("-".to_string(), |k| k.to_string()),
        detail.replace(['\t', '\n'], " ")
    );
    Ok(())
}

/// Blocks grouped by page, pages separated by a form feed.
fn page_texts(doc: &ParsedDocument) -> String {
    let last = doc.blocks.iter().filter_map(|b| b.page).max().unwrap_or(0);
    let mut pages = vec![String::new(); last as usize];
    for block in &doc.blocks {
        if let Some(page) = block.page.and_then(|p| pages.get_mut(p as usize - 1)) {
            if !page.is_empty() {
                page.push_str("\n\n");
            }
            page.push_str(&block.text);
        }
    }
    let mut out = pages.join("\n\u{c}");
    out.push('\n');
    out
}

/// This process's peak resident set size (Linux: `VmHWM`).
fn peak_rss_kb() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
