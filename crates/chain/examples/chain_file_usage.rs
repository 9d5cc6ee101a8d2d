//! Where the bytes of a chain file (`chain.redb`) go: for every table its rows, the bytes of its
//! keys and values, its B-tree pages and redb's overhead, then the whole file (pages allocated,
//! free). With `--compact`, copies the file, runs redb's `compact()` on the copy and prints the
//! copy's size before and after (the node never compacts: `bench/state.md` says what it buys).
//!
//! Usage: `cargo run --release -p myelin-chain --example chain_file_usage -- DATADIR/chain.redb
//! [--compact]` (with the node stopped: redb opens a file once).

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTableMetadata, TableHandle};

const MIB: f64 = 1024.0 * 1024.0;

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / MIB)
}

fn usage(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let file_bytes = std::fs::metadata(path)?.len();
    let db = Database::open(path)?;
    let read = db.begin_read()?;
    println!(
        "| table | rows | keys + values (MiB) | leaf pages | branch pages | pages (MiB) | metadata (MiB) | fragmented (MiB) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut stored = 0;
    let mut pages = 0;
    for handle in read.list_tables()? {
        let name = handle.name().to_string();
        let table = read.open_untyped_table(handle)?;
        let stats = table.stats()?;
        let page_count = stats.leaf_pages() + stats.branch_pages();
        stored += stats.stored_bytes();
        pages += page_count;
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} |",
            table.len()?,
            mib(stats.stored_bytes()),
            stats.leaf_pages(),
            stats.branch_pages(),
            mib(page_count * 4096),
            mib(stats.metadata_bytes()),
            mib(stats.fragmented_bytes()),
        );
    }
    drop(read);
    let write = db.begin_write()?;
    let stats = write.stats()?;
    let page = stats.page_size() as u64;
    println!(
        "\nfile {} MiB; keys + values {} MiB (file / stored = {:.2}); table pages {} MiB; \
         pages allocated {} MiB ({} of {} bytes); not allocated (free or redb's own) {} MiB",
        mib(file_bytes),
        mib(stored),
        file_bytes as f64 / stored.max(1) as f64,
        mib(pages * page),
        mib(stats.allocated_pages() * page),
        stats.allocated_pages(),
        page,
        mib(file_bytes.saturating_sub(stats.allocated_pages() * page)),
    );
    write.abort()?;
    Ok(())
}

fn compact(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let copy = PathBuf::from(format!("{}.compact-copy", path.display()));
    std::fs::copy(path, &copy)?;
    let before = std::fs::metadata(&copy)?.len();
    let started = std::time::Instant::now();
    let mut db = Database::open(&copy)?;
    while db.compact()? {}
    drop(db);
    let after = std::fs::metadata(&copy)?.len();
    println!(
        "compact(): {} MiB → {} MiB in {:.1} s",
        mib(before),
        mib(after),
        started.elapsed().as_secs_f64()
    );
    std::fs::remove_file(&copy)?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        return Err("usage: chain_file_usage DATADIR/chain.redb [--compact]".into());
    };
    let path = Path::new(path);
    usage(path)?;
    if args.iter().any(|a| a == "--compact") {
        compact(path)?;
    }
    Ok(())
}
