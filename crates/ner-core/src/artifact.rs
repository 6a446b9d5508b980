//! Reading and writing artifacts: atomic Parquet and Arrow IPC writers,
//! checked readers, a memory-mapped IPC reader, and file fingerprints.
//!
//! Every writer goes to a temporary file in the target's folder and renames it
//! into place on [`commit`](ParquetSink::commit); dropping a writer before
//! that leaves an existing file at the target path untouched.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, RecordBatch};
use arrow::buffer::Buffer;
use arrow::datatypes::SchemaRef;
use arrow::ipc::convert::try_fb_to_schema;
use arrow::ipc::reader::{read_footer_length, FileDecoder};
use arrow::ipc::writer::FileWriter;
use arrow::ipc::{root_as_footer, Block};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;

use crate::background::Background;
pub use crate::background::BatchWriter;
use crate::error::{Error, Result};
use crate::schema::{ArtifactKind, Metadata};

/// A temporary file beside `target`, renamed over it by [`AtomicFile::commit`].
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    tmp: NamedTempFile,
}

impl AtomicFile {
    /// Creates the temporary file (and the target's folder if needed).
    pub fn create(target: &Path) -> Result<Self> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(|e| Error::io(&dir, e))?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            tmp,
        })
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes to disk and renames over the target, unless the target already
    /// holds the same bytes: then it is left as it was (its modification time
    /// too, so `make` redoes nothing that depends on it) and the temporary
    /// file is removed.
    pub fn commit(self) -> Result<()> {
        let AtomicFile { target, tmp } = self;
        let io_err = |e| Error::io(&target, e);
        if same_bytes(tmp.path(), &target).map_err(io_err)? {
            return tmp.close().map_err(io_err);
        }
        tmp.as_file().sync_all().map_err(io_err)?;
        set_readable(tmp.path()).map_err(io_err)?;
        tmp.persist(&target).map_err(|e| io_err(e.error))?;
        Ok(())
    }
}

/// Whether `existing` is a file with the bytes of `new` (false when it is
/// missing).
fn same_bytes(new: &Path, existing: &Path) -> std::io::Result<bool> {
    let old = match File::open(existing) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    let new = File::open(new)?;
    if old.metadata()?.len() != new.metadata()?.len() {
        return Ok(false);
    }
    let (mut old, mut new) = (std::io::BufReader::new(old), std::io::BufReader::new(new));
    let (mut a, mut b) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let n = new.read(&mut a)?;
        if n == 0 {
            return Ok(true);
        }
        old.read_exact(&mut b[..n])?;
        if a[..n] != b[..n] {
            return Ok(false);
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tmp.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.tmp.flush()
    }
}

/// Temporary files are created private; artifacts are ordinary files.
#[cfg(unix)]
fn set_readable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_readable(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Writes `contents` to `path` atomically.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(contents).map_err(|e| Error::io(path, e))?;
    file.commit()
}

/// Rows per record batch that the stages hand to a sink: small enough that
/// building one batch overlaps with writing the one before, large enough
/// that the hand-over costs nothing.
pub const WRITE_ROWS: usize = 1024;

/// An atomic writer of record batches into one file of format `F`: batches
/// are encoded and written on a thread of its own, and the file replaces
/// the target on [`commit`](Sink::commit).
#[derive(Debug)]
pub struct Sink<F: BatchFile> {
    writer: Background<F>,
}

/// A Parquet artifact's writer (Snappy-compressed, schema metadata in the
/// footer).
pub type ParquetSink = Sink<ParquetFile>;

/// An Arrow IPC artifact's writer.
pub type IpcSink = Sink<IpcFile>;

/// A file format a [`Sink`] writes; implemented by [`ParquetFile`] and
/// [`IpcFile`] only.
pub trait BatchFile: BatchWriter + Sized {
    /// Starts the temporary file beside `path`.
    fn create(path: &Path, schema: &SchemaRef) -> Result<Self>;
    /// Ends the file and renames it over the target.
    fn commit(self) -> Result<()>;
}

