//! `trove-dev fit-grounding`: fits the grounding model's logistic weights on
//! the per-question details of `trove-dev eval-answers --details`, and reports
//! declined rates on held-out details.
//!
//! Training rows: the in-set questions of the `--train` files (label:
//! answer) and their off-set questions of half A (label: decline).
//! Validation rows: the in-set questions of the `--validate` files and their
//! off-set questions of half B, so no off-set question is in both.

use std::path::PathBuf;

use serde_json::Value;
use trove::GroundingSignals;

#[derive(clap::Args)]
pub struct FitArgs {
    /// Details files to fit on
    #[arg(long, required = true, num_args = 1.., value_name = "FILE")]
    train: Vec<PathBuf>,
    /// Details files to validate on
    #[arg(long, num_args = 1.., value_name = "FILE")]
    validate: Vec<PathBuf>,
    /// L2 penalty on the standardised weights
    #[arg(long, default_value_t = 0.01)]
    l2: f64,
}

const N: usize = GroundingSignals::NAMES.len();

struct Row {
    x: [f64; N],
    answerable: bool,
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

pub fn run(args: &FitArgs, json_out: bool) -> Res<()> {
    let train = rows(&args.train, "A")?;
    let validate = rows(&args.validate, "B")?;
    if !train.iter().any(|r| r.answerable) || !train.iter().any(|r| !r.answerable) {
        return Err("the training rows need both in-set and off-set (half A) questions".into());
    }
    let (weights, bias) = fit(&train, args.l2);
    let thresholds = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
    let sweep = |rows: &[Row]| -> Vec<Value> {
        thresholds
            .iter()
            .map(|&t| {
                let (in_declined, off_declined) = declined_rates(rows, &weights, bias, t);
                serde_json::json!({"threshold": t, "in_set_declined": in_declined, "off_set_declined": off_declined})
            })
            .collect()
    };
    let report = serde_json::json!({
        "features": GroundingSignals::NAMES,
        "weights": weights.iter().map(|w| (w * 1000.0).round() / 1000.0).collect::<Vec<_>>(),
        "bias": (bias * 1000.0).round() / 1000.0,
        "train": {"rows": train.len(), "sweep": sweep(&train)},
        "validate": {"rows": validate.len(), "sweep": sweep(&validate)},
    });
    if json_out {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}

fn rows(files: &[PathBuf], half: &str) -> Res<Vec<Row>> {
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let record: Value = serde_json::from_str(line)?;
            let answerable = match record["kind"].as_str() {
                Some("in") => true,
                Some("off") if record["half"].as_str() == Some(half) => false,
                _ => continue,
            };
            let mut x = [0.0; N];
            for (slot, name) in x.iter_mut().zip(GroundingSignals::NAMES) {
                *slot = record["signals"][name]
                    .as_f64()
                    .ok_or_else(|| format!("{}: a record lacks signal {name}", file.display()))?;
            }
            out.push(Row { x, answerable });
        }
    }
    Ok(out)
}

/// Class-balanced logistic regression by gradient descent on standardised
/// features; returns weights and bias in the features' own units.
// Parallel arrays indexed by feature read plainer than zipped iterators.
#[allow(clippy::needless_range_loop)]
fn fit(rows: &[Row], l2: f64) -> ([f64; N], f64) {
    let n = rows.len() as f64;
    let mut mean = [0.0; N];
    let mut sd = [0.0; N];
    for r in rows {
        for j in 0..N {
            mean[j] += r.x[j] / n;
        }
    }
    for r in rows {
        for j in 0..N {
            sd[j] += (r.x[j] - mean[j]).powi(2) / n;
        }
    }
    for s in &mut sd {
        *s = s.sqrt().max(1e-6);
    }
    let positives = rows.iter().filter(|r| r.answerable).count() as f64;
    let weight_of = |r: &Row| {
        if r.answerable {
            0.5 / positives
        } else {
            0.5 / (n - positives)
        }
    };
    let (mut w, mut b) = ([0.0; N], 0.0);
    for _ in 0..20_000 {
        let (mut gw, mut gb) = ([0.0; N], 0.0);
        for r in rows {
            let z: f64 = b
                + (0..N)
                    .map(|j| w[j] * (r.x[j] - mean[j]) / sd[j])
                    .sum::<f64>();
            let p = 1.0 / (1.0 + (-z).exp());
            let err = (p - f64::from(u8::from(r.answerable))) * weight_of(r);
            for j in 0..N {
                gw[j] += err * (r.x[j] - mean[j]) / sd[j];
            }
            gb += err;
        }
        for j in 0..N {
            w[j] -= 0.5 * (gw[j] + l2 * w[j]);
        }
        b -= 0.5 * gb;
    }
    let mut weights = [0.0; N];
    let mut bias = b;
    for j in 0..N {
        weights[j] = w[j] / sd[j];
        bias -= w[j] * mean[j] / sd[j];
    }
    (weights, bias)
}

/// (share of in-set rows declined, share of off-set rows declined).
fn declined_rates(rows: &[Row], w: &[f64; N], b: f64, threshold: f64) -> (f64, f64) {
    let (mut in_n, mut in_d, mut off_n, mut off_d) = (0, 0, 0, 0);
    for r in rows {
        let z = b + (0..N).map(|j| w[j] * r.x[j]).sum::<f64>();
        let declined = 1.0 / (1.0 + (-z).exp()) < threshold;
        if r.answerable {
            in_n += 1;
            in_d += declined as usize;
        } else {
            off_n += 1;
            off_d += declined as usize;
        }
    }
    let share = |a: usize, b: usize| {
        if b == 0 {
            0.0
        } else {
            (a as f64 / b as f64 * 1000.0).round() / 1000.0
        }
    };
    (share(in_d, in_n), share(off_d, off_n))
}
