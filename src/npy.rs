//! `.npy` input and output for NumPy users (`float32` and `float64`, any number of dimensions).

use crate::error::FileError;
use std::io::{BufReader, Read};
use std::path::Path;

use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use ndarray_npy::npy::header::Header;
use ndarray_npy::{ReadNpyError, write_npy};

use crate::error::{Result, ScatterError};

/// A real array read from a `.npy` file, in the file's own dtype.
#[derive(Clone, Debug, PartialEq)]
pub enum NpyArray {
    /// `float32` data.
    F32(ArrayD<f32>),
    /// `float64` data.
    F64(ArrayD<f64>),
}

impl NpyArray {
    /// Shape of the array.
    pub fn shape(&self) -> &[usize] {
        match self {
            Self::F32(a) => a.shape(),
            Self::F64(a) => a.shape(),
        }
    }
}

/// Longest header accepted, in bytes: NumPy's own default (`max_header_size=10000` of
/// `numpy.load`, `_MAX_HEADER_SIZE` in `numpy/lib/format.py`). A `float32`/`float64` header is
/// under 200 bytes.
pub const NPY_MAX_HEADER_LEN: usize = 10_000;

/// The magic string that starts every `.npy` file (`numpy/lib/format.py`, `MAGIC_PREFIX`).
const NPY_MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Reads a `float32` or `float64` `.npy` file (either byte order, C or Fortran order).
///
/// The header is parsed and checked against the file's length before the data is allocated:
/// a header that declares more (or fewer) elements than the file holds is refused, whatever
/// its dtype, so a small file cannot make the process allocate more than its own size.
///
/// # Errors
/// - [`FileError::UnsupportedDtype`] for any other dtype (integers, complex, ...),
/// - [`FileError::TruncatedFile`] / [`FileError::TrailingData`] when the data is shorter /
///   longer than the header declares,
/// - [`FileError::BadHeader`] for a header longer than [`NPY_MAX_HEADER_LEN`] or a header
///   dictionary that is not NumPy's (parsed by the crate in linear time),
/// - [`FileError::DeclaredTooLarge`] for a shape whose element count does not fit in memory
///   addresses,
/// - [`FileError::ReadNpy`] for a missing file, or a file that does not start with NumPy's
///   magic string and a known version;
///
/// each naming the file.
pub fn read_real_npy(path: impl AsRef<Path>) -> Result<NpyArray> {
    let path = path.as_ref();
    let wrap = |source: ReadNpyError| {
        ScatterError::File(FileError::ReadNpy {
            path: path.to_path_buf(),
            source,
        })
    };
    let file = std::fs::File::open(path).map_err(|e| wrap(ReadNpyError::Io(e)))?;
    let file_len = file
        .metadata()
        .map_err(|e| wrap(ReadNpyError::Io(e)))?
        .len();
    let mut reader = BufReader::new(file);

    // The prefix: magic, version, header length, header (at most NPY_MAX_HEADER_LEN bytes).
    let mut prefix = Vec::new();
    (&mut reader)
        .take((12 + NPY_MAX_HEADER_LEN) as u64)
        .read_to_end(&mut prefix)
        .map_err(|e| wrap(ReadNpyError::Io(e)))?;
    let header_end = match header_end(&prefix) {
        Some(Ok(end)) => end,
        Some(Err(len)) => {
            return Err(ScatterError::File(FileError::BadHeader {
                path: path.to_path_buf(),
                field: "header_len",
                value: len.to_string(),
                reason: "longer than NumPy's limit of 10000 bytes",
            }));
        }
        // Short, wrong magic or unknown version: ndarray-npy names the problem, reading no more
        // than the bytes it is given.
        None => {
            let e = Header::from_reader(&mut &prefix[..])
                .err()
                .map_or(ReadNpyError::MissingData, ReadNpyError::from);
            return Err(wrap(e));
        }
    };
    if prefix.len() < header_end {
        return Err(ScatterError::File(FileError::TruncatedFile {
            path: path.to_path_buf(),
            expected: header_end as u64,
            got: file_len,
        }));
    }
    let field_len = if prefix[6] == 1 { 2 } else { 4 };
    let header = parse_header(&prefix[8 + field_len..header_end]).map_err(|(reason, at)| {
        ScatterError::File(FileError::BadHeader {
            path: path.to_path_buf(),
            field: "header",
            value: format!(
                "byte {at} of {:?}",
                String::from_utf8_lossy(&prefix[8 + field_len..header_end])
            ),
            reason,
        })
    })?;
    let (item, little) = match header.descr.as_deref() {
        Some("<f4") => (4usize, true),
        Some(">f4") => (4, false),
        Some("<f8") => (8, true),
        Some(">f8") => (8, false),
        _ => {
            return Err(ScatterError::File(FileError::UnsupportedDtype {
                path: path.to_path_buf(),
            }));
        }
    };
    // ndarray's own condition: the product of the non-zero axis lengths fits in `isize`.
    let nonzero: u128 = header
        .shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1u128, |acc, &d| acc.checked_mul(u128::from(d)))
        .unwrap_or(u128::MAX);
    let elements: u128 = if header.shape.contains(&0) {
        0
    } else {
        nonzero
    };
    let data_bytes = elements.saturating_mul(item as u128);
    if nonzero > isize::MAX as u128 {
        return Err(ScatterError::File(FileError::DeclaredTooLarge {
            path: path.to_path_buf(),
            what: ".npy array",
            declared: data_bytes,
            limit: isize::MAX as u64,
        }));
    }
    let expected = (header_end as u128).saturating_add(data_bytes);
    let expected_u64 = u64::try_from(expected).unwrap_or(u64::MAX);
    if u128::from(file_len) < expected {
        return Err(ScatterError::File(FileError::TruncatedFile {
            path: path.to_path_buf(),
            expected: expected_u64,
            got: file_len,
        }));
    }
    if u128::from(file_len) > expected {
        return Err(ScatterError::File(FileError::TrailingData {
            path: path.to_path_buf(),
            expected: expected_u64,
            got: file_len,
        }));
    }
    // The data: what is left of the prefix, then the rest of the file (its length is checked).
    let mut data = prefix.split_off(header_end);
    reader
        .read_to_end(&mut data)
        .map_err(|e| wrap(ReadNpyError::Io(e)))?;
    if data.len() as u128 != data_bytes {
        // The file changed while it was read.
        return Err(ScatterError::File(FileError::TruncatedFile {
            path: path.to_path_buf(),
            expected: expected_u64,
            got: (header_end + data.len()) as u64,
        }));
    }
    // Every axis fits in usize: their non-zero product does (checked above).
    let axes: Vec<usize> = header.shape.iter().map(|&d| d as usize).collect();
    let shape = IxDyn(&axes);
    let shape = if header.fortran_order {
        shape.f()
    } else {
        shape.into_shape_with_order()
    };
    let too_large = |_| {
        ScatterError::File(FileError::DeclaredTooLarge {
            path: path.to_path_buf(),
            what: ".npy array",
            declared: data_bytes,
            limit: isize::MAX as u64,
        })
    };
    Ok(match item {
        4 => NpyArray::F32(
            ArrayD::from_shape_vec(
                shape,
                decode(&data, little, f32::from_le_bytes, f32::from_be_bytes),
            )
            .map_err(too_large)?,
        ),
        _ => NpyArray::F64(
            ArrayD::from_shape_vec(
                shape,
                decode(&data, little, f64::from_le_bytes, f64::from_be_bytes),
            )
            .map_err(too_large)?,
        ),
    })
}

