//! `herald export` and `herald import`: posts as CSV or YAML files, on the
//! same database as `herald serve`, acting with an API key's rights. An
//! import is checked row by row (a dry run unless `--apply`) and saved all
//! at once or not at all; a folder of YAML/CSV files ("content as code",
//! kept in git) imports as one file, idempotently by `externalId`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use herald_app::posts::{ImportReport, PostRecord, TransferFormat, parse_file};
use herald_server::Herald;
use indicatif::{ProgressBar, ProgressStyle};

use super::open_app;
use crate::cli::{ExportArgs, ImportArgs};
use crate::config::Config;

async fn caller(config: &Config, api_key: &str) -> Result<(Herald, herald_app::Caller)> {
    let (herald, _) = open_app(config).await?;
    let caller = herald
        .app
        .authenticate_api_key(api_key.trim(), false)
        .await
        .map_err(|error| anyhow!("the API key was refused: {error}"))?;
    Ok((herald, caller))
}

fn format_of(raw: Option<&str>, path: Option<&Path>) -> Result<TransferFormat> {
    let from_extension = path.and_then(|p| p.extension()).and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    TransferFormat::parse(raw.or(from_extension.as_deref())).map_err(|error| anyhow!("{}", error.message))
}

pub async fn export(config: Config, args: ExportArgs) -> Result<ExitCode> {
    let format = format_of(args.format.as_deref(), args.output.as_deref())?;
    let (herald, caller) = caller(&config, &args.api_key).await?;
    let spinner = ProgressBar::new_spinner().with_message("reading posts…");
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let file = herald.app.export_posts(&caller, format).await.map_err(|error| anyhow!("export failed: {error}"))?;
    spinner.finish_and_clear();
    match &args.output {
        Some(path) => {
            std::fs::write(path, &file).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        None => print!("{file}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// The files to read: the file itself, or a folder's `.yaml`, `.yml` and
/// `.csv` files in name order.
fn files_of(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("reading the folder {}", path.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "yaml" | "yml" | "csv")))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("{} holds no .yaml, .yml or .csv file", path.display());
    }
    Ok(files)
}

pub async fn import(config: Config, args: ImportArgs) -> Result<ExitCode> {
    // Each row remembers where it came from, for the report.
    let mut rows: Vec<Result<PostRecord, String>> = Vec::new();
    let mut origins: Vec<(String, usize)> = Vec::new();
    for file in files_of(&args.path)? {
        let format = format_of(args.format.as_deref(), Some(&file))?;
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        let parsed = parse_file(format, &text).map_err(|error| anyhow!("{}: {}", file.display(), error.message))?;
        let name = file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().to_string());
        origins.extend((1..=parsed.len()).map(|row| (name.clone(), row)));
        rows.extend(parsed);
    }
    let (herald, caller) = caller(&config, &args.api_key).await?;
    let bar = ProgressBar::new(rows.len() as u64).with_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} rows")
            .map_err(|e| anyhow!("progress bar: {e}"))?
            .progress_chars("=> "),
    );
    bar.set_message(if args.apply { "importing" } else { "checking" });
    let progress = |done: usize, _total: usize| bar.set_position(done as u64);
    let report = herald
        .app
        .import_posts(&caller, rows, !args.apply, &progress)
        .await
        .map_err(|error| anyhow!("import failed: {error}"))?;
    bar.finish_and_clear();
    print_report(&report, &origins);
    Ok(if report.valid { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn print_report(report: &ImportReport, origins: &[(String, usize)]) {
    for row in &report.rows {
        let (file, line) = origins.get(row.row - 1).cloned().unwrap_or_default();
        let id = row.external_id.as_deref().map(|id| format!(" ({id})")).unwrap_or_default();
        let post = row.post_id.map(|id| format!(" → post {id}")).unwrap_or_default();
        let note = row.note.as_deref().map(|n| format!(": {n}")).unwrap_or_default();
        println!("{file}:{line}{id}: {}{post}{note}", row.status);
        for error in &row.errors {
            println!("    {}: {}", error.field, error.message);
        }
    }
    let verb = if report.dry_run { "would be" } else { "were" };
    println!(
        "{} rows: {} {verb} created, {} {verb} updated, {} skipped, {} with errors.",
        report.rows.len(),
        report.created,
        report.updated,
        report.skipped,
        report.errors
    );
    if !report.valid {
        println!("Nothing was saved: fix the rows above and run again (a file imports all at once or not at all).");
    } else if report.dry_run {
        println!("Dry run: nothing was saved. Run again with --apply to import.");
    }
}
