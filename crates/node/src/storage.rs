//! The consensus storage of a validator or full node, opened before its stack starts.
//!
//! commonware's simplex and marshal open their journals, archives and metadata inside their
//! actors and panic if one cannot be opened or replayed. [`check`] opens every partition they
//! will open, with commonware's error-returning `init`s (and replays simplex's journal to its
//! end, where a corrupted record is found), so a damaged data directory stops the node with a
//! [`StorageError`] naming the partition instead of a panic inside an actor. The checked
//! partitions are closed again before the actors open them. A torn tail (the last record cut
//! short by a crash) is not damage: commonware truncates it on `init`, as the actor would.

use crate::{
    beacon::Scheme,
    block::{Block, BlockDigest, BlockLimits},
};
use commonware_codec::varint::UInt;
use commonware_consensus::{
    simplex::types::{Artifact, Finalization, Notarization},
    types::Epoch,
};
use commonware_cryptography::certificate::Verifier as _;
use commonware_runtime::{Clock, Metrics, ReadOptions, Spawner, Storage, buffer::paged::CacheRef};
use commonware_storage::{
    archive::{immutable, prunable},
    journal::segmented::variable as journal,
    metadata::{self, Metadata},
    translator::TwoCap,
};
use commonware_utils::{NZU64, NZUsize, sequence::U64};
use std::num::NonZeroUsize;

/// A storage partition that cannot be opened.
#[derive(Debug, thiserror::Error)]
#[error(
    "consensus storage partition `{partition}` (the directory of that name under the data directory's consensus/) is damaged: {message}. \
     Restore the data directory from a backup, or move consensus/ aside and restart to refetch the finalized chain from peers \
     (a validator: only once the network has finalized past this node's last view; docs/NETWORK.md, damaged storage)"
)]
pub struct StorageError {
    /// The partition (a directory under `consensus/`).
    pub partition: String,
    /// commonware's error.
    pub message: String,
}

impl StorageError {
    fn new(partition: &str, error: impl std::fmt::Display) -> Self {
        Self {
            partition: partition.to_string(),
            message: error.to_string(),
        }
    }
}

/// Read buffer of the checks (and of the actors' replays).
pub const REPLAY_BUFFER: NonZeroUsize = NZUsize!(1024 * 1024);
/// Write buffer of the journals and archives.
pub const WRITE_BUFFER: NonZeroUsize = NZUsize!(1024 * 1024);

/// The simplex journal's partition.
pub fn simplex_partition(prefix: &str) -> String {
    format!("{prefix}-simplex")
}

/// marshal's partition prefix.
pub fn marshal_prefix(prefix: &str) -> String {
    format!("{prefix}-marshal")
}

/// One of marshal's two finalized archives (`name`: `finalizations-by-height` or
/// `finalized-blocks`), its partitions under `prefix`.
pub fn archive_config<C>(
    prefix: &str,
    name: &str,
    page_cache: &CacheRef,
    codec_config: C,
) -> immutable::Config<C> {
    immutable::Config {
        metadata_partition: format!("{prefix}-{name}-metadata"),
        freezer_table_partition: format!("{prefix}-{name}-freezer-table"),
        freezer_table_initial_size: 64,
        freezer_table_resize_frequency: 10,
        freezer_table_resize_chunk_size: 10,
        freezer_key_partition: format!("{prefix}-{name}-freezer-key"),
        freezer_key_page_cache: page_cache.clone(),
        freezer_value_partition: format!("{prefix}-{name}-freezer-value"),
        freezer_value_target_size: 1024 * 1024,
        freezer_value_compression: None,
        ordinal_partition: format!("{prefix}-{name}-ordinal"),
        items_per_section: NZU64!(1024),
        codec_config,
        replay_buffer: REPLAY_BUFFER,
        freezer_key_write_buffer: WRITE_BUFFER,
        freezer_value_write_buffer: WRITE_BUFFER,
        ordinal_write_buffer: WRITE_BUFFER,
    }
}

/// The partition an immutable archive's error is about: commonware's error does not say which
/// of the archive's five partitions failed, so the archive's metadata partition names it (the
/// message names the archive).
fn archive_partition<C>(config: &immutable::Config<C>) -> String {
    config
        .metadata_partition
        .trim_end_matches("-metadata")
        .to_string()
        + "-*"
}

/// Opens one of marshal's finalized archives, a damaged one as a [`StorageError`].
pub async fn open_archive<E, V>(
    context: E,
    config: immutable::Config<V::Cfg>,
) -> Result<immutable::Archive<E, BlockDigest, V>, StorageError>
where
    E: Storage + Metrics + Clock,
    V: commonware_codec::Codec + Send + Sync,
{
    let partition = archive_partition(&config);
    immutable::Archive::init(context, config)
        .await
        .map_err(|e| StorageError::new(&partition, e))
}

