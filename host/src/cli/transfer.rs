//! `hookhost export` and `hookhost import`: every record of a store as a
//! versioned stream of JSON lines (see [`crate::store::transfer`]).

use super::StoreArgs;
use crate::store::transfer::{self, Line};
use crate::store::{self, Store};
use clap::Args;
use std::io::{BufRead, Write};
use std::path::PathBuf;

/// Records written to the store per import batch.
const IMPORT_BATCH: usize = 500;

/// Options of `hookhost export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The store to read.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Write to this file (created readable by its owner only) instead of
    /// standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// Options of `hookhost import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The store to write.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Read this file instead of standard input.
    #[arg(long, short)]
    pub input: Option<PathBuf>,
    /// Import into a store that already holds records (to finish an
    /// import that was cut short): records with the same ids are replaced
    /// by the file's, whatever happened to them since.
    #[arg(long)]
    pub force: bool,
}

async fn open(args: &StoreArgs) -> Result<Store, String> {
    store::open(
        &args.data_dir,
        args.database_url.as_deref(),
        args.database_schema.as_deref(),
    )
    .await
    .map_err(|e| format!("cannot open the store: {e}"))
}

/// Whether `store` holds no workspace, module, webhook, endpoint or event
/// (events of other workspaces need a workspace).
async fn is_empty(store: &Store) -> Result<bool, String> {
    let read = |e: crate::store::StoreError| format!("reading the target store: {e}");
    Ok(store.list_modules().await.map_err(read)?.is_empty()
        && store.list_webhooks().await.map_err(read)?.is_empty()
        && store.list_endpoints().await.map_err(read)?.is_empty()
        && store
            .list_meta(crate::store::MetaKind::Workspace)
            .await
            .map_err(read)?
            .is_empty()
        && store
            .list_events(crate::store::DEFAULT_WORKSPACE, None, None, 1)
            .await
            .map_err(read)?
            .data
            .is_empty())
}

/// Writes every record of the store; returns how many.
pub async fn export(args: ExportArgs) -> Result<u64, String> {
    let store = open(&args.store).await?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => {
            use std::os::unix::fs::OpenOptionsExt;
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            // An existing file keeps its mode when opened: it holds secrets.
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| format!("{}: {e}", path.display()))?;
            Box::new(std::io::BufWriter::new(file))
        }
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let io = |e: std::io::Error| format!("writing the export: {e}");
    writeln!(out, "{}", transfer::header(store.kind())).map_err(io)?;
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let producer = {
        let store = store.clone();
        tokio::spawn(async move { store.export(tx).await })
    };
    let mut n = 0u64;
    while let Some(item) = rx.recv().await {
        writeln!(out, "{}", item.to_line()).map_err(io)?;
        n += 1;
    }
    producer
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("reading the store: {e}"))?;
    writeln!(out, "{}", transfer::trailer(n)).map_err(io)?;
    out.flush().map_err(io)?;
    Ok(n)
}

/// Reads an export into the store; returns how many records it wrote.
/// A file cut short is imported up to the cut and then refused (importing
/// it again, or a complete one, is safe: records replace those with the
/// same ids).
pub async fn import(args: ImportArgs) -> Result<u64, String> {
    let input: Box<dyn BufRead> = match &args.input {
        Some(path) => Box::new(std::io::BufReader::new(
            std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?,
        )),
        None => Box::new(std::io::BufReader::new(std::io::stdin().lock())),
    };
    let store = open(&args.store).await?;
    if !args.force && !is_empty(&store).await? {
        return Err(
            "the target store already holds records: import into an empty one \
                    (or pass --force to finish an import that was cut short)"
                .into(),
        );
    }
    let mut batch = Vec::with_capacity(IMPORT_BATCH);
    let (mut header, mut end, mut n) = (false, None, 0u64);
    for (i, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("reading the export: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let line_no = i as u64 + 1;
        match transfer::parse_line(&line, line_no).map_err(|e| e.to_string())? {
            Line::Header if !header && n == 0 => header = true,
            Line::Header => return Err(format!("line {line_no}: a second header")),
            _ if !header => {
                return Err("not a hookhost export: the first line is not its header".into());
            }
            _ if end.is_some() => return Err(format!("line {line_no}: records after the end")),
            Line::End(count) => end = Some(count),
            Line::Item(item) => {
                batch.push(*item);
                n += 1;
                if batch.len() == IMPORT_BATCH {
                    store
                        .import(std::mem::take(&mut batch))
                        .await
                        .map_err(|e| format!("writing the store: {e}"))?;
                }
            }
        }
    }
    if !batch.is_empty() {
        store
            .import(batch)
            .await
            .map_err(|e| format!("writing the store: {e}"))?;
    }
    match end {
        Some(count) if count == n => Ok(n),
        Some(count) => Err(format!(
            "the export says it holds {count} records but {n} were read"
        )),
        None => Err(format!(
            "the export is cut short ({n} records read, no end line); they were imported"
        )),
    }
}