impl<F: BatchFile> Sink<F> {
    pub fn create(path: &Path, schema: &SchemaRef) -> Result<Self> {
        let file = F::create(path, schema)?;
        Ok(Sink {
            writer: Background::start(path.to_path_buf(), file),
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer.write(batch)
    }

    pub fn commit(self) -> Result<()> {
        self.writer.finish()?.commit()
    }
}

/// The Parquet file behind a [`ParquetSink`].
#[derive(Debug)]
pub struct ParquetFile {
    path: PathBuf,
    writer: ArrowWriter<BufWriter<AtomicFile>>,
}

impl BatchFile for ParquetFile {
    fn create(path: &Path, schema: &SchemaRef) -> Result<Self> {
        let file = BufWriter::new(AtomicFile::create(path)?);
        // The project's metadata also goes into the footer's key/value
        // metadata, where Parquet tools (and `parquet_metadata`) look.
        let key_values: Vec<KeyValue> = schema
            .metadata()
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
            .collect();
        // Row groups of at most 64 Ki rows keep the writer's buffer small on
        // large corpora (CoNLL-2003's splits are one row group each).
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(1 << 16))
            .set_key_value_metadata(Some(key_values))
            .set_created_by(format!("ner-toolkit {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|source| {
            Error::Parquet {
                path: path.to_path_buf(),
                cause: source,
            }
        })?;
        Ok(ParquetFile {
            path: path.to_path_buf(),
            writer,
        })
    }

    fn commit(self) -> Result<()> {
        let path = self.path;
        let buffered = self.writer.into_inner().map_err(|source| Error::Parquet {
            path: path.clone(),
            cause: source,
        })?;
        let file = buffered
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        file.commit()
    }
}

impl BatchWriter for ParquetFile {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer.write(batch).map_err(|source| Error::Parquet {
            path: self.path.clone(),
            cause: source,
        })
    }
}

/// The Arrow IPC file behind an [`IpcSink`].
pub struct IpcFile {
    path: PathBuf,
    schema: SchemaRef,
    writer: FileWriter<BufWriter<AtomicFile>>,
}

impl std::fmt::Debug for IpcFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpcFile").field("path", &self.path).finish()
    }
}

impl BatchFile for IpcFile {
    fn create(path: &Path, schema: &SchemaRef) -> Result<Self> {
        let file = BufWriter::new(AtomicFile::create(path)?);
        let writer = FileWriter::try_new(file, schema).map_err(|source| Error::Arrow {
            path: path.to_path_buf(),
            cause: source,
        })?;
        Ok(IpcFile {
            path: path.to_path_buf(),
            schema: schema.clone(),
            writer,
        })
    }

    fn commit(mut self) -> Result<()> {
        let path = self.path;
        let arrow_err = |source| Error::Arrow {
            path: path.clone(),
            cause: source,
        };
        self.writer.finish().map_err(arrow_err)?;
        let buffered = self.writer.into_inner().map_err(arrow_err)?;
        let file = buffered
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        file.commit()
    }
}

impl BatchWriter for IpcFile {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        // The IPC writer would write any batch; a file of mixed schemas is
        // refused here, as the Parquet writer refuses it.
        if batch.schema().fields() != self.schema.fields() {
            return Err(Error::Arrow {
                path: self.path.clone(),
                cause: arrow::error::ArrowError::SchemaError(
                    "a record batch's columns differ from the file's schema".into(),
                ),
            });
        }
        self.writer.write(batch).map_err(|source| Error::Arrow {
            path: self.path.clone(),
            cause: source,
        })
    }
}

/// The container format a file's first bytes announce.
fn container(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"PAR1") {
        Some("Parquet")
    } else if head.starts_with(b"ARROW1") {
        Some("Arrow IPC")
    } else {
        None
    }
}

fn wrong_container(path: &Path, found: &str, expected: &str, kind: Option<ArtifactKind>) -> Error {
    let article = if found.starts_with('A') { "an" } else { "a" };
    let what = match kind {
        Some(kind) => format!(
            "the {expected} file of a '{kind}' artifact (written by {})",
            kind.writer()
        ),
        None => format!("a {expected} file"),
    };
    Error::invalid(path, format!("is {article} {found} file, expected {what}"))
}

/// Opens a file that must be Parquet; an Arrow IPC file (say, batches where
/// sentences belong) is named as such instead of a "corrupt footer".
pub fn open_parquet(path: &Path, kind: Option<ArtifactKind>) -> Result<File> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut head = [0u8; 8];
    let n = std::io::Read::read(&mut file, &mut head).map_err(|e| Error::io(path, e))?;
    if let Some(found) = container(&head[..n]).filter(|&c| c != "Parquet") {
        return Err(wrong_container(path, found, "Parquet", kind));
    }
    std::io::Seek::rewind(&mut file).map_err(|e| Error::io(path, e))?;
    Ok(file)
}