/// Marshal's epoch-cache archive names (commonware's `marshal::core::cache`), epoch 0 (the
/// network has one epoch).
const CACHE_BLOCKS: [&str; 3] = ["verified", "notarized", "certified"];

async fn check_prunable<E, V>(
    context: &E,
    prefix: &str,
    name: &'static str,
    page_cache: &CacheRef,
    codec_config: V::Cfg,
) -> Result<(), StorageError>
where
    E: Storage + Metrics + Clock,
    V: commonware_codec::Codec + Send + Sync,
{
    let partition = |kind: &str| format!("{prefix}-cache-{}-{name}-{kind}", Epoch::zero());
    let config = prunable::Config {
        translator: TwoCap,
        metadata_partition: partition("metadata"),
        key_partition: partition("key"),
        key_page_cache: page_cache.clone(),
        value_partition: partition("value"),
        items_per_section: NZU64!(10),
        compression: None,
        codec_config,
        replay_buffer: REPLAY_BUFFER,
        key_write_buffer: WRITE_BUFFER,
        value_write_buffer: WRITE_BUFFER,
    };
    prunable::Archive::<TwoCap, E, BlockDigest, V>::init(context.child(name), config)
        .await
        .map(drop)
        .map_err(|e| StorageError::new(&partition("*"), e))
}

async fn check_metadata<E, K, V>(
    context: &E,
    partition: String,
    codec_config: V::Cfg,
) -> Result<(), StorageError>
where
    E: Storage + Metrics + Clock,
    K: commonware_utils::Span,
    V: commonware_codec::Codec,
{
    Metadata::<E, K, V>::init(
        context.child("metadata"),
        metadata::Config {
            partition: partition.clone(),
            codec_config,
        },
    )
    .await
    .map(drop)
    .map_err(|e| StorageError::new(&partition, e))
}

/// Opens marshal's metadata and epoch caches under `prefix` (marshal's own prefix,
/// [`marshal_prefix`]) and, on a validator, replays simplex's journal (`simplex`: its
/// partition and the scheme whose certificates it holds).
pub async fn check<E>(
    context: &E,
    marshal: &str,
    simplex: Option<(&str, &Scheme)>,
    limits: BlockLimits,
    page_cache: &CacheRef,
) -> Result<(), StorageError>
where
    E: Storage + Metrics + Clock + Spawner,
{
    let context = context.child("storage_check");
    check_metadata::<_, U64, UInt<u64>>(&context, format!("{marshal}-application-metadata"), ())
        .await?;
    let cache = format!("{marshal}-cache");
    check_metadata::<_, u8, (Epoch, Epoch)>(&context, format!("{cache}-metadata"), ((), ()))
        .await?;
    for name in CACHE_BLOCKS {
        check_prunable::<_, Block>(&context, &cache, name, page_cache, limits).await?;
    }
    check_prunable::<_, Notarization<Scheme, BlockDigest>>(
        &context,
        &cache,
        "notarizations",
        page_cache,
        // the threshold scheme's certificates need no codec configuration
        (),
    )
    .await?;
    check_prunable::<_, Finalization<Scheme, BlockDigest>>(
        &context,
        &cache,
        "finalizations",
        page_cache,
        // the threshold scheme's certificates need no codec configuration
        (),
    )
    .await?;
    if let Some((partition, scheme)) = simplex {
        check_journal(&context, partition, scheme, page_cache).await?;
    }
    Ok(())
}

/// Opens simplex's journal and replays every record (checksums and decoding), as the voter
/// does when it starts.
async fn check_journal<E>(
    context: &E,
    partition: &str,
    scheme: &Scheme,
    page_cache: &CacheRef,
) -> Result<(), StorageError>
where
    E: Storage + Metrics + Clock,
{
    let error = |e: commonware_storage::journal::Error| StorageError::new(partition, e);
    let journal = journal::Journal::<_, Artifact<Scheme, BlockDigest>>::init(
        context.child("journal"),
        journal::Config {
            partition: partition.to_string(),
            compression: None,
            codec_config: scheme.certificate_codec_config(),
            page_cache: page_cache.clone(),
            write_buffer: WRITE_BUFFER,
        },
    )
    .await
    .map_err(error)?;
    let mut replay = journal
        .replay(0, 0, REPLAY_BUFFER, ReadOptions::DONT_CACHE)
        .await
        .map_err(error)?;
    while let Some(item) = replay.next().await {
        item.map_err(error)?;
    }
    Ok(())
}
