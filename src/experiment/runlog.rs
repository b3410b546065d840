//! A resumable run log: one JSON record per line, appended as each run finishes, read back to
//! skip what is done. Interrupting a grid loses at most the run in progress.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Result, ScatterError, io_error};

/// An append-only JSON-lines file of records of type `T` (one run each), with the records it
/// already holds.
///
/// ```
/// # fn main() -> learnable_scattering::Result<()> {
/// use learnable_scattering::experiment::RunLog;
/// let dir = std::env::temp_dir().join(format!("runlog-doc-{}", std::process::id()));
/// let path = dir.join("runs.jsonl");
/// let mut log = RunLog::<(u32, f64)>::open(&path)?;
/// if !log.records().iter().any(|r| r.0 == 1) {
///     log.append((1, 0.75))?;
/// }
/// assert_eq!(RunLog::<(u32, f64)>::open(&path)?.records(), &[(1, 0.75)]);
/// # std::fs::remove_dir_all(dir).unwrap();
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct RunLog<T> {
    path: PathBuf,
    records: Vec<T>,
}

impl<T: Serialize + DeserializeOwned> RunLog<T> {
    /// Opens the log at `path`: reads the records it holds (none when the file does not exist
    /// yet) and creates its parent folder. Nothing is written until [`append`](Self::append).
    ///
    /// # Errors
    /// As [`read_jsonl`]; [`ScatterError::Io`] if the parent folder cannot be created.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let records = if path.exists() {
            read_jsonl(&path)?
        } else {
            Vec::new()
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io_error(parent))?;
        }
        Ok(Self { path, records })
    }

    /// The records, in file order (those read at [`open`](Self::open), then those appended).
    pub fn records(&self) -> &[T] {
        &self.records
    }

    /// The records, consuming the log.
    pub fn into_records(self) -> Vec<T> {
        self.records
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `record` as one line (the file is created when missing) and keeps it; returns it.
    ///
    /// # Errors
    /// [`ScatterError::Io`] naming the file.
    pub fn append(&mut self, record: T) -> Result<&T> {
        let line = serde_json::to_string(&record).map_err(|source| ScatterError::Json {
            path: self.path.clone(),
            source,
        })?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io_error(&self.path))?;
        writeln!(file, "{line}").map_err(io_error(&self.path))?;
        self.records.push(record);
        Ok(self.records.last().expect("just pushed"))
    }
}

/// The records of a JSON-lines file (blank lines skipped), for example several partial logs
/// concatenated into one file.
///
/// # Errors
/// [`ScatterError::Io`] if the file cannot be read; [`ScatterError::JsonLine`] naming the file and
/// the line for a line that is not a record.
pub fn read_jsonl<T: DeserializeOwned>(path: impl AsRef<Path>) -> Result<Vec<T>> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(io_error(path))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line).map_err(|source| ScatterError::JsonLine {
                path: path.to_path_buf(),
                line: n + 1,
                source,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_keeps_what_was_appended_and_names_a_bad_line() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("nested/log.jsonl");
        let mut log = RunLog::<Vec<u32>>::open(&path).unwrap();
        assert!(log.records().is_empty() && !path.exists());
        log.append(vec![1, 2]).unwrap();
        log.append(vec![3]).unwrap();
        let again = RunLog::<Vec<u32>>::open(&path).unwrap();
        assert_eq!(again.records(), &[vec![1, 2], vec![3]]);
        std::fs::write(&path, "[1]\n\n{\"not\": 1}\n").unwrap();
        let err = read_jsonl::<Vec<u32>>(&path).unwrap_err();
        assert!(
            matches!(&err, ScatterError::JsonLine { line: 3, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("line 3"), "{err}");
    }
}