/// The fields of a `.npy` header dictionary.
#[derive(Debug, PartialEq)]
struct NpyHeader {
    /// `descr` when it is a plain type string (`'<f4'`); `None` for a structured dtype.
    descr: Option<String>,
    fortran_order: bool,
    shape: Vec<u64>,
}

/// Parses the header dictionary of a `.npy` file, in time linear in its length:
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` with the three keys in any
/// order, either quote, optional trailing commas, spaces and a newline around it
/// (`numpy/lib/format.py`, "Format Version 1.0"). A structured `descr` (a list) is skipped and
/// reported as `None`. Errors give the reason and the byte offset.
///
/// (ndarray-npy's parser, a general Python-literal grammar, backtracks: a fuzzer found
/// 128-byte files with nested braces that took minutes to reject.)
fn parse_header(bytes: &[u8]) -> std::result::Result<NpyHeader, (&'static str, usize)> {
    struct Cursor<'a> {
        b: &'a [u8],
        at: usize,
    }
    impl Cursor<'_> {
        fn skip_ws(&mut self) {
            while self.at < self.b.len() && self.b[self.at].is_ascii_whitespace() {
                self.at += 1;
            }
        }
        fn peek(&self) -> Option<u8> {
            self.b.get(self.at).copied()
        }
        fn expect(
            &mut self,
            c: u8,
            what: &'static str,
        ) -> std::result::Result<(), (&'static str, usize)> {
            self.skip_ws();
            if self.peek() == Some(c) {
                self.at += 1;
                Ok(())
            } else {
                Err((what, self.at))
            }
        }
        fn string(&mut self) -> std::result::Result<String, (&'static str, usize)> {
            self.skip_ws();
            let quote = match self.peek() {
                Some(q @ (b'\'' | b'"')) => q,
                _ => return Err(("expected a quoted string", self.at)),
            };
            let start = self.at + 1;
            let len = self.b[start..]
                .iter()
                .position(|&c| c == quote)
                .ok_or(("unterminated string", self.at))?;
            self.at = start + len + 1;
            std::str::from_utf8(&self.b[start..start + len])
                .map(str::to_string)
                .map_err(|_| ("string is not UTF-8", start))
        }
        fn word(&mut self) -> &[u8] {
            self.skip_ws();
            let start = self.at;
            while self.at < self.b.len() && self.b[self.at].is_ascii_alphanumeric() {
                self.at += 1;
            }
            &self.b[start..self.at]
        }
        /// A balanced `[...]`, `(...)` or `{...}` with quoted strings inside, skipped.
        fn skip_nested(&mut self) -> std::result::Result<(), (&'static str, usize)> {
            let start = self.at;
            let mut depth = 0usize;
            while let Some(c) = self.peek() {
                match c {
                    b'[' | b'(' | b'{' => depth += 1,
                    b']' | b')' | b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            self.at += 1;
                            return Ok(());
                        }
                    }
                    b'\'' | b'"' => {
                        self.string()?;
                        continue;
                    }
                    _ => {}
                }
                self.at += 1;
            }
            Err(("unbalanced brackets", start))
        }
    }

    let text_end = bytes
        .iter()
        .rposition(|&c| !c.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let mut c = Cursor {
        b: &bytes[..text_end],
        at: 0,
    };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    c.expect(b'{', "expected `{`")?;
    loop {
        c.skip_ws();
        if c.peek() == Some(b'}') {
            c.at += 1;
            break;
        }
        let key_at = c.at;
        let key = c.string()?;
        c.expect(b':', "expected `:`")?;
        c.skip_ws();
        match key.as_str() {
            "descr" if descr.is_none() => {
                descr = Some(match c.peek() {
                    Some(b'[' | b'(' | b'{') => {
                        c.skip_nested()?;
                        None
                    }
                    _ => Some(c.string()?),
                });
            }
            "fortran_order" if fortran.is_none() => {
                fortran = Some(match c.word() {
                    b"True" => true,
                    b"False" => false,
                    _ => return Err(("fortran_order must be True or False", c.at)),
                });
            }
            "shape" if shape.is_none() => {
                c.expect(b'(', "shape must be a tuple")?;
                let mut axes = Vec::new();
                loop {
                    c.skip_ws();
                    if c.peek() == Some(b')') {
                        c.at += 1;
                        break;
                    }
                    let digits_at = c.at;
                    let mut axis: u64 = 0;
                    while let Some(d @ b'0'..=b'9') = c.peek() {
                        axis = axis
                            .checked_mul(10)
                            .and_then(|a| a.checked_add(u64::from(d - b'0')))
                            .ok_or(("an axis length does not fit in 64 bits", digits_at))?;
                        c.at += 1;
                    }
                    if c.at == digits_at {
                        return Err(("shape must hold non-negative integers", c.at));
                    }
                    if c.peek() == Some(b'L') {
                        c.at += 1; // Python 2 long literal, as old NumPy wrote it
                    }
                    axes.push(axis);
                    c.skip_ws();
                    match c.peek() {
                        Some(b',') => c.at += 1,
                        Some(b')') => {}
                        _ => return Err(("expected `,` or `)` in shape", c.at)),
                    }
                }
                shape = Some(axes);
            }
            "descr" | "fortran_order" | "shape" => return Err(("duplicate key", key_at)),
            _ => return Err(("unknown key (expected descr, fortran_order, shape)", key_at)),
        }
        c.skip_ws();
        match c.peek() {
            Some(b',') => c.at += 1,
            Some(b'}') => {}
            _ => return Err(("expected `,` or `}`", c.at)),
        }
    }
    if c.at != c.b.len() {
        return Err(("text after the dictionary", c.at));
    }
    match (descr, fortran, shape) {
        (Some(descr), Some(fortran_order), Some(shape)) => Ok(NpyHeader {
            descr,
            fortran_order,
            shape,
        }),
        _ => Err((
            "missing key (descr, fortran_order and shape are required)",
            c.at,
        )),
    }
}

/// End of the header (magic, version, length field and header) from the start of a file:
/// `Some(Ok(end))`, `Some(Err(header_len))` for a header above [`NPY_MAX_HEADER_LEN`], or `None`
/// when the magic or the version is not NumPy's (or the prefix is too short to say).
fn header_end(prefix: &[u8]) -> Option<std::result::Result<usize, usize>> {
    if prefix.len() < 8 || &prefix[..6] != NPY_MAGIC {
        return None;
    }
    let (len, field) = match prefix[6..8] {
        [1, 0] => (
            usize::from(u16::from_le_bytes(prefix.get(8..10)?.try_into().ok()?)),
            2,
        ),
        [2, 0] | [3, 0] => (
            u32::from_le_bytes(prefix.get(8..12)?.try_into().ok()?) as usize,
            4,
        ),
        _ => return None,
    };
    if len > NPY_MAX_HEADER_LEN {
        return Some(Err(len));
    }
    Some(Ok(8 + field + len))
}

/// Elements of `N` bytes each from `bytes`, in the given byte order.
fn decode<T, const N: usize>(
    bytes: &[u8],
    little: bool,
    from_le: fn([u8; N]) -> T,
    from_be: fn([u8; N]) -> T,
) -> Vec<T> {
    let convert = if little { from_le } else { from_be };
    bytes
        .chunks_exact(N)
        .map(|c| convert(c.try_into().expect("chunks of N bytes")))
        .collect()
}

/// Writes an array as `.npy` in its own dtype.
///
/// # Errors
/// [`FileError::WriteNpy`], naming the file.
pub fn write_real_npy(path: impl AsRef<Path>, array: &NpyArray) -> Result<()> {
    let path = path.as_ref();
    match array {
        NpyArray::F32(a) => write_npy(path, a),
        NpyArray::F64(a) => write_npy(path, a),
    }
    .map_err(|source| {
        ScatterError::File(FileError::WriteNpy {
            path: path.to_path_buf(),
            source,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version 1.0 `.npy` file with the given header fields and raw data.
    fn npy_bytes(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
        let fortran = if fortran { "True" } else { "False" };
        let mut header =
            format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = NPY_MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn header_dictionaries_as_numpy_and_others_write_them() {
        let ok = |text: &str| parse_header(text.as_bytes()).unwrap();
        assert_eq!(
            ok("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }          \n"),
            NpyHeader {
                descr: Some("<f4".into()),
                fortran_order: false,
                shape: vec![2, 3]
            }
        );
        // Any key order, double quotes, no trailing comma, a 1-tuple, a 0-tuple, Python 2 longs.
        let h = ok("{\"shape\": (7,), \"fortran_order\": True, \"descr\": \">f8\"}");
        assert_eq!((h.shape, h.fortran_order), (vec![7], true));
        assert_eq!(
            ok("{'descr': '<f4', 'fortran_order': False, 'shape': ()}").shape,
            Vec::<u64>::new()
        );
        assert_eq!(
            ok("{'descr': '<f8', 'fortran_order': False, 'shape': (3L, 4L), }").shape,
            [3, 4]
        );
        // A structured dtype is skipped, not parsed.
        let h = ok(
            "{'descr': [('a', '<f4'), ('b', [('c', '<i2')])], 'fortran_order': False, 'shape': (2,), }",
        );
        assert_eq!(h.descr, None);
    }

    #[test]
    fn malformed_header_dictionaries_are_refused_quickly() {
        for text in [
            "",
            "{",
            "{'descr': '<f4', 'fortran_order': False}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}",
            "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",
            "{'descr': '<f4', 'fortran_order': maybe, 'shape': (2,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} trailing",
            "{'descr': [('a', '<f4'), 'fortran_order': False, 'shape': (2,)}",
        ] {
            assert!(parse_header(text.as_bytes()).is_err(), "{text:?}");
        }
        // Found by fuzzing: nested braces that ndarray-npy's parser took 20 to 212 s to reject.
        let nested = "{{{'scr': '<f8',{'dertran_order': {{{'anan_order': {{{'an_order': True,857: \
                      {{{'an_order': True(857611";
        assert!(parse_header(nested.as_bytes()).is_err());
        let deep = format!("{}'descr'", "{".repeat(5000));
        assert!(parse_header(deep.as_bytes()).is_err());
    }

    #[test]
    fn big_endian_and_fortran_order() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let path = dir.join("x.npy");
        // 2x3 in Fortran order: memory holds column 0, then 1, then 2.
        let values = [0.0f64, 10.0, 1.0, 11.0, 2.0, 12.0];
        let data: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
        std::fs::write(&path, npy_bytes(">f8", true, "(2, 3)", &data)).unwrap();
        let NpyArray::F64(a) = read_real_npy(&path).unwrap() else {
            panic!("dtype")
        };
        assert_eq!(a.shape(), &[2, 3]);
        assert_eq!((a[[0, 2]], a[[1, 0]], a[[1, 2]]), (2.0, 10.0, 12.0));
        // A zero-sized array and a zero-dimensional one.
        std::fs::write(&path, npy_bytes("<f4", false, "(0, 5)", &[])).unwrap();
        assert_eq!(read_real_npy(&path).unwrap().shape(), &[0, 5]);
        std::fs::write(&path, npy_bytes("<f4", false, "()", &1.5f32.to_le_bytes())).unwrap();
        assert_eq!(
            read_real_npy(&path).unwrap(),
            NpyArray::F32(ArrayD::from_elem(vec![], 1.5))
        );
        // One byte too many, one too few.
        std::fs::write(&path, npy_bytes("<f4", false, "(1,)", &[0; 5])).unwrap();
        assert!(matches!(
            read_real_npy(&path),
            Err(ScatterError::File(FileError::TrailingData { .. }))
        ));
        std::fs::write(&path, npy_bytes("<f4", false, "(1,)", &[0; 3])).unwrap();
        assert!(matches!(
            read_real_npy(&path),
            Err(ScatterError::File(FileError::TruncatedFile { .. }))
        ));
    }

    #[test]
    fn round_trip_keeps_the_dtype() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let a = NpyArray::F64(ArrayD::from_shape_fn(vec![2, 3, 4], |i| i[2] as f64 * 0.5));
        write_real_npy(dir.join("a.npy"), &a).unwrap();
        assert_eq!(read_real_npy(dir.join("a.npy")).unwrap(), a);
        let b = NpyArray::F32(ArrayD::from_elem(vec![5], 1.5f32));
        write_real_npy(dir.join("b.npy"), &b).unwrap();
        assert_eq!(read_real_npy(dir.join("b.npy")).unwrap(), b);
    }
}