/// Reads a whole Parquet artifact after checking that it is of `kind`.
pub fn read_parquet(path: &Path, kind: ArtifactKind) -> Result<(Metadata, Vec<RecordBatch>)> {
    let mut batches = ParquetBatches::open(path, kind, 64 * 1024)?;
    let all = batches.by_ref().collect::<Result<Vec<_>>>()?;
    Ok((batches.metadata, all))
}

/// The record batches of a Parquet artifact, read one at a time (at most
/// `rows` rows each), after checking that it is of `kind`.
pub struct ParquetBatches {
    path: PathBuf,
    metadata: Metadata,
    reader: parquet::arrow::arrow_reader::ParquetRecordBatchReader,
}

impl std::fmt::Debug for ParquetBatches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetBatches")
            .field("path", &self.path)
            .finish()
    }
}

impl ParquetBatches {
    pub fn open(path: &Path, kind: ArtifactKind, rows: usize) -> Result<Self> {
        Self::open_columns(path, kind, rows, None)
    }

    /// [`open`](Self::open) reading only the top-level columns `columns`
    /// (every column when `None`); a missing one is named.
    pub fn open_columns(
        path: &Path,
        kind: ArtifactKind,
        rows: usize,
        columns: Option<&[&str]>,
    ) -> Result<Self> {
        let file = open_parquet(path, Some(kind))?;
        let pq_err = |source| Error::Parquet {
            path: path.to_path_buf(),
            cause: source,
        };
        let mut builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq_err)?;
        let metadata = Metadata::from_map(builder.schema().metadata());
        metadata.check(path, kind)?;
        if let Some(columns) = columns {
            let schema = builder.schema();
            let roots = columns
                .iter()
                .map(|name| {
                    schema
                        .index_of(name)
                        .map_err(|_| Error::invalid(path, format!("column '{name}' is missing")))
                })
                .collect::<Result<Vec<_>>>()?;
            let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
            builder = builder.with_projection(mask);
        }
        let reader = builder
            .with_batch_size(rows.max(1))
            .build()
            .map_err(pq_err)?;
        Ok(ParquetBatches {
            path: path.to_path_buf(),
            metadata,
            reader,
        })
    }

    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Iterator for ParquetBatches {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.reader.next().map(|batch| {
            batch.map_err(|source| Error::Arrow {
                path: self.path.clone(),
                cause: source,
            })
        })
    }
}

