//! A resumable run log: one JSON record per line, appended as each run finishes, read back to
//! skip what is done. Interrupting a grid loses at most the run in progress. The log is only ever
//! appended to: nothing in it is rewritten or removed.

use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
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
/// # let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("runs.jsonl");
/// let mut log = RunLog::<(u32, f64)>::open(&path)?;
/// if !log.records().iter().any(|r| r.0 == 1) {
///     log.append((1, 0.75))?;
/// }
/// assert_eq!(RunLog::<(u32, f64)>::open(&path)?.records(), &[(1, 0.75)]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct RunLog<T> {
    path: PathBuf,
    records: Vec<T>,
    /// The file ends without a newline (written by hand, or files concatenated): the next record
    /// starts on a line of its own.
    needs_newline: bool,
}

impl<T: Serialize + DeserializeOwned> RunLog<T> {
    /// Opens the log at `path`: reads the records it holds (none when the file does not exist
    /// yet) and creates its parent folder. Nothing is written until [`append`](Self::append).
    ///
    /// # Errors
    /// As [`read_jsonl`]; [`ScatterError::Io`] if the parent folder cannot be created.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let (records, needs_newline) = if path.exists() {
            (read_jsonl(&path)?, !ends_with_newline(&path)?)
        } else {
            (Vec::new(), false)
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io_error(parent))?;
        }
        Ok(Self {
            path,
            records,
            needs_newline,
        })
    }

    /// The records, in file order (those read at [`open`](Self::open), then those appended).
    pub fn records(&self) -> &[T] {
        &self.records
    }

    /// Appends `record` as one line, in one write (the file is created when missing), and keeps
    /// it; returns it.
    ///
    /// # Errors
    /// [`ScatterError::Io`] naming the file.
    pub fn append(&mut self, record: T) -> Result<&T> {
        let mut line = serde_json::to_string(&record).map_err(|source| ScatterError::Json {
            path: self.path.clone(),
            source,
        })?;
        if self.needs_newline {
            line.insert(0, '\n');
        }
        line.push('\n');
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io_error(&self.path))?;
        file.write_all(line.as_bytes())
            .map_err(io_error(&self.path))?;
        self.needs_newline = false;
        self.records.push(record);
        Ok(self.records.last().expect("just pushed"))
    }
}

/// Whether the file at `path` ends with a newline (an empty file counts as one that does).
fn ends_with_newline(path: &Path) -> Result<bool> {
    let mut file = std::fs::File::open(path).map_err(io_error(path))?;
    if file.seek(SeekFrom::End(0)).map_err(io_error(path))? == 0 {
        return Ok(true);
    }
    file.seek(SeekFrom::End(-1)).map_err(io_error(path))?;
    let mut last = [0u8];
    file.read_exact(&mut last).map_err(io_error(path))?;
    Ok(last[0] == b'\n')
}

/// The records of a JSON-lines file (blank lines skipped), for example several partial logs
/// concatenated into one file.
///
/// # Errors
/// [`ScatterError::Io`] if the file cannot be read; [`ScatterError::JsonLine`] naming the file and
/// the line for a line that is not a record (for example a last line cut short by a process that
/// stopped while writing it: delete that line by hand to resume).
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

    #[test]
    fn a_record_after_a_last_line_without_newline_gets_a_line_of_its_own() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("log.jsonl");
        std::fs::write(&path, "[1]\n[2]").unwrap();
        let mut log = RunLog::<Vec<u32>>::open(&path).unwrap();
        log.append(vec![3]).unwrap();
        log.append(vec![4]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "[1]\n[2]\n[3]\n[4]\n");
    }
}
