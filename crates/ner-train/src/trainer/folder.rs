//! What a run does to its model folder besides the checkpoint: the lock,
//! leftovers of a killed run, weights written atomically, and the
//! vocabularies copied in so the folder is self-contained.

use std::path::{Path, PathBuf};

use ner_core::artifact::write_atomic;
use ner_core::schema::vectors::VectorsDir;
use ner_core::schema::vocab::VocabDir;
use ner_model::folder::ModelDir;
use tch::nn;

use crate::TrainError;

/// Takes the model folder's lock (`train.lock`), held until the returned
/// file is dropped: two trainings into one folder would overwrite each
/// other's checkpoints.
pub(crate) fn lock(dir: &ModelDir) -> Result<std::fs::File, TrainError> {
    use std::io::{Read, Seek, Write};
    let path = dir.lock();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| ner_core::Error::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => {
            let pid = std::process::id().to_string();
            let written = file
                .set_len(0)
                .and_then(|()| file.rewind())
                .and_then(|()| file.write_all(pid.as_bytes()));
            written.map_err(|e| ner_core::Error::io(&path, e))?;
            Ok(file)
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            Err(TrainError::Locked {
                dir: dir.root().to_path_buf(),
                holder: holder.trim().to_string(),
            })
        }
        Err(std::fs::TryLockError::Error(e)) => Err(ner_core::Error::io(&path, e).into()),
    }
}

/// Removes temporary files that a killed run left in the model folder (the
/// lock is held, so no other run is writing them).
pub(crate) fn remove_stale_temporaries(dir: &ModelDir) -> Result<(), TrainError> {
    for folder in [dir.root().to_path_buf(), dir.vocab().root().to_path_buf()] {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.contains(".tmp") {
                let path = entry.path();
                std::fs::remove_file(&path).map_err(|e| ner_core::Error::io(&path, e))?;
            }
        }
    }
    Ok(())
}

/// Copies the vocabularies the run trains on (the source columns' too)
/// into the folder's `vocab/`, each atomically (the same bytes: the card's
/// fingerprints hold for them).
pub(crate) fn copy_vocabularies(
    from: &VocabDir,
    columns: &[String],
    dir: &ModelDir,
) -> Result<(), TrainError> {
    let to = dir.vocab();
    std::fs::create_dir_all(to.root()).map_err(|e| ner_core::Error::io(to.root(), e))?;
    let files = [
        (from.words(), to.words()),
        (from.chars(), to.chars()),
        (from.tags(), to.tags()),
    ]
    .into_iter()
    .chain(columns.iter().map(|c| (from.column(c), to.column(c))));
    copy_each(files)
}

/// Copies the vectors folder the batches' ids index into the folder's
/// `vocab/`, each file atomically.
pub(crate) fn copy_vectors(from: &VectorsDir, dir: &ModelDir) -> Result<(), TrainError> {
    let to = dir.vectors();
    copy_each([(from.matrix(), to.matrix()), (from.keys(), to.keys())])
}

/// Copies each source file to its target atomically; a target that already
/// holds the same bytes is left as it was (`AtomicFile::commit`).
fn copy_each(files: impl IntoIterator<Item = (PathBuf, PathBuf)>) -> Result<(), TrainError> {
    for (source, target) in files {
        let bytes = std::fs::read(&source).map_err(|e| ner_core::Error::io(&source, e))?;
        write_atomic(&target, &bytes)?;
    }
    Ok(())
}

/// Saves weights as safetensors, atomically (temporary name, then rename).
pub(crate) fn save_weights(vs: &nn::VarStore, path: &Path) -> Result<(), TrainError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{}.tmp.safetensors",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    vs.save(&tmp)
        .map_err(TrainError::torch("writing the weights"))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        ner_core::Error::io(path, e)
    })?;
    Ok(())
}