/// Looks up a column by name and type, or says which one is missing or wrong.
pub fn column<'a, T: Array + 'static>(
    batch: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a T> {
    let array = batch
        .column_by_name(name)
        .ok_or_else(|| Error::invalid(path, format!("column '{name}' is missing")))?;
    array.as_any().downcast_ref::<T>().ok_or_else(|| {
        Error::invalid(
            path,
            format!(
                "column '{name}' has type {}, expected {}",
                array.data_type(),
                std::any::type_name::<T>()
                    .rsplit("::")
                    .next()
                    .unwrap_or("?")
            ),
        )
    })
}

/// An Arrow IPC file mapped into memory: record batches are views into the
/// mapping, so reading one copies no array data.
#[derive(Debug)]
pub struct MappedIpc {
    path: PathBuf,
    buffer: Buffer,
    decoder: FileDecoder,
    blocks: Vec<Block>,
    schema: SchemaRef,
    metadata: Metadata,
}

impl MappedIpc {
    /// Maps `path` and checks that it is an artifact of `kind`.
    pub fn open(path: &Path, kind: ArtifactKind) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let buffer = Buffer::from(map_file(&file).map_err(|e| Error::io(path, e))?);
        let bad = |what: &str| Error::invalid(path, format!("not an Arrow IPC file: {what}"));
        if let Some(found) = container(&buffer).filter(|&c| c != "Arrow IPC") {
            return Err(wrong_container(path, found, "Arrow IPC", Some(kind)));
        }
        if buffer.len() < 10 + 8 {
            return Err(bad("too short"));
        }
        let trailer_start = buffer.len() - 10;
        let mut trailer = [0u8; 10];
        trailer.copy_from_slice(&buffer[trailer_start..]);
        let footer_len = read_footer_length(trailer).map_err(|e| bad(&e.to_string()))?;
        if footer_len > trailer_start {
            return Err(bad("footer longer than the file"));
        }
        let footer = root_as_footer(&buffer[trailer_start - footer_len..trailer_start])
            .map_err(|e| bad(&e.to_string()))?;
        let fb_schema = footer.schema().ok_or_else(|| bad("no schema"))?;
        let schema = Arc::new(try_fb_to_schema(fb_schema).map_err(|e| bad(&e.to_string()))?);
        let metadata = Metadata::from_map(schema.metadata());
        metadata.check(path, kind)?;
        let decoder =
            FileDecoder::new(schema.clone(), footer.version()).with_require_alignment(true);
        if footer.dictionaries().is_some_and(|d| !d.is_empty()) {
            return Err(bad(
                "dictionary-encoded columns are not part of this format",
            ));
        }
        let blocks = footer
            .recordBatches()
            .map(|b| b.iter().copied().collect())
            .unwrap_or_default();
        Ok(MappedIpc {
            path: path.to_path_buf(),
            buffer,
            decoder,
            blocks,
            schema,
            metadata,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The mapped file's bytes; record batches view into them.
    pub fn bytes(&self) -> &[u8] {
        self.buffer.as_slice()
    }

    pub fn num_batches(&self) -> usize {
        self.blocks.len()
    }

    /// Record batch `index`, viewing the mapped file.
    pub fn batch(&self, index: usize) -> Result<RecordBatch> {
        let block = self.blocks.get(index).ok_or_else(|| {
            Error::invalid(
                &self.path,
                format!(
                    "batch {index} requested, the file has {}",
                    self.blocks.len()
                ),
            )
        })?;
        let start = usize::try_from(block.offset()).unwrap_or(usize::MAX);
        let len = usize::try_from(block.metaDataLength())
            .ok()
            .zip(usize::try_from(block.bodyLength()).ok())
            .map(|(m, b)| m.saturating_add(b))
            .unwrap_or(usize::MAX);
        if start
            .checked_add(len)
            .is_none_or(|end| end > self.buffer.len())
        {
            return Err(Error::invalid(
                &self.path,
                format!("batch {index} lies outside the file (truncated?)"),
            ));
        }
        let data = self.buffer.slice_with_length(start, len);
        let arrow_err = |source| Error::Arrow {
            path: self.path.clone(),
            cause: source,
        };
        self.decoder
            .read_record_batch(block, &data)
            .map_err(arrow_err)?
            .ok_or_else(|| Error::invalid(&self.path, format!("batch {index} is empty")))
    }

    /// All record batches, in file order.
    pub fn batches(&self) -> impl Iterator<Item = Result<RecordBatch>> + '_ {
        (0..self.num_batches()).map(|i| self.batch(i))
    }
}

/// Maps an artifact read-only into memory (Arrow IPC batches, model
/// weights): pages are read as they are touched.
pub fn map_artifact(path: &Path) -> Result<bytes::Bytes> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    map_file(&file).map_err(|e| Error::io(path, e))
}

/// Maps a file read-only.
#[allow(unsafe_code)]
fn map_file(file: &File) -> std::io::Result<bytes::Bytes> {
    // SAFETY: the mapping is read-only and artifacts are only ever replaced by
    // renaming a new file over the path, never modified in place, so the
    // mapped bytes do not change while the mapping lives.
    let mmap = unsafe { memmap2::Mmap::map(file)? };
    Ok(bytes::Bytes::from_owner(mmap))
}

/// SHA-256 of a file's bytes, as lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// SHA-256 of data that arrives in pieces (a file read line by line).
#[derive(Debug, Clone, Default)]
pub struct Fingerprint(Sha256);

impl Fingerprint {
    pub fn new() -> Self {
        Fingerprint(Sha256::new())
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// Lower-case hex, as [`sha256_file`] gives it.
    pub fn finish(self) -> String {
        hex(&self.0.finalize())
    }
}

/// SHA-256 of a byte slice, as lower-case hex.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{keys, vocab};
    use arrow::array::{StringArray, UInt32Array, UInt64Array};

    fn vocab_batch(metadata: &Metadata) -> RecordBatch {
        RecordBatch::try_new(
            vocab::schema(ArtifactKind::TagVocab, metadata),
            vec![
                Arc::new(StringArray::from(vec!["O", "B-PER"])),
                Arc::new(UInt32Array::from(vec![0, 1])),
                Arc::new(UInt64Array::from(vec![10, 2])),
            ],
        )
        .expect("valid batch")
    }

    /// [`vocab_batch`] written to `path` as Parquet.
    fn write_vocab(path: &Path, metadata: &Metadata) -> RecordBatch {
        let batch = vocab_batch(metadata);
        let mut sink = ParquetSink::create(path, &batch.schema()).expect("create");
        sink.write(&batch).expect("write");
        sink.commit().expect("commit");
        batch
    }

    #[test]
    fn parquet_round_trip_keeps_metadata() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tags.parquet");
        let mut metadata = Metadata::new(ArtifactKind::TagVocab, "test");
        metadata.set(keys::SCHEME, "iob2");
        let batch = write_vocab(&path, &metadata);
        let (read_meta, batches) = read_parquet(&path, ArtifactKind::TagVocab).expect("read");
        assert_eq!(read_meta, metadata);
        assert_eq!(
            crate::tables::parquet_metadata(&path).expect("footer"),
            metadata
        );
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].columns(), batch.columns());
        let err = read_parquet(&path, ArtifactKind::WordVocab).unwrap_err();
        assert!(
            err.to_string().contains("is a 'vocab.tags' artifact"),
            "{err}"
        );
    }

    #[test]
    fn projected_batches_read_only_the_columns_asked_for() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tags.parquet");
        let batch = write_vocab(&path, &Metadata::new(ArtifactKind::TagVocab, "test"));
        let kind = ArtifactKind::TagVocab;
        let read: Vec<RecordBatch> =
            ParquetBatches::open_columns(&path, kind, 1, Some(&["count", "tag"]))
                .expect("open")
                .collect::<Result<_>>()
                .expect("read");
        assert_eq!(read.len(), 2, "one row a batch");
        // The file's order, whatever the order asked for.
        let names: Vec<String> = read[0]
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, ["tag", "count"]);
        assert_eq!(
            read[1].column(0).as_ref(),
            batch.column(0).slice(1, 1).as_ref()
        );
        let err = ParquetBatches::open_columns(&path, kind, 1, Some(&["tag", "pos"])).unwrap_err();
        assert!(err.to_string().contains("column 'pos' is missing"), "{err}");
        assert!(err.to_string().contains("tags.parquet"), "{err}");
    }

    #[test]
    fn dropped_writer_leaves_existing_file_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.parquet");
        std::fs::write(&path, b"previous contents").expect("write");
        let metadata = Metadata::new(ArtifactKind::TagVocab, "test");
        let batch = vocab_batch(&metadata);
        let mut sink = ParquetSink::create(&path, &batch.schema()).expect("create");
        sink.write(&batch).expect("write");
        drop(sink);
        assert_eq!(std::fs::read(&path).expect("read"), b"previous contents");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").collect();
        assert_eq!(leftovers.len(), 1, "temporary file left behind");
    }

    /// Writes `good`, then batches of another schema until a `write` or the
    /// `commit` fails, and returns that error.
    fn refused<F: BatchFile>(mut sink: Sink<F>, good: &RecordBatch) -> Error {
        let other = RecordBatch::try_new(
            Arc::new(arrow::datatypes::Schema::new(vec![
                arrow::datatypes::Field::new("x", arrow::datatypes::DataType::UInt32, false),
            ])),
            vec![Arc::new(UInt32Array::from(vec![7]))],
        )
        .expect("valid batch");
        sink.write(good).expect("a batch of the schema");
        for _ in 0..8 {
            if let Err(e) = sink.write(&other) {
                return e;
            }
        }
        sink.commit()
            .expect_err("the refused batch fails the commit")
    }

    /// A batch the writer thread refuses: its error names the file and
    /// comes back from a later `write` or from `commit`, for Parquet and
    /// Arrow IPC alike; the file at the target is untouched and no
    /// temporary file is left.
    #[test]
    fn a_failed_write_on_the_writer_thread_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let good = vocab_batch(&Metadata::new(ArtifactKind::TagVocab, "test"));
        for name in ["out.parquet", "out.arrow"] {
            let path = dir.path().join(name);
            std::fs::write(&path, b"previous contents").expect("write");
            let err = if name.ends_with("parquet") {
                refused(
                    ParquetSink::create(&path, &good.schema()).expect("create"),
                    &good,
                )
            } else {
                refused(
                    IpcSink::create(&path, &good.schema()).expect("create"),
                    &good,
                )
            };
            assert!(
                err.to_string().starts_with(&path.display().to_string()),
                "{err}"
            );
            assert_eq!(std::fs::read(&path).expect("read"), b"previous contents");
            let leftovers = std::fs::read_dir(dir.path()).expect("ls").count();
            assert_eq!(leftovers, 1, "temporary file left behind");
            std::fs::remove_file(&path).expect("rm");
        }
    }

    #[test]
    fn mapped_ipc_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("b.arrow");
        let metadata = Metadata::new(ArtifactKind::TagVocab, "test");
        let batch = vocab_batch(&metadata);
        let mut sink = IpcSink::create(&path, &batch.schema()).expect("create");
        sink.write(&batch).expect("write");
        sink.write(&batch).expect("write");
        sink.commit().expect("commit");
        let mapped = MappedIpc::open(&path, ArtifactKind::TagVocab).expect("open");
        assert_eq!(mapped.num_batches(), 2);
        assert_eq!(mapped.batch(1).expect("batch"), batch);
        assert!(mapped.batch(2).is_err());
        let err = MappedIpc::open(&path, ArtifactKind::Batches).unwrap_err();
        assert!(err.to_string().contains("expected 'batches'"), "{err}");
    }

    #[test]
    fn mapped_ipc_rejects_other_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("junk.arrow");
        std::fs::write(&path, b"this is not an arrow file at all").expect("write");
        let err = MappedIpc::open(&path, ArtifactKind::Batches)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("{}: not an Arrow IPC file", path.display())),
            "{err}"
        );
    }

    /// Rewriting a file with the bytes it holds leaves it as it was (the
    /// same inode, so the same modification time); other bytes replace it.
    /// No temporary file is left either way.
    #[cfg(unix)]
    #[test]
    fn an_unchanged_file_is_left_as_it_was() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.json");
        let inode = |p: &Path| std::fs::metadata(p).expect("metadata").ino();
        write_atomic(&path, b"{\"a\": 1}").expect("write");
        let first = inode(&path);
        write_atomic(&path, b"{\"a\": 1}").expect("write");
        assert_eq!(inode(&path), first, "the same bytes: the file is kept");
        write_atomic(&path, b"{\"a\": 2}").expect("write");
        assert_ne!(inode(&path), first, "other bytes: a new file");
        assert_eq!(std::fs::read(&path).expect("read"), b"{\"a\": 2}");
        write_atomic(&path, b"{\"a\": 22}").expect("write");
        assert_eq!(std::fs::read(&path).expect("read"), b"{\"a\": 22}");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["a.json"]);
    }

    /// A Parquet file where Arrow IPC is expected and the other way round:
    /// the message names the file, both containers and the expected kind.
    #[test]
    fn the_wrong_container_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let metadata = Metadata::new(ArtifactKind::TagVocab, "test");
        let batch = vocab_batch(&metadata);
        let parquet = dir.path().join("tags.parquet");
        let mut sink = ParquetSink::create(&parquet, &batch.schema()).expect("create");
        sink.write(&batch).expect("write");
        sink.commit().expect("commit");
        let ipc = dir.path().join("tags.arrow");
        let mut sink = IpcSink::create(&ipc, &batch.schema()).expect("create");
        sink.write(&batch).expect("write");
        sink.commit().expect("commit");
        let err = MappedIpc::open(&parquet, ArtifactKind::Batches)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!(
                "{}: is a Parquet file, expected the Arrow IPC file of a 'batches' artifact \
                 (written by ner-encode)",
                parquet.display()
            )
        );
        let err = read_parquet(&ipc, ArtifactKind::Sentences)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "is an Arrow IPC file, expected the Parquet file of a 'sentences' artifact"
            ),
            "{err}"
        );
    }

    #[test]
    fn fingerprints() {
        assert_eq!(
            sha256_bytes(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
