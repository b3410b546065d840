//! The `.npy` header: its prefix (magic string, version, header length) and the header
//! dictionary, parsed in time linear in its length
//! (`{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`, `numpy/lib/format.py`,
//! "Format Version 1.0").
//!
//! (ndarray-npy's parser, a general Python-literal grammar, backtracks: a fuzzer found 128-byte
//! files with nested braces that took minutes to reject.)

use super::{NPY_MAGIC, NPY_MAX_HEADER_LEN};

/// The fields of a `.npy` header dictionary.
#[derive(Debug, PartialEq)]
pub(super) struct NpyHeader {
    /// `descr` when it is a plain type string (`'<f4'`); `None` for a structured dtype.
    pub(super) descr: Option<String>,
    pub(super) fortran_order: bool,
    pub(super) shape: Vec<u64>,
}

/// A parse error: the reason and the byte offset.
type ParseError = (&'static str, usize);

/// Parses the header dictionary of a `.npy` file: the three keys in any order, either quote,
/// optional trailing commas, spaces and a newline around it. A structured `descr` (a list) is
/// skipped and reported as `None`. Errors give the reason and the byte offset.
pub(super) fn parse_header(bytes: &[u8]) -> Result<NpyHeader, ParseError> {
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
            "descr" if descr.is_none() => descr = Some(c.descr()?),
            "fortran_order" if fortran.is_none() => fortran = Some(c.boolean()?),
            "shape" if shape.is_none() => shape = Some(c.shape()?),
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

/// A position in the header text.
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

    fn expect(&mut self, c: u8, what: &'static str) -> Result<(), ParseError> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.at += 1;
            Ok(())
        } else {
            Err((what, self.at))
        }
    }

    fn string(&mut self) -> Result<String, ParseError> {
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
    fn skip_nested(&mut self) -> Result<(), ParseError> {
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

    /// The value of `descr`: a type string, or `None` for a structured dtype (skipped).
    fn descr(&mut self) -> Result<Option<String>, ParseError> {
        match self.peek() {
            Some(b'[' | b'(' | b'{') => {
                self.skip_nested()?;
                Ok(None)
            }
            _ => Ok(Some(self.string()?)),
        }
    }

    /// The value of `fortran_order`.
    fn boolean(&mut self) -> Result<bool, ParseError> {
        match self.word() {
            b"True" => Ok(true),
            b"False" => Ok(false),
            _ => Err(("fortran_order must be True or False", self.at)),
        }
    }

    /// The value of `shape`: a tuple of non-negative integers (Python 2 `L` suffixes allowed, as
    /// old NumPy wrote them).
    fn shape(&mut self) -> Result<Vec<u64>, ParseError> {
        self.expect(b'(', "shape must be a tuple")?;
        let mut axes = Vec::new();
        loop {
            self.skip_ws();
            if self.peek() == Some(b')') {
                self.at += 1;
                return Ok(axes);
            }
            axes.push(self.axis()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b')') => {}
                _ => return Err(("expected `,` or `)` in shape", self.at)),
            }
        }
    }

    /// One axis length of `shape`.
    fn axis(&mut self) -> Result<u64, ParseError> {
        let digits_at = self.at;
        let mut axis: u64 = 0;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            axis = axis
                .checked_mul(10)
                .and_then(|a| a.checked_add(u64::from(d - b'0')))
                .ok_or(("an axis length does not fit in 64 bits", digits_at))?;
            self.at += 1;
        }
        if self.at == digits_at {
            return Err(("shape must hold non-negative integers", self.at));
        }
        if self.peek() == Some(b'L') {
            self.at += 1;
        }
        Ok(axis)
    }
}

/// End of the header (magic, version, length field and header) from the start of a file:
/// `Some(Ok(end))`, `Some(Err(header_len))` for a header above [`NPY_MAX_HEADER_LEN`], or `None`
/// when the magic or the version is not NumPy's (or the prefix is too short to say).
pub(super) fn header_end(prefix: &[u8]) -> Option<std::result::Result<usize, usize>> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
